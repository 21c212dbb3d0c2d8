/*
 * history_bench: the SQLite history's cost (docs/benchmarks.md, "History").
 *
 *   history_bench DIR SERIES HOURS         write SERIES series every 10 s of
 *                                          simulated time for HOURS hours;
 *                                          print the file size after each
 *                                          hour and the write time per batch
 *   history_bench DIR query SERIES DAYS    write DAYS days of SERIES series,
 *                                          then time 30-day queries of one
 *
 * Values follow what mailmond publishes: two thirds counters that grow by
 * a few units per sample, one third gauges that wander; labels like a
 * channel family's. Writes go through the same store as mailmond's worker
 * (history/hist_store.h), one transaction per 10 s batch; queries through
 * a fresh read-only connection, as /api/v1/history does.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/clock.h"
#include "history/hist_batch.h"
#include "history/hist_store.h"

static uint64_t file_size(const char *path)
{
	struct stat sb;
	char wal[600];
	uint64_t n = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	snprintf(wal, sizeof wal, "%s-wal", path);
	return n + (stat(wal, &sb) == 0 ? (uint64_t)sb.st_size : 0);
}

/* Bytes of pages in use per tier (dbstat), excluding the WAL and free pages. */
static void tier_bytes(const char *path, uint64_t out[3])
{
	sqlite3 *db;
	sqlite3_stmt *st;
	out[0] = out[1] = out[2] = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return;
	if (sqlite3_prepare_v2(db,
			       "SELECT substr(name, 2, 1), sum(pgsize) FROM dbstat"
			       " WHERE name GLOB 'h[0-2]_*' GROUP BY 1",
			       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW)
			out[sqlite3_column_int(st, 0)] = (uint64_t)sqlite3_column_int64(st, 1);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

static void make_batch(struct mm_hist_batch *b, int nseries)
{
	char key[128], name[64];
	for (int i = 0; i < nseries; i++) {
		snprintf(name, sizeof name, "mailmon_bench_%s_%d", i % 3 ? "total" : "gauge", i / 50);
		snprintf(key, sizeof key, "%s{channel=\"ch%d\"}", name, i % 50);
		mm_hist_batch_add(b, key, name, 0, i % 3 != 0);
	}
}

static void step_values(struct mm_hist_batch *b, unsigned *seed)
{
	for (size_t i = 0; i < b->n; i++) {
		unsigned r = (unsigned)rand_r(seed);
		if (b->s[i].counter)
			b->s[i].v += r % 7;
		else
			b->s[i].v = (double)(r % 1000) / 10.0; /* a gauge with a fraction */
	}
}

static int write_hours(const char *path, int nseries, int hours, int64_t t0)
{
	struct mm_err e;
	struct mm_hist_store *h = mm_hist_open(path, 0, &e);
	struct mm_hist_batch b = {0};
	unsigned seed = 1;
	make_batch(&b, nseries);
	printf("hour file_bytes tier0_bytes tier1_bytes tier2_bytes batch_ms_mean batch_ms_max "
	       "cpu_ms_per_batch\n");
	int64_t cpu0 = (int64_t)clock();
	int64_t t = t0;
	for (int hr = 1; hr <= hours; hr++) {
		double sum = 0, mx = 0;
		for (int k = 0; k < 360; k++, t += 10) {
			step_values(&b, &seed);
			int64_t us = mm_mono_us();
			if (mm_hist_write(h, t, b.s, b.n, &e) < 0) {
				fprintf(stderr, "write: %s\n", e.msg);
				return 1;
			}
			double ms = (double)(mm_mono_us() - us) / 1000.0;
			sum += ms;
			mx = ms > mx ? ms : mx;
		}
		mm_hist_maintain(h, t, &e);
		uint64_t tb[3];
		tier_bytes(path, tb);
		double cpu = (double)((int64_t)clock() - cpu0) * 1000.0 / CLOCKS_PER_SEC / 360;
		cpu0 = (int64_t)clock();
		printf("%d %llu %llu %llu %llu %.2f %.2f %.2f\n", hr,
		       (unsigned long long)file_size(path), (unsigned long long)tb[0],
		       (unsigned long long)tb[1], (unsigned long long)tb[2], sum / 360, mx, cpu);
		fflush(stdout);
	}
	mm_hist_batch_free(&b);
	mm_hist_close(h);
	return 0;
}

static int query(const char *path, int nseries, int days)
{
	int64_t now = (int64_t)time(NULL) / 60 * 60, t0 = now - (int64_t)days * 86400;
	struct mm_err e;
	struct mm_hist_store *h = mm_hist_open(path, 0, &e);
	struct mm_hist_batch b = {0};
	unsigned seed = 1;
	make_batch(&b, nseries);
	for (int64_t t = t0; t < now; t += 10) {
		step_values(&b, &seed);
		if (mm_hist_write(h, t, b.s, b.n, &e) < 0) {
			fprintf(stderr, "write: %s\n", e.msg);
			return 1;
		}
	}
	mm_hist_close(h);
	printf("series %d, %d days written: %llu bytes\n", nseries, days,
	       (unsigned long long)file_size(path));
	const char *sels[] = {"mailmon_bench_total_0{channel=\"ch1\"}", "mailmon_bench_total_0"};
	int64_t steps[] = {0, 300, 3600};
	for (size_t s = 0; s < 2; s++)
		for (size_t k = 0; k < 3; k++) {
			double best = 1e9;
			size_t pts = 0, ns = 0;
			for (int rep = 0; rep < 5; rep++) {
				struct mm_selector sel;
				struct mm_hist_result r;
				int64_t us = mm_mono_us();
				struct mm_hist_store *rd = mm_hist_open_reader(path, &e);
				mm_selector_parse(sels[s], &sel, &e);
				if (!rd || mm_hist_query(rd, &sel, now - 30 * 86400, now, steps[k], now,
							  &r, &e) < 0) {
					fprintf(stderr, "query: %s\n", e.msg);
					return 1;
				}
				double ms = (double)(mm_mono_us() - us) / 1000.0;
				best = ms < best ? ms : best;
				ns = r.nseries;
				pts = r.nseries ? r.series[0].npts : 0;
				mm_hist_result_free(&r);
				mm_selector_free(&sel);
				mm_hist_close(rd);
			}
			printf("30-day query %s step %llds: %zu series x %zu points, best of 5: %.1f ms\n",
			       sels[s], (long long)steps[k], ns, pts, best);
		}
	mm_hist_batch_free(&b);
	return 0;
}

int main(int argc, char **argv)
{
	char path[512];
	if (argc == 4) {
		snprintf(path, sizeof path, "%s/bench.db", argv[1]);
		return write_hours(path, atoi(argv[2]), atoi(argv[3]),
				   (int64_t)time(NULL) / 86400 * 86400);
	}
	if (argc == 5 && strcmp(argv[2], "query") == 0) {
		snprintf(path, sizeof path, "%s/query.db", argv[1]);
		return query(path, atoi(argv[3]), atoi(argv[4]));
	}
	fprintf(stderr, "usage: history_bench DIR SERIES HOURS | DIR query SERIES DAYS\n");
	return 2;
}

/*
 * history_test: the SQLite history. A synthetic series is written at 10 s
 * and every bucket of the 1 min and 1 h tiers is compared with min, avg,
 * max and last computed here from the raw values; counter rates across a
 * reset; selectors over stored keys; expiry and the size bound; a file
 * overwritten behind the store's back is moved aside and recreated; the
 * registry -> batch -> worker -> reader path with a registry filled here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history/hist_batch.h"
#include "history/hist_json.h"
#include "history/hist_store.h"
#include "history/hist_worker.h"

#define T0 ((int64_t)1800000000 / 86400 * 86400) /* a day start, also an hour start */

static char dir[64], path[128];

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/mm_hist_XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/history.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static double synth(int64_t k)
{
	return (double)((k * 7) % 13) + (double)k * 0.5 - (k % 5 == 0 ? 20 : 0);
}

static void write_one(struct mm_hist_store *h, int64_t t, const char *key, const char *name,
		      double v, bool counter)
{
	struct mm_hist_sample s = {.key = key, .name = name, .v = v, .counter = counter};
	struct mm_err e;
	assert_int_equal(mm_hist_write(h, t, &s, 1, &e), 0);
}

static struct mm_selector sel_of(const char *text)
{
	struct mm_selector sel;
	struct mm_err e;
	assert_int_equal(mm_selector_parse(text, &sel, &e), 0);
	return sel;
}

/* Checks r's single series against synth() folded by hand into step buckets. */
static void check_buckets(const struct mm_hist_result *r, int64_t nsamples, int64_t step)
{
	assert_int_equal(r->nseries, 1);
	const struct mm_hist_series *s = &r->series[0];
	assert_int_equal((int64_t)s->npts, (nsamples * 10 + step - 1) / step);
	for (size_t i = 0; i < s->npts; i++) {
		int64_t per = step / 10, k0 = (int64_t)i * per;
		double mn = INFINITY, mx = -INFINITY, sum = 0, last = 0;
		int64_t n = 0;
		for (int64_t k = k0; k < k0 + per && k < nsamples; k++, n++) {
			double v = synth(k);
			mn = v < mn ? v : mn;
			mx = v > mx ? v : mx;
			sum += v;
			last = v;
		}
		assert_int_equal(s->pts[i].t, T0 + (int64_t)i * step);
		assert_int_equal((int64_t)s->pts[i].n, n);
		assert_true(s->pts[i].min == mn);
		assert_true(s->pts[i].max == mx);
		assert_true(fabs(s->pts[i].avg - sum / (double)n) < 1e-9);
		assert_true(s->pts[i].last == last);
		assert_true(isnan(s->pts[i].rate)); /* a gauge */
	}
}

static void test_downsampling_exact(void **state)
{
	struct mm_err e;
	struct mm_hist_store *h = mm_hist_open(path, 0, &e);
	const int64_t N = 3 * 360 + 17; /* three hours and a bit, at 10 s */
	for (int64_t k = 0; k < N; k++)
		write_one(h, T0 + 10 * k, "t_gauge{q=\"a\"}", "t_gauge", synth(k), false);
	struct mm_selector sel = sel_of("t_gauge");
	struct mm_hist_result r;
	int64_t to = T0 + 10 * N;
	/* raw 10 s, 1 min, 5 min and 1 h buckets while tier 0 holds them */
	int64_t steps[] = {10, 60, 300, 3600};
	int tiers[] = {0, 1, 1, 2};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(mm_hist_query(h, &sel, T0, to, steps[i], to, &r, &e), 0);
		assert_int_equal(r.tier, tiers[i]);
		assert_int_equal(r.step, steps[i]);
		check_buckets(&r, N, steps[i]);
		mm_hist_result_free(&r);
	}
	/* ten days later only the 1 min tier covers T0: a 10 s step becomes 60 */
	assert_int_equal(mm_hist_query(h, &sel, T0, to, 10, T0 + 10 * 86400, &r, &e), 0);
	assert_int_equal(r.tier, 1);
	assert_int_equal(r.step, 60);
	check_buckets(&r, N, 60);
	mm_hist_result_free(&r);
	/* no step over 30 days: about 500 points read from the hour tier */
	assert_int_equal(mm_hist_query(h, &sel, T0, T0 + 30 * 86400, 0, T0 + 30 * 86400, &r, &e),
			 0);
	assert_int_equal(r.tier, 2);
	assert_int_equal(r.step, 7200);
	assert_int_equal(r.series[0].npts, 2); /* 3 h of data in 2 h buckets */
	mm_hist_result_free(&r);
	mm_selector_free(&sel);
	mm_hist_close(h);
}

static void test_counter_rate_and_reset(void **state)
{
	struct mm_err e;
	struct mm_hist_store *h = mm_hist_open(path, 0, &e);
	/* +5 per 10 s for 3 min, then the counter restarts from 0 */
	for (int64_t k = 0; k < 36; k++) {
		double v = k < 18 ? 1000 + 5.0 * (double)k : 5.0 * (double)(k - 18);
		write_one(h, T0 + 10 * k, "t_total", "t_total", v, true);
	}
	struct mm_selector sel = sel_of("t_total");
	struct mm_hist_result r;
	assert_int_equal(mm_hist_query(h, &sel, T0, T0 + 360, 60, T0 + 360, &r, &e), 0);
	assert_int_equal(r.nseries, 1);
	const struct mm_hist_series *s = &r.series[0];
	assert_true(s->counter);
	assert_int_equal(s->npts, 6);
	assert_true(isnan(s->pts[0].rate));
	assert_true(fabs(s->pts[1].rate - 0.5) < 1e-12);
	assert_true(fabs(s->pts[2].rate - 0.5) < 1e-12);
	/* bucket 3's last is 25 after the reset: the rate counts from 0 */
	assert_true(s->pts[3].last == 25);
	assert_true(fabs(s->pts[3].rate - 25.0 / 60) < 1e-12);
	assert_true(fabs(s->pts[4].rate - 0.5) < 1e-12);
	mm_hist_result_free(&r);
	mm_selector_free(&sel);
	mm_hist_close(h);
}

static void test_selectors(void **state)
{
	struct mm_err e;
	struct mm_hist_store *h = mm_hist_open(path, 0, &e);
	write_one(h, T0, "t_q{queue=\"deferred\",dest=\"x\\\"y\"}", "t_q", 3, false);
	write_one(h, T0, "t_q{queue=\"active\",dest=\"z\"}", "t_q", 4, false);
	write_one(h, T0, "t_other", "t_other", 5, false);
	struct {
		const char *sel;
		size_t want;
		double first;
	} cases[] = {
		{"t_q", 2, 4},		       /* ordered by key: active first */
		{"t_q{queue=\"deferred\"}", 1, 3},
		{"t_q{queue=~\"act.*\"}", 1, 4},
		{"t_q{dest=\"x\\\"y\"}", 1, 3}, /* escapes survive the key */
		{"t_q{queue!~\"active|deferred\"}", 0, 0},
		{"t_q{nolabel=\"\"}", 2, 4},
		{"t_none", 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mm_selector sel = sel_of(cases[i].sel);
		struct mm_hist_result r;
		assert_int_equal(mm_hist_query(h, &sel, T0 - 100, T0 + 100, 0, T0 + 100, &r, &e), 0);
		assert_int_equal(r.nseries, cases[i].want);
		if (cases[i].want)
			assert_true(r.series[0].pts[0].last == cases[i].first);
		if (i == 1) {
			json_t *j = mm_hist_result_json(&r, cases[i].sel);
			json_t *lab = json_object_get(json_array_get(json_object_get(j, "series"), 0),
						      "labels");
			assert_string_equal(json_string_value(json_object_get(lab, "dest")), "x\"y");
			json_decref(j);
		}
		mm_hist_result_free(&r);
		mm_selector_free(&sel);
	}
	mm_hist_close(h);
}

static void test_expiry_and_size_bound(void **state)
{
	struct mm_err e;
	struct mm_hist_store *h = mm_hist_open(path, 0, &e);
	/* one sample an hour for 4 days: 4 day-partitions in tiers 0 and 1 */
	char key[64];
	for (int64_t k = 0; k < 96; k++)
		for (int j = 0; j < 50; j++) {
			snprintf(key, sizeof key, "t_g{i=\"%d\"}", j);
			write_one(h, T0 + 3600 * k, key, "t_g", (double)k, false);
		}
	int64_t now = T0 + 4 * 86400;
	assert_int_equal(mm_hist_maintain(h, now, &e), 0);
	struct mm_hist_status st;
	mm_hist_status(h, &st);
	/* tier 0 keeps 2 days: the partitions of days 0 and 1 end too early */
	assert_int_equal(st.partitions_expired, 2);
	struct mm_selector sel = sel_of("t_g{i=\"7\"}");
	struct mm_hist_result r;
	assert_int_equal(mm_hist_query(h, &sel, T0, now, 3600, now, &r, &e), 0);
	assert_int_equal(r.tier, 2);
	assert_int_equal(r.series[0].npts, 96); /* the coarse tiers still hold it all */
	mm_hist_result_free(&r);

	/* a bound below the data: oldest partitions go, finest tier first */
	mm_hist_set_max_bytes(h, 64 * 1024);
	assert_int_equal(mm_hist_maintain(h, now, &e), 0);
	mm_hist_status(h, &st);
	assert_true(st.partitions_dropped_for_size >= 1);
	assert_int_equal(mm_hist_query(h, &sel, now - 3600, now, 10, now, &r, &e), 0);
	assert_int_equal(r.series[0].npts, 1); /* the newest partition stays */
	mm_hist_result_free(&r);
	mm_selector_free(&sel);
	mm_hist_close(h);
}

static void test_corrupt_file_recovered(void **state)
{
	struct mm_err e;
	struct mm_hist_store *h = mm_hist_open(path, 0, &e);
	write_one(h, T0, "t_a", "t_a", 1, false);
	/* overwrite the whole file with junk behind the store's back */
	FILE *f = fopen(path, "r+");
	assert_non_null(f);
	for (int i = 0; i < 8192; i++)
		fputc('x', f);
	fclose(f);
	write_one(h, T0 + 10, "t_a", "t_a", 2, false);
	struct mm_hist_status st;
	mm_hist_status(h, &st);
	assert_int_equal(st.recoveries, 1);
	assert_string_equal(st.state, "ok");
	struct stat sb;
	assert_int_equal(stat(st.last_moved_to, &sb), 0);
	assert_non_null(strstr(st.last_error, "SQLite header"));
	struct mm_selector sel = sel_of("t_a");
	struct mm_hist_result r;
	assert_int_equal(mm_hist_query(h, &sel, T0 - 10, T0 + 20, 10, T0 + 20, &r, &e), 0);
	assert_int_equal(r.series[0].npts, 1); /* only what came after */
	assert_true(r.series[0].pts[0].last == 2);
	mm_hist_result_free(&r);
	mm_selector_free(&sel);
	mm_hist_close(h);

	/* a file that is junk from the start is moved aside at open */
	f = fopen(path, "w");
	fputs("not a database at all, but long enough to look like one............", f);
	fclose(f);
	h = mm_hist_open(path, 0, &e);
	mm_hist_status(h, &st);
	assert_string_equal(st.state, "ok");
	assert_int_equal(st.recoveries, 1);
	mm_hist_close(h);
}

/* The registry a daemon module would fill, then the worker round trip. */
static const double bounds[] = {1, 10};
static const struct mm_metric_def defs[] = {
	{.name = "t_mail_total", .help = "Mail.", .type = MM_METRIC_COUNTER,
	 .labels = {"channel"}},
	{.name = "t_up", .help = "Up.", .type = MM_METRIC_GAUGE},
	{.name = "t_delay_seconds", .help = "Delay.", .type = MM_METRIC_HISTOGRAM,
	 .buckets = bounds, .nbuckets = 2},
};

static void test_registry_worker_roundtrip(void **state)
{
	struct mm_err e;
	struct mm_registry *reg = mm_registry_new();
	struct mm_metric *m[3];
	assert_int_equal(mm_registry_add_all(reg, defs, 3, m, &e), 0);
	const char *smtp[] = {"smtp"}, *lmtp[] = {"lmtp"};
	mm_metric_add(m[0], smtp, 41);
	mm_metric_add(m[0], lmtp, 2);
	mm_metric_set(m[1], NULL, 1);
	mm_metric_observe(m[2], NULL, 3);
	mm_metric_observe(m[2], NULL, 0.5);

	struct mm_hist_batch b = {0};
	mm_hist_batch_fill(&b, reg, T0);
	assert_int_equal(b.n, 5);
	assert_string_equal(b.s[0].key, "t_mail_total{channel=\"smtp\"}");
	assert_true(b.s[0].counter);
	assert_string_equal(b.s[3].key, "t_delay_seconds_count");
	assert_true(b.s[3].v == 2);
	assert_true(b.s[4].v == 3.5);

	struct mm_hist_worker *w = mm_hist_worker_start(path, 0, 600, &e);
	assert_non_null(w);
	mm_hist_worker_submit(w, &b);
	assert_int_equal(b.n, 0);
	mm_hist_worker_flush(w);
	/* a reader sees what the worker wrote, while the worker keeps its file open */
	struct mm_hist_store *rd = mm_hist_open_reader(path, &e);
	assert_non_null(rd);
	struct mm_selector sel = sel_of("t_mail_total{channel=\"smtp\"}");
	struct mm_hist_result r;
	assert_int_equal(mm_hist_query(rd, &sel, T0 - 60, T0 + 60, 0, T0 + 60, &r, &e), 0);
	assert_int_equal(r.nseries, 1);
	assert_true(r.series[0].pts[0].last == 41);
	mm_hist_result_free(&r);
	mm_selector_free(&sel);
	mm_hist_close(rd);
	struct mm_hist_worker_stats ws;
	mm_hist_worker_stats(w, &ws);
	assert_int_equal(ws.store.samples_written, 5);
	assert_int_equal(ws.store.series, 5);
	mm_hist_worker_stop(w);
	/* no database: the reader says so */
	char none[160];
	snprintf(none, sizeof none, "%s/none.db", dir);
	assert_null(mm_hist_open_reader(none, &e));
	mm_registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_downsampling_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_rate_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_and_size_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_file_recovered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_worker_roundtrip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * hist_store: the history of every registry series in one SQLite file
 * (WAL mode), in three tiers:
 *
 *   tier  resolution  kept     partition   row
 *   0     10 s        2 days   1 day       (series, t, v)
 *   1     1 min       30 days  1 day       (series, t, n, min, sum, max, last)
 *   2     1 h         2 years  30 days     (series, t, n, min, sum, max, last)
 *
 * A sample written at time t goes into all three tiers at once: the raw
 * value into tier 0, and an upsert into the tier 1 and tier 2 buckets that
 * contain t (count + 1, min, sum, max, last). So downsampling is exact
 * (avg = sum / n over every 10 s sample of the bucket) and needs no
 * background pass. Counters are stored as their raw cumulative value; the
 * query turns the `last` of consecutive buckets into a rate, with resets.
 *
 * Each tier is split into time partitions, one table each
 * (t<res>_<start/partition>): expiring a day is a DROP TABLE, not a scan.
 * mm_hist_maintain() drops partitions past their tier's retention, then,
 * while the file is larger than max_bytes, the oldest partition of the
 * finest tier that has more than its current one (then of tier 1, then 2),
 * and gives the space back (incremental vacuum).
 *
 * Series are rows of `series` (id, key, name, type); the key is the
 * series' Prometheus-style text `name{label="value",...}`, which
 * metrics/selector.h parses back into labels to match a query's selector.
 *
 * Damage. The store checks before each write that the file at its path is
 * still the one it opened and still starts with SQLite's header; that
 * check or SQLITE_CORRUPT/NOTADB/IOERR/READONLY/CANTOPEN from any statement
 * makes it move the file (and its -wal/-shm) aside to PATH.broken-<unix
 * time> and create a fresh database, counting it in the status. When even
 * that fails (an unwritable directory) the store is "unavailable"; writes
 * are counted as dropped and each later write tries again.
 *
 * Readers: mm_hist_open_reader() opens the same file read-only (WAL lets
 * it read while the worker writes) for mm_hist_query(); a fresh reader
 * per query always sees the current file, even after a recovery.
 *
 * Thread use: one thread per store (the worker writes through its own;
 * each reader is used by the thread that opened it). Errors are returned
 * in struct mm_err; nothing prints.
 * Ownership: the store owns its connection and statements.
 */
#ifndef MAILMON_HISTORY_HIST_STORE_H
#define MAILMON_HISTORY_HIST_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "metrics/selector.h"

#define MM_HIST_TIERS 3
#define MM_HIST_MAX_SERIES 200	   /* series in one query answer */
#define MM_HIST_MAX_POINTS 20000   /* points per series in one answer */

struct mm_hist_tier {
	int64_t res_s, keep_s, part_s;
};
extern const struct mm_hist_tier mm_hist_tiers[MM_HIST_TIERS];

/* One sample to write; key as described above. */
struct mm_hist_sample {
	const char *key;
	const char *name; /* the family (or _count/_sum) name: the key's prefix */
	double v;
	bool counter;
};

struct mm_hist_status {
	char path[512];
	char state[16];	       /* "ok", "unavailable" */
	uint64_t size_bytes;   /* database + WAL */
	uint64_t max_bytes;
	uint64_t series;       /* rows of the series table */
	uint64_t samples_written, batches_written, samples_dropped;
	uint64_t partitions_expired, partitions_dropped_for_size;
	uint64_t recoveries;   /* times the file was moved aside and recreated */
	char last_moved_to[560];
	char last_error[MM_ERR_MAX];
	int64_t last_error_unix;
	int64_t last_write_unix;
};

struct mm_hist_store;

/* Opens or creates the database at path. A file that is not a usable
 * database is moved aside and recreated (counted as a recovery). Always
 * returns a store; when no database could be had at all, its state is
 * "unavailable", err says why, and each later write tries again. */
struct mm_hist_store *mm_hist_open(const char *path, uint64_t max_bytes, struct mm_err *err);
void mm_hist_close(struct mm_hist_store *h);
/* A read-only store for queries; NULL with err when the file cannot be
 * read as a history database (absent, being recreated, damaged). */
struct mm_hist_store *mm_hist_open_reader(const char *path, struct mm_err *err);

/* Writes samples taken at unix time t_s in one transaction. -1 with err
 * when they could not be stored (after a recovery attempt). */
int mm_hist_write(struct mm_hist_store *h, int64_t t_s, const struct mm_hist_sample *s,
		  size_t n, struct mm_err *err);
/* Expiry and the size bound, relative to now_s. */
int mm_hist_maintain(struct mm_hist_store *h, int64_t now_s, struct mm_err *err);
void mm_hist_set_max_bytes(struct mm_hist_store *h, uint64_t max_bytes);
void mm_hist_status(struct mm_hist_store *h, struct mm_hist_status *out);

/* A query answer: per matching series, buckets of `step` seconds. */
struct mm_hist_point {
	int64_t t;			  /* bucket start, unix seconds */
	uint64_t n;			  /* 10 s samples folded in */
	double min, avg, max, last;
	double rate;			  /* counters: per second since the previous
					     bucket; NaN for the first or gauges */
};
struct mm_hist_series {
	char *key, *name;
	bool counter;
	struct mm_hist_point *pts;
	size_t npts;
	bool truncated; /* more than MM_HIST_MAX_POINTS */
};
struct mm_hist_result {
	int64_t from, to, step, resolution;
	int tier;
	struct mm_hist_series *series;
	size_t nseries;
	bool truncated; /* more than MM_HIST_MAX_SERIES matched */
};

/* Series matching sel between from and to (unix seconds, inclusive),
 * in buckets of step seconds (0: chosen so that about 500 points come
 * back). The tier is the finest that still holds `from` at now_s; step
 * is raised to a multiple of its resolution. */
int mm_hist_query(struct mm_hist_store *h, const struct mm_selector *sel, int64_t from,
		  int64_t to, int64_t step, int64_t now_s, struct mm_hist_result *out,
		  struct mm_err *err);
void mm_hist_result_free(struct mm_hist_result *r);

#endif

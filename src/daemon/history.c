/*
 * history: the "history" daemon module ([history]). Every 10 s, on the
 * loop, it collects the registry and copies every series into a batch
 * (history/hist_batch.h); the history worker thread writes it to SQLite
 * (history/hist_worker.h). The loop never writes to SQLite.
 *
 *   GET /api/v1/history?metric=SELECTOR&from=&to=&step=
 *       (shape: history/hist_json.h, docs/api.md). from/to: unix seconds,
 *       "now", "now-DURATION" or a bare DURATION (= now minus it);
 *       default the last hour. step: seconds or a duration; default about
 *       500 points. Answered synchronously (core/httpd.c frees a
 *       connection it evicts, so no handler may answer later) through a
 *       fresh read-only connection: WAL readers never wait for the writer,
 *       and an answer is bounded (MM_HIST_MAX_SERIES series of
 *       MM_HIST_MAX_POINTS points); docs/benchmarks.md has its cost.
 *   GET /api/v1/history/status
 *       the store's state (ok / unavailable), size and bound, recoveries
 *       (a damaged file moved aside: where to), last error.
 *
 * It publishes its own state into the registry (mailmon_history_*), so
 * /metrics, alarms and the history itself see a recovery or a full disk.
 *
 * Ownership: struct mm_history lives in d->history.
 */
#include <errno.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/clock.h"
#include "core/parse.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/module.h"
#include "history/hist_json.h"
#include "history/hist_worker.h"
#include "metrics/registry.h"

#define SAMPLE_MS 10000

enum { F_SIZE, F_MAX, F_SERIES, F_WRITTEN, F_DROPPED, F_RECOVERIES, F_OK, F_WRITE_SEC, F_N };

static const struct mm_metric_def defs[F_N] = {
	[F_SIZE] = {"mailmon_history_size_bytes",
		    "Size of the history database and its write-ahead log, in bytes.",
		    MM_METRIC_GAUGE},
	[F_MAX] = {"mailmon_history_max_size_bytes",
		   "The configured bound on the history database ([history] max_size; 0: none).",
		   MM_METRIC_GAUGE},
	[F_SERIES] = {"mailmon_history_series", "Series the history database knows.",
		      MM_METRIC_GAUGE},
	[F_WRITTEN] = {"mailmon_history_samples_written_total",
		       "Samples written to the history database.", MM_METRIC_COUNTER},
	[F_DROPPED] = {"mailmon_history_samples_dropped_total",
		       "Samples not stored: the database was unavailable or the writer fell "
		       "behind.",
		       MM_METRIC_COUNTER},
	[F_RECOVERIES] = {"mailmon_history_recoveries_total",
			  "Times a damaged or replaced history database was moved aside and "
			  "created again.",
			  MM_METRIC_COUNTER},
	[F_OK] = {"mailmon_history_up",
		  "1 when the history database is writable, 0 when it is unavailable.",
		  MM_METRIC_GAUGE},
	[F_WRITE_SEC] = {"mailmon_history_last_write_seconds",
			 "How long the worker took to write the last 10 s batch, in seconds.",
			 MM_METRIC_GAUGE},
};

struct mm_history {
	struct mm_daemon *d;
	struct mm_hist_worker *w;
	char *path;
	struct mm_metric *f[F_N];
	uint64_t samples;
};

static void on_sample(void *arg, int64_t now_ms)
{
	struct mm_history *h = arg;
	mm_daemon_collect(h->d);
	struct mm_hist_batch b = {0};
	mm_hist_batch_fill(&b, h->d->metrics, mm_wall_ms() / 1000);
	h->samples += b.n;
	mm_hist_worker_submit(h->w, &b);
}

static void collect(void *arg, struct mm_registry *r)
{
	struct mm_history *h = arg;
	struct mm_hist_worker_stats ws;
	mm_hist_worker_stats(h->w, &ws);
	mm_metric_set(h->f[F_SIZE], NULL, (double)ws.store.size_bytes);
	mm_metric_set(h->f[F_MAX], NULL, (double)ws.store.max_bytes);
	mm_metric_set(h->f[F_SERIES], NULL, (double)ws.store.series);
	mm_metric_set(h->f[F_WRITTEN], NULL, (double)ws.store.samples_written);
	mm_metric_set(h->f[F_DROPPED], NULL, (double)ws.store.samples_dropped);
	mm_metric_set(h->f[F_RECOVERIES], NULL, (double)ws.store.recoveries);
	mm_metric_set(h->f[F_OK], NULL, strcmp(ws.store.state, "unavailable") != 0);
	mm_metric_set(h->f[F_WRITE_SEC], NULL, (double)ws.last_write_us / 1e6);
}

/* "now", "now-2d", "2d" (= now - 2d), or unix seconds. */
static int parse_time(const char *s, int64_t now, int64_t *out, struct mm_err *err)
{
	int64_t ms;
	if (strcmp(s, "now") == 0) {
		*out = now;
		return 0;
	}
	if (strncmp(s, "now-", 4) == 0) {
		if (mm_parse_duration(s + 4, &ms, err) < 0)
			return -1;
		*out = now - ms / 1000;
		return 0;
	}
	if (mm_parse_int(s, 0, INT64_MAX / 2, out, NULL) == 0)
		return 0;
	if (mm_parse_duration(s, &ms, NULL) == 0) {
		*out = now - ms / 1000;
		return 0;
	}
	return mm_err_set(err, "'%s': give unix seconds, now, now-DURATION or a DURATION", s);
}

static int parse_params(struct evhttp_request *req, char *sel_text, size_t cap,
			int64_t *from, int64_t *to, int64_t *step, struct mm_err *err)
{
	char f[64] = "now-1h", t[64] = "now", st[64] = "";
	int64_t now = mm_wall_ms() / 1000, ms;
	if (!mm_http_query_param(req, "metric", sel_text, cap) || !*sel_text)
		return mm_err_set(err, "metric=SELECTOR is required (at most %zu bytes)", cap - 1);
	mm_http_query_param(req, "from", f, sizeof f);
	mm_http_query_param(req, "to", t, sizeof t);
	*step = 0;
	if (parse_time(t, now, to, err) < 0 || parse_time(f, now, from, err) < 0)
		return -1;
	if (mm_http_query_param(req, "step", st, sizeof st)) {
		if (mm_parse_int(st, 1, 86400 * 366, step, NULL) == 0)
			;
		else if (mm_parse_duration(st, &ms, NULL) == 0 && ms >= 1000)
			*step = ms / 1000;
		else
			return mm_err_set(err, "step '%s': give seconds or a duration of 1s or more",
					  st);
	}
	if (*to < *from)
		return mm_err_set(err, "'to' is before 'from'");
	return 0;
}

static void on_history(struct evhttp_request *req, void *arg)
{
	struct mm_history *h = arg;
	char sel_text[1024];
	int64_t from, to, step;
	struct mm_err err;
	struct mm_selector sel;
	if (parse_params(req, sel_text, sizeof sel_text, &from, &to, &step, &err) < 0 ||
	    mm_selector_parse(sel_text, &sel, &err) < 0) {
		mm_http_reply_json(req, 400, json_pack("{s:s}", "error", err.msg));
		return;
	}
	struct mm_hist_store *rd = mm_hist_open_reader(h->path, &err);
	struct mm_hist_result r;
	if (!rd || mm_hist_query(rd, &sel, from, to, step, mm_wall_ms() / 1000, &r, &err) < 0)
		mm_http_reply_json(req, 503, json_pack("{s:s}", "error", err.msg));
	else {
		mm_http_reply_json(req, 200, mm_hist_result_json(&r, sel_text));
		mm_hist_result_free(&r);
	}
	mm_hist_close(rd);
	mm_selector_free(&sel);
}

static json_t *status_json(struct mm_history *h)
{
	struct mm_hist_worker_stats ws;
	mm_hist_worker_stats(h->w, &ws);
	const struct mm_hist_status *s = &ws.store;
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:I, s:I, "
			 "s:I, s:I}",
			 "path", s->path, "state", s->state, "size_bytes", (json_int_t)s->size_bytes,
			 "max_bytes", (json_int_t)s->max_bytes, "series", (json_int_t)s->series,
			 "samples_written", (json_int_t)s->samples_written, "samples_dropped",
			 (json_int_t)(s->samples_dropped), "batches_dropped",
			 (json_int_t)ws.batches_queued_dropped, "recoveries",
			 (json_int_t)s->recoveries, "partitions_expired",
			 (json_int_t)s->partitions_expired, "last_moved_to", s->last_moved_to,
			 "last_error", s->last_error, "last_error_unix",
			 (json_int_t)s->last_error_unix, "last_write_unix",
			 (json_int_t)s->last_write_unix, "last_write_us",
			 (json_int_t)ws.last_write_us,
			 "partitions_dropped_for_size", (json_int_t)s->partitions_dropped_for_size);
}

static void on_status(struct evhttp_request *req, void *arg)
{
	mm_http_reply_json(req, 200, status_json(arg));
}

static int history_init(struct mm_daemon *d, struct mm_err *err)
{
	/* The families exist even when the history is off, without series:
	 * the built-in alarms name them. */
	struct mm_metric *f[F_N];
	if (mm_registry_add_all(d->metrics, defs, F_N, f, err) < 0)
		return -1;
	if (!mm_config_bool(d->conf, "history", "enable"))
		return 0;
	const char *file = mm_config_get(d->conf, "history", "file");
	const char *dir = mm_config_get(d->conf, "daemon", "state_directory");
	char *path = file && *file ? xstrdup(file) : xasprintf("%s/history.db", dir);
	if (!(file && *file) && mkdir(dir, 0750) < 0 && errno != EEXIST)
		mm_log_err(&d->log, "history: cannot create %s: %s", dir, strerror(errno));
	struct mm_history *h = xcalloc(1, sizeof *h);
	h->d = d;
	h->path = path;
	h->w = mm_hist_worker_start(path, mm_config_size(d->conf, "history", "max_size"), 600,
				    err);
	if (!h->w) {
		free(h->path);
		free(h);
		return -1;
	}
	d->history = h;
	memcpy(h->f, f, sizeof h->f);
	mm_registry_add_collector(d->metrics, collect, h);
	mm_schedule_add(&d->sched, "history", SAMPLE_MS, SAMPLE_MS, mm_mono_ms(), on_sample, h);
	mm_http_route(d, "/api/v1/history", on_history, h);
	mm_http_route(d, "/api/v1/history/status", on_status, h);
	return 0;
}

static void history_apply(struct mm_daemon *d, const struct mm_config *old)
{
	if (d->history)
		mm_hist_worker_set_max_bytes(d->history->w,
					     mm_config_size(d->conf, "history", "max_size"));
}

bool mm_history_healthy(const struct mm_daemon *d, char *why, size_t cap)
{
	struct mm_hist_worker_stats ws;
	if (!d->history) {
		snprintf(why, cap, "off");
		return true;
	}
	mm_hist_worker_stats(d->history->w, &ws);
	bool ok = strcmp(ws.store.state, "unavailable") != 0;
	if (ok)
		snprintf(why, cap, "%s, %llu bytes, %llu recoveries", ws.store.state,
			 (unsigned long long)ws.store.size_bytes,
			 (unsigned long long)ws.store.recoveries);
	else
		snprintf(why, cap, "unavailable: %s", ws.store.last_error);
	return ok;
}

const char *mm_history_path(const struct mm_daemon *d)
{
	return d->history ? d->history->path : NULL;
}

static void history_in_effect(struct mm_daemon *d, json_t *out)
{
	struct mm_hist_worker_stats ws;
	if (!d->history)
		return;
	mm_hist_worker_stats(d->history->w, &ws);
	json_object_set_new(out, "history.max_size", json_integer((json_int_t)ws.store.max_bytes));
}

static void history_free(struct mm_daemon *d)
{
	struct mm_history *h = d->history;
	if (!h)
		return;
	mm_http_unroute(d, "/api/v1/history");
	mm_http_unroute(d, "/api/v1/history/status");
	mm_registry_remove_collector(d->metrics, h);
	mm_hist_worker_stop(h->w); /* writes the batches still waiting */
	free(h->path);
	free(h);
	d->history = NULL;
}

const struct mm_module mm_module_history = {
	.name = "history",
	.conf = {&mm_conf_table_history},
	.init = history_init,
	.apply = history_apply,
	.in_effect = history_in_effect,
	.free = history_free,
};

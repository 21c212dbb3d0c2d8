/*
 * baseline: the "baseline" daemon module ([baseline]): the expected range
 * of three figures for this hour of the week (cluster/baseline.h), from
 * the last 14 days of the metric history, and their departure from it.
 *
 *   queue     messages in incoming + active + deferred (one figure: a
 *             stall grows incoming/active, a flood grows deferred; the
 *             sum is what "the size of the queues" of the seed means, and
 *             one alarm per cause would repeat the verdict's work)
 *   inflow    messages accepted per minute (mailmon_messages_submitted_total,
 *             every channel)
 *   deferral  deferrals per minute (mailmon_messages_deferred_total): a
 *             rate, not a share, because a share is undefined or jumps
 *             wildly in quiet hours
 *
 * Computing. At start, at each new local hour and after a reload, a
 * thread of its own opens a read-only connection to the history database
 * (history/hist_store.h) and reads [now - 14 d, now - 1 h] in 5-minute
 * buckets (the last hour is left out: what is happening now must not
 * dilute what is expected); bl_points.h turns the answer into one value
 * per bucket and baseline.h computes the range with its fallback. The
 * loop never reads the disk: every [baseline] interval it takes the
 * thread's result when it is done and starts the next one when due. At
 * most one thread runs; memory is bounded by the history query's caps
 * (MM_HIST_MAX_SERIES x MM_HIST_MAX_POINTS; 14 d is 4,032 buckets).
 *
 * Comparing. Every interval, from the registry's last snapshot: the queue
 * size now, and the inflow and deferral rate over [baseline] rate_window
 * (bl_points.h's ring). The distance beyond the range (mm_baseline_beyond)
 * is published as mailmon_baseline_departure{metric}, which the built-in
 * alarm.baselinedeparture watches.
 *
 * Publishes mailmon_baseline_{low,high,median,current,departure,
 * history_days}{metric}, mailmon_baseline_kind{metric,kind} and
 * mailmon_baseline_computed_timestamp_seconds; GET /api/v1/baseline.
 *
 * Threads: the read runs on a core/bgwork worker, started at the first
 * computation; its result comes back on the loop and is applied at the
 * next tick.
 * Ownership: struct mm_baseline_mod lives in d->baseline; the job is the
 * worker's from job_start until job_done, then the module's until
 * job_finish frees it; free waits for a read under way.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/baseline.h"
#include "cluster/bl_points.h"
#include "core/bgwork.h"
#include "core/clock.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/module.h"
#include "history/hist_store.h"
#include "metrics/registry.h"
#include "metrics/selector.h"

#define JOB_NAME "baseline"
#define SPAN_S (14 * 86400)
#define RECENT_S 3600 /* the last hour is not part of the baseline */
#define STEP_S 300
#define RETRY_S 60 /* a history not readable yet (a fresh start) */

enum { M_QUEUE, M_INFLOW, M_DEFERRAL, M_N };

/* What each figure reads: its history selector, and the registry family
 * whose series are summed for the value now (a counter: its rate). */
static const struct {
	const char *name, *unit, *selector, *family, *slack_key;
} figs[M_N] = {
	[M_QUEUE] = {"queue", "messages",
		     "mailmon_queue_messages{queue=~\"incoming|active|deferred\"}",
		     "mailmon_queue_messages", "queue_slack"},
	[M_INFLOW] = {"inflow", "messages/min", "mailmon_messages_submitted_total",
		      "mailmon_messages_submitted_total", "inflow_slack"},
	[M_DEFERRAL] = {"deferral", "deferrals/min", "mailmon_messages_deferred_total",
			"mailmon_messages_deferred_total", "deferral_slack"},
};

enum { F_LOW, F_HIGH, F_MEDIAN, F_CURRENT, F_BEYOND, F_KIND, F_DAYS, F_COMPUTED, F_N };

static const char *const kinds[] = {"none", "hour-of-week", "hour-of-day", "all"};

static const struct mm_metric_def defs[F_N] = {
	[F_LOW] = {"mailmon_baseline_low",
		   "Low end of the expected range for this hour (5th percentile of the slot's "
		   "5-minute values; metric: queue in messages, inflow and deferral per minute).",
		   MM_METRIC_GAUGE, {"metric"}},
	[F_HIGH] = {"mailmon_baseline_high",
		    "High end of the expected range for this hour (95th percentile).",
		    MM_METRIC_GAUGE, {"metric"}},
	[F_MEDIAN] = {"mailmon_baseline_median", "Median of the slot's values for this hour.",
		      MM_METRIC_GAUGE, {"metric"}},
	[F_CURRENT] = {"mailmon_baseline_current",
		       "The current value compared with the baseline (queue size now; inflow "
		       "and deferrals per minute over [baseline] rate_window).",
		       MM_METRIC_GAUGE, {"metric"}},
	[F_BEYOND] = {"mailmon_baseline_departure",
		      "How far the current value lies beyond its expected range widened by half "
		      "its width plus the slack, in the metric's unit (0: within, or no baseline).",
		      MM_METRIC_GAUGE, {"metric"}},
	[F_KIND] = {"mailmon_baseline_kind",
		    "Which slot the baseline comes from: hour-of-week (13 days of history or "
		    "more), hour-of-day (2 days), all (6 hours), none.",
		    MM_METRIC_STATESET, {"metric", "kind"}, .states = kinds, .nstates = 4},
	[F_DAYS] = {"mailmon_baseline_history_days",
		    "Days of history the baseline was computed from (at most 14).",
		    MM_METRIC_GAUGE, {"metric"}},
	[F_COMPUTED] = {"mailmon_baseline_computed_timestamp_seconds",
			"When the baseline was last computed, seconds since the epoch.",
			MM_METRIC_GAUGE},
};

/* One computation, run on the worker; the loop reads it only after
 * job_done. */
struct job {
	char *path;
	int64_t now_s, utc_off;
	struct mm_baseline out[M_N];
	char err[MM_ERR_MAX]; /* empty: ok */
	int64_t took_ms;      /* how long the read and computation took */
};

struct mm_baseline_mod {
	struct mm_daemon *d;
	struct mm_metric *f[F_N];
	/* in effect (reloadable) */
	int64_t interval_ms, window_ms;
	double slack[M_N];
	/* the baseline in use */
	bool have;
	int64_t computed_s, utc_off;
	struct mm_baseline b[M_N];
	char last_err[MM_ERR_MAX];
	bool want;	    /* recompute at the next tick */
	int64_t retry_s;    /* after a failed read: try again then (0: no) */
	struct mm_bgwork *bg; /* the worker; NULL until the first computation */
	struct job *job;      /* posted, and not yet applied by job_finish */
	bool job_back;	      /* job's result is back on the loop */
	uint64_t runs;
	int64_t took_ms; /* the last computation's */
	/* now */
	struct mm_bl_ring ring[M_N];
	bool have_cur[M_N];
	double cur[M_N], beyond[M_N];
};

static int64_t utc_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	return (int64_t)tm.tm_gmtoff;
}

static int read_one(struct mm_hist_store *rd, int m, int64_t now, int64_t off,
		    struct mm_baseline *out, struct mm_err *err)
{
	struct mm_selector sel;
	if (mm_selector_parse(figs[m].selector, &sel, err) < 0)
		return -1;
	struct mm_hist_result r;
	int rc = mm_hist_query(rd, &sel, now - SPAN_S, now - RECENT_S, STEP_S, now, &r, err);
	mm_selector_free(&sel);
	if (rc < 0)
		return -1;
	struct mm_baseline_point *pts;
	size_t n;
	mm_bl_points_from(&r, true, &pts, &n);
	mm_hist_result_free(&r);
	/* Each point at its own local time, so that its slot follows a
	 * daylight-saving change; the offset is looked up once per hour of
	 * points (they are sorted). */
	int64_t hour = INT64_MIN, poff = 0;
	for (size_t i = 0; i < n; i++) {
		if (pts[i].t_s / 3600 != hour) {
			hour = pts[i].t_s / 3600;
			poff = utc_offset(pts[i].t_s);
		}
		pts[i].t_s += poff;
	}
	mm_baseline_compute(pts, n, now + off, 0, out);
	free(pts);
	return 0;
}

static void *job_main(void *ctx, void *arg)
{
	struct job *j = arg;
	int64_t t0 = mm_mono_ms();
	struct mm_err err = {0};
	struct mm_hist_store *rd = mm_hist_open_reader(j->path, &err);
	for (int m = 0; rd && m < M_N; m++)
		if (read_one(rd, m, j->now_s, j->utc_off, &j->out[m], &err) < 0) {
			mm_hist_close(rd);
			rd = NULL;
		}
	if (!rd)
		snprintf(j->err, sizeof j->err, "%s", err.msg);
	mm_hist_close(rd);
	j->took_ms = mm_mono_ms() - t0;
	return j;
}

static void job_free(struct job *j)
{
	free(j->path);
	free(j);
}

/* On the loop: the read is done; the next tick applies it. */
static void job_done(void *ctx, void *job, void *result)
{
	struct mm_baseline_mod *b = ctx;
	b->job_back = true;
}

/* stop: a read that never came back to the loop. */
static void job_drop(void *ctx, void *job, void *result)
{
	struct mm_baseline_mod *b = ctx;
	if (job == b->job)
		b->job = NULL;
	job_free(job);
}

static const struct mm_bgwork_ops job_ops = {
	.run = job_main,
	.done = job_done,
	.drop = job_drop,
	.what = "baseline",
};

static void job_start(struct mm_baseline_mod *b)
{
	const char *path = mm_history_path(b->d);
	if (!path)
		return;
	if (!b->bg) {
		struct mm_err err = {{0}};
		b->bg = mm_bgwork_start(b->d->base, &job_ops, b, &err);
		if (!b->bg) {
			mm_log_err(&b->d->log, "%s", err.msg);
			return;
		}
	}
	struct job *j = xcalloc(1, sizeof *j);
	j->path = xstrdup(path);
	j->now_s = mm_wall_ms() / 1000;
	j->utc_off = utc_offset(j->now_s);
	mm_bgwork_post(b->bg, j); /* nothing waits: b->job was NULL */
	b->job = j;
	b->job_back = false;
	b->want = false;
	b->retry_s = 0;
}

static void job_finish(struct mm_baseline_mod *b)
{
	struct job *j = b->job;
	b->job = NULL;
	b->job_back = false;
	b->runs++;
	if (j->err[0]) {
		if (strcmp(j->err, b->last_err) != 0)
			mm_log_warn(&b->d->log, "baseline: cannot read the history: %s", j->err);
		snprintf(b->last_err, sizeof b->last_err, "%s", j->err);
		b->retry_s = j->now_s + RETRY_S;
	} else {
		b->last_err[0] = '\0';
		b->retry_s = 0;
		memcpy(b->b, j->out, sizeof b->b);
		b->have = true;
	}
	b->computed_s = j->now_s;
	b->utc_off = j->utc_off;
	b->took_ms = j->took_ms;
	job_free(j);
}

static bool one_of(const char *const *names, const char *v)
{
	for (; *names; names++)
		if (strcmp(*names, v) == 0)
			return true;
	return false;
}

/* The sum of every series of a family in the registry's last snapshot
 * (only: the first label's values to count; NULL: every series). */
static bool family_sum(const struct mm_registry *reg, const char *name,
		       const char *const *only, double *out)
{
	const struct mm_metric *m = mm_registry_find(reg, name);
	if (!m || mm_metric_nseries(m) == 0)
		return false;
	double sum = 0;
	for (size_t i = 0; i < mm_metric_nseries(m); i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		if (only && !one_of(only, s->lv[0]))
			continue;
		sum += s->value;
	}
	*out = sum;
	return true;
}

static void compare(struct mm_baseline_mod *b, int64_t wall_ms)
{
	const struct mm_registry *reg = b->d->metrics;
	double v;
	static const char *const queues[] = {"incoming", "active", "deferred", NULL};
	b->have_cur[M_QUEUE] = family_sum(reg, figs[M_QUEUE].family, queues, &b->cur[M_QUEUE]);
	for (int m = M_INFLOW; m <= M_DEFERRAL; m++) {
		if (family_sum(reg, figs[m].family, NULL, &v))
			mm_bl_ring_push(&b->ring[m], wall_ms, v, b->window_ms);
		b->have_cur[m] = mm_bl_ring_rate(&b->ring[m], wall_ms, b->window_ms, &b->cur[m]);
	}
	for (int m = 0; m < M_N; m++)
		b->beyond[m] = b->have && b->have_cur[m]
				       ? mm_baseline_beyond(&b->b[m], b->cur[m], b->slack[m])
				       : 0;
}

static void tick(void *arg, int64_t now_ms)
{
	struct mm_baseline_mod *b = arg;
	if (b->job && b->job_back)
		job_finish(b);
	int64_t now = mm_wall_ms() / 1000;
	bool new_hour = b->runs > 0 && (now + utc_offset(now)) / 3600 !=
						(b->computed_s + b->utc_off) / 3600;
	if (b->retry_s && now >= b->retry_s)
		b->want = true;
	if (!b->job && (b->want || new_hour))
		job_start(b);
	compare(b, now * 1000);
}

static void collect(void *arg, struct mm_registry *r)
{
	struct mm_baseline_mod *b = arg;
	for (int m = 0; m < M_N; m++) {
		const char *lv[] = {figs[m].name};
		const struct mm_baseline *x = &b->b[m];
		mm_metric_set_state(b->f[F_KIND], lv, kinds[x->kind]);
		mm_metric_set(b->f[F_BEYOND], lv, b->beyond[m]);
		if (b->have_cur[m])
			mm_metric_set(b->f[F_CURRENT], lv, b->cur[m]);
		if (!b->have)
			continue;
		mm_metric_set(b->f[F_DAYS], lv, x->history_days);
		if (x->kind == MM_BL_NONE)
			continue;
		mm_metric_set(b->f[F_LOW], lv, x->low);
		mm_metric_set(b->f[F_HIGH], lv, x->high);
		mm_metric_set(b->f[F_MEDIAN], lv, x->median);
	}
	if (b->have)
		mm_metric_set(b->f[F_COMPUTED], NULL, (double)b->computed_s);
}

/* "Mon 14:00-15:00": the slot of the hour of t (local time). */
static void slot_words(const struct mm_baseline *x, int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	if (x->kind == MM_BL_HOUR_OF_WEEK)
		strftime(buf, cap, "%a %H:00", &tm);
	else if (x->kind == MM_BL_HOUR_OF_DAY)
		strftime(buf, cap, "%H:00 every day", &tm);
	else if (x->kind == MM_BL_ALL)
		snprintf(buf, cap, "every hour");
	else
		snprintf(buf, cap, "none");
}

static json_t *num_or_null(bool have, double v)
{
	return have && isfinite(v) ? json_real(v) : json_null();
}

static json_t *baseline_json(const struct mm_baseline_mod *b)
{
	json_t *ms = json_array();
	for (int m = 0; m < M_N; m++) {
		const struct mm_baseline *x = &b->b[m];
		bool rng = b->have && x->kind != MM_BL_NONE;
		char slot[64];
		slot_words(x, b->computed_s, slot, sizeof slot);
		const char *state = !b->have_cur[m] || !rng ? "unknown"
				    : b->beyond[m] > 0	    ? "above"
				    : b->beyond[m] < 0	    ? "below"
							    : "within";
		json_array_append_new(
			ms, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:f, s:o, s:f, s:f, "
				      "s:s}",
				      "metric", figs[m].name, "unit", figs[m].unit, "kind",
				      kinds[x->kind], "slot", slot, "low", num_or_null(rng, x->low),
				      "high", num_or_null(rng, x->high), "median",
				      num_or_null(rng, x->median), "points", (json_int_t)x->points,
				      "history_days", x->history_days, "current",
				      num_or_null(b->have_cur[m], b->cur[m]), "departure",
				      b->beyond[m], "slack", b->slack[m], "state", state));
	}
	const char *path = mm_history_path(b->d);
	return json_pack("{s:b, s:s?, s:o, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:s?, s:o}",
			 "history",
			 path != NULL, "history_file", path, "computed_at",
			 b->have ? json_integer((json_int_t)b->computed_s) : json_null(),
			 "utc_offset_s", (json_int_t)b->utc_off, "from",
			 (json_int_t)(b->computed_s - SPAN_S), "to",
			 (json_int_t)(b->computed_s - RECENT_S), "step_s", (json_int_t)STEP_S,
			 "rate_window_ms", (json_int_t)b->window_ms, "computing", b->job != NULL,
			 "runs", (json_int_t)b->runs, "compute_ms", (json_int_t)b->took_ms,
			 "error", b->last_err[0] ? b->last_err : NULL, "metrics", ms);
}

static void on_api(struct evhttp_request *req, void *arg)
{
	mm_http_reply_json(req, 200, baseline_json(arg));
}

static void take_conf(struct mm_baseline_mod *b)
{
	const struct mm_config *conf = b->d->conf;
	b->interval_ms = mm_config_duration_ms(conf, "baseline", "interval");
	b->window_ms = mm_config_duration_ms(conf, "baseline", "rate_window");
	for (int m = 0; m < M_N; m++) {
		const char *v = mm_config_get(conf, "baseline", figs[m].slack_key);
		b->slack[m] = v ? strtod(v, NULL) : 0;
	}
}

static int baseline_init(struct mm_daemon *d, struct mm_err *err)
{
	if (!mm_config_bool(d->conf, "baseline", "enable"))
		return 0;
	struct mm_baseline_mod *b = xcalloc(1, sizeof *b);
	b->d = d;
	d->baseline = b;
	take_conf(b);
	if (mm_registry_add_all(d->metrics, defs, F_N, b->f, err) < 0)
		return -1;
	mm_registry_add_collector(d->metrics, collect, b);
	mm_http_route(d, "/api/baseline", on_api, b);
	b->want = true; /* the first tick: the history worker has opened the file by then */
	mm_schedule_add(&d->sched, JOB_NAME, b->interval_ms, b->interval_ms, mm_mono_ms(), tick,
			b);
	return 0;
}

static void baseline_apply(struct mm_daemon *d, const struct mm_config *old)
{
	struct mm_baseline_mod *b = d->baseline;
	if (!b)
		return;
	take_conf(b);
	b->want = true; /* after a reload: the next tick computes again */
	mm_schedule_set_period(&d->sched, JOB_NAME, b->interval_ms);
}

static void baseline_in_effect(struct mm_daemon *d, json_t *out)
{
	struct mm_baseline_mod *b = d->baseline;
	if (!b)
		return;
	json_object_set_new(out, "baseline.interval", json_integer((json_int_t)b->interval_ms));
	json_object_set_new(out, "baseline.rate_window", json_integer((json_int_t)b->window_ms));
	for (int m = 0; m < M_N; m++) {
		char k[64];
		snprintf(k, sizeof k, "baseline.%s", figs[m].slack_key);
		json_object_set_new(out, k, json_real(b->slack[m]));
	}
}

static void baseline_free(struct mm_daemon *d)
{
	struct mm_baseline_mod *b = d->baseline;
	if (!b)
		return;
	mm_bgwork_stop(b->bg); /* waits for the read under way, drops it */
	if (b->job)
		job_free(b->job); /* back on the loop, not applied yet */
	mm_registry_remove_collector(d->metrics, b);
	mm_http_unroute(d, "/api/baseline");
	for (size_t i = 0; i < d->sched.n; i++)
		if (strcmp(d->sched.jobs[i].name, JOB_NAME) == 0)
			d->sched.jobs[i].fn = NULL;
	free(b);
	d->baseline = NULL;
}

const struct mm_module mm_module_baseline = {
	.name = "baseline",
	.conf = {&mm_conf_table_baseline},
	.init = baseline_init,
	.apply = baseline_apply,
	.in_effect = baseline_in_effect,
	.free = baseline_free,
};

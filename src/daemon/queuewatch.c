/*
 * queuewatch: the daemon's queue gauges.
 *
 * Scans run in one worker thread so a slow queue (100,000 files, a stuck
 * postqueue) never stalls the event loop. The loop asks for a scan every
 * [queue] scan_interval; a request made while a scan runs is merged into
 * one follow-up scan (counted as "merged"). The worker owns the MTA
 * handle and its cache; after each scan it builds a struct mm_qsummary
 * (owned values, no pointers into the cache) and hands it to the loop
 * through a mutex-guarded slot, waking the loop with a byte on a pipe.
 * Only the loop thread touches the published summary, the trend ring and
 * the counters.
 *
 * /api/queue (GET): mode, scan statistics, per queue and per destination
 * (top N plus "other") messages, recipients, bytes, oldest age and
 * delay-reason mix, growth per minute and the drain estimate per queue
 * and for the backlog (incoming + active + deferred + maildrop), and the
 * RFC 2789 stored gauges per destination group. The same gauges per
 * channel go into the counters file: the worker hands over one
 * struct mm_stored_msg per queued message, and the log pipeline, which
 * knows each message's delivery channel from the logs, attributes them.
 *
 * Errors: a failed scan is logged once per change of message and shown in
 * /api/queue; the last good summary stays published.
 * Ownership: struct mm_queuewatch is owned by the daemon (d->queue).
 */
#include "daemon/queuewatch.h"
#include "core/utf8.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/module.h"
#include "daemon/privsep.h"
#include "metrics/registry.h"
#include "mta/reason_class.h"
#include "daemon/logwatch.h"
#include "logs/logpipe.h"
#include "mta/mta.h"
#include "mta/queue_summary.h"
#include "mta/queue_trend.h"

#define BACKLOG_MASK                                                                         \
	(MM_QMASK(MM_Q_INCOMING) | MM_QMASK(MM_Q_ACTIVE) | MM_QMASK(MM_Q_DEFERRED) |          \
	 MM_QMASK(MM_Q_MAILDROP))

/* The MTA parameters as owned strings: the config they come from is
 * freed by the next reload, while the worker may reopen the backend. */
struct qparams {
	struct mm_mta_params p;
	char *strs[MM_MTA_MAX_INSTANCES + 3];
	size_t nstrs;
	char *sig; /* every value that shapes the backend, to notice changes */
};

static void qparams_free(struct qparams *qp);

struct mm_queuewatch {
	struct mm_daemon *d;
	struct mm_mta *mta; /* used by the worker only, after init */
	char mode[16];
	struct mm_metric *f[24]; /* registry families, see defs[] */

	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* guarded by mu */
	bool want, busy, quit;
	size_t top;
	struct qparams *reopen; /* new backend parameters for the worker */
	struct qparams *in_use; /* those of the open backend */
	char *type;
	char *sig;	  /* of the parameters in use (loop thread) */
	bool open_failed; /* the backend never opened: no worker */
	struct mm_qsummary *ready;
	struct mm_stored_msg *ready_stored; /* with ready, for the counters file */
	size_t ready_nstored;
	char error[MM_ERR_MAX];
	bool error_new;
	uint64_t merged;

	int pipefd[2];
	struct event *ev_done;

	/* loop thread only */
	struct mm_qsummary cur;
	bool have_cur;
	struct mm_qtrend trend;
	uint64_t scans, failures, requests;
	char last_error[MM_ERR_MAX];
	int64_t last_ok_wall_ms;
	int64_t max_duration_us;
};

/* The queued messages as the counters' stored gauges need them. */
static struct mm_stored_msg *stored_msgs(const struct mm_qsnap *snap)
{
	struct mm_stored_msg *out = xmalloc((snap->n ? snap->n : 1) * sizeof *out);
	for (size_t i = 0; i < snap->n; i++) {
		const struct mm_qmsg *m = snap->msgs[i];
		out[i] = (struct mm_stored_msg){
			.nrcpt = m->nrcpt, .size = m->size, .arrival_s = m->arrival};
		/* strncpy pads with NULs; an id too long for the lifecycle is
		 * never found there and counts as unattempted. */
		strncpy(out[i].qid, m->id, sizeof out[i].qid - 1);
	}
	return out;
}

static void qparams_free(struct qparams *qp)
{
	if (!qp)
		return;
	for (size_t i = 0; i < qp->nstrs; i++)
		free(qp->strs[i]);
	free(qp->sig);
	free(qp);
}

static const char *own(struct qparams *qp, const char *s)
{
	if (!s)
		return NULL;
	char *c = xstrdup(s);
	qp->strs[qp->nstrs++] = c;
	return c;
}

static struct qparams *qparams_from(struct mm_daemon *d, const struct mm_config *conf)
{
	struct qparams *qp = xcalloc(1, sizeof *qp);
	mm_mta_params_from_config(conf, NULL, 0, &qp->p);
	qp->p.watch = true;
	qp->p.reasons = true;
	for (size_t i = 0; i < qp->p.ninstances; i++)
		qp->p.config_dirs[i] = own(qp, qp->p.config_dirs[i]);
	qp->p.queue_directory = own(qp, qp->p.queue_directory);
	qp->p.command_directory = own(qp, qp->p.command_directory);
	qp->p.mode = own(qp, qp->p.mode);
	/* Separated ([daemon] user), Postfix's queue directories are
	 * postfix-only (0700, not group-readable) after the drop: direct and
	 * auto read them through the privileged opener (daemon/privsep.h). */
	qp->p.opener = mm_privsep_queue_opener(d);
	qp->sig = xasprintf("%s|%s|%s|%s|%s|%lld|%llu|%lld", mm_config_get(conf, "mta", "config_directory"),
			    mm_config_get(conf, "mta", "queue_directory") ? mm_config_get(conf, "mta", "queue_directory") : "",
			    qp->p.command_directory ? qp->p.command_directory : "",
			    qp->p.mode ? qp->p.mode : "",
			    mm_config_get(conf, "queue", "instances") ? mm_config_get(conf, "queue", "instances") : "",
			    (long long)qp->p.command_timeout_ms,
			    (unsigned long long)qp->p.command_max_bytes, (long long)qp->p.full_every_ms);
	return qp;
}

/* The worker's copy of the backend's mode name, shown in /api/queue. */
static void mm_mta_mode_copy(struct mm_mta *m, struct mm_queuewatch *w)
{
	pthread_mutex_lock(&w->mu);
	snprintf(w->mode, sizeof w->mode, "%s", mm_mta_mode(m));
	pthread_mutex_unlock(&w->mu);
}

static void *worker(void *arg)
{
	struct mm_queuewatch *w = arg;
	struct mm_qsnap snap = {0};
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->want && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit)
			break;
		w->want = false;
		w->busy = true;
		size_t top = w->top;
		struct qparams *reopen = w->reopen;
		w->reopen = NULL;
		pthread_mutex_unlock(&w->mu);

		struct mm_err err = {{0}};
		if (reopen) {
			/* A reload changed [mta] or the queue's command settings:
			 * the next scan uses a backend opened with them. Opening
			 * may run postconf, so it happens here, off the loop. */
			struct mm_mta *fresh = mm_mta_open(w->type, &reopen->p, &err);
			if (fresh) {
				mm_mta_close(w->mta);
				w->mta = fresh;
				mm_mta_mode_copy(fresh, w);
				pthread_mutex_lock(&w->mu);
				qparams_free(w->in_use);
				w->in_use = reopen;
				pthread_mutex_unlock(&w->mu);
			} else {
				qparams_free(reopen);
			}
		}
		struct mm_qsummary *sum = NULL;
		struct mm_stored_msg *stored = NULL;
		if (!err.msg[0] && mm_mta_scan(w->mta, MM_QMASK_ALL, &snap, &err) == 0) {
			sum = xcalloc(1, sizeof *sum);
			mm_qsummary_build(&snap, top, sum);
			stored = stored_msgs(&snap);
		}

		pthread_mutex_lock(&w->mu);
		w->busy = false;
		if (sum) {
			if (w->ready) {
				mm_qsummary_free(w->ready);
				free(w->ready);
			}
			free(w->ready_stored);
			w->ready = sum;
			w->ready_stored = stored;
			w->ready_nstored = snap.n;
		} else {
			memcpy(w->error, err.msg, sizeof w->error);
			w->error_new = true;
		}
		ssize_t wr = write(w->pipefd[1], "x", 1);
		(void)wr; /* a full pipe already holds a wake-up */
	}
	pthread_mutex_unlock(&w->mu);
	mm_qsnap_free(&snap);
	return NULL;
}

/* Loop side: take the worker's result. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct mm_queuewatch *w = arg;
	char buf[64];
	while (read(fd, buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&w->mu);
	struct mm_qsummary *sum = w->ready;
	struct mm_stored_msg *stored = w->ready_stored;
	size_t nstored = w->ready_nstored;
	w->ready = NULL;
	w->ready_stored = NULL;
	bool failed = w->error_new;
	char error[MM_ERR_MAX];
	memcpy(error, w->error, sizeof error);
	w->error_new = false;
	pthread_mutex_unlock(&w->mu);

	if (failed) {
		w->failures++;
		if (strcmp(error, w->last_error) != 0)
			mm_log_err(&w->d->log, "queue scan: %s", error);
		memcpy(w->last_error, error, sizeof w->last_error);
	}
	if (!sum)
		return;
	struct mm_logpipe *lp = mm_logwatch_logpipe(w->d);
	if (lp)
		mm_logpipe_set_stored(lp, stored, nstored, sum->taken_s);
	free(stored);
	if (w->last_error[0])
		mm_log_notice(&w->d->log, "queue scan: working again");
	w->last_error[0] = '\0';
	w->scans++;
	if (sum->stats.duration_us > w->max_duration_us)
		w->max_duration_us = sum->stats.duration_us;
	if (w->have_cur)
		mm_qsummary_free(&w->cur);
	w->cur = *sum;
	w->have_cur = true;
	free(sum);
	w->last_ok_wall_ms = mm_wall_ms();
	uint64_t sizes[MM_Q_N];
	for (int q = 0; q < MM_Q_N; q++)
		sizes[q] = w->cur.q[q].msgs;
	mm_qtrend_add(&w->trend, w->cur.taken_s, sizes);
}

/* Asks the worker for a scan; merged into the pending one if any. */
static void request_scan(struct mm_queuewatch *w)
{
	pthread_mutex_lock(&w->mu);
	if (w->want || w->busy)
		w->merged++;
	w->want = true;
	w->top = (size_t)mm_config_int(w->d->conf, "queue", "top_destinations");
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	w->requests++;
}

static void on_job(void *arg, int64_t now_ms)
{
	struct mm_queuewatch *w = arg;
	/* [queue] scan_interval is reloadable: follow the current config. */
	int64_t period = mm_config_duration_ms(w->d->conf, "queue", "scan_interval");
	for (size_t i = 0; i < w->d->sched.n; i++)
		if (strcmp(w->d->sched.jobs[i].name, "queue") == 0 &&
		    w->d->sched.jobs[i].period_ms != period)
			mm_schedule_set_period(&w->d->sched, "queue", period);
	request_scan(w);
}

static json_t *trend_json(const struct mm_queuewatch *w, unsigned mask, int64_t window_s)
{
	struct mm_qtrend_out t;
	mm_qtrend_get(&w->trend, mask, window_s, &t);
	if (!t.known)
		return json_pack("{s:I, s:n, s:n, s:s}", "messages", (json_int_t)t.size,
				 "growth_per_min", "drain_eta_s", "drain", "unknown (one sample)");
	return json_pack("{s:I, s:f, s:I, s:o, s:s}", "messages", (json_int_t)t.size,
			 "growth_per_min", t.growth_per_min, "window_s", (json_int_t)t.span_s,
			 "drain_eta_s", t.draining ? json_integer((json_int_t)t.drain_eta_s) : json_null(),
			 "drain", t.draining ? "draining" : "not draining");
}

/* RFC 2789 mtaGroupStored* per channel group. Postfix queue files do not
 * name the transport, so the groups are the queue's destination domains
 * plus "other". */
static json_t *rfc2789_json(const struct mm_queuewatch *w, int64_t now_s)
{
	json_t *groups = json_array();
	for (int pass = 0; pass < 2; pass++) {
		unsigned qi = pass == 0 ? MM_Q_ACTIVE : MM_Q_DEFERRED;
		const struct mm_qsum_queue *q = &w->cur.q[qi];
		for (size_t i = 0; i < q->ndests; i++) {
			const struct mm_qsum_dest *dd = &q->dests[i];
			json_array_append_new(
				groups, json_pack("{s:o, s:s, s:I, s:I, s:I, s:I}", "group", mm_json_text(dd->name),
						  "queue", mm_queue_name(qi), "mtaGroupStoredMessages",
						  (json_int_t)dd->msgs, "mtaGroupStoredVolume",
						  (json_int_t)((dd->bytes + 1023) / 1024),
						  "mtaGroupStoredRecipients", (json_int_t)dd->rcpts,
						  "mtaGroupOldestMessageStored",
						  (json_int_t)(dd->oldest == INT64_MAX ? 0 : now_s - dd->oldest)));
		}
	}
	return groups;
}

static json_t *queue_json(struct mm_queuewatch *w)
{
	int64_t now_s = mm_wall_ms() / 1000;
	int64_t window = mm_config_duration_ms(w->d->conf, "queue", "growth_window") / 1000;
	pthread_mutex_lock(&w->mu);
	bool busy = w->busy;
	uint64_t merged = w->merged;
	char mode[sizeof w->mode];
	memcpy(mode, w->mode, sizeof mode);
	pthread_mutex_unlock(&w->mu);
	json_t *doc = json_pack("{s:s, s:I, s:I, s:I, s:I, s:b, s:o}", "mode", mode, "scans",
				(json_int_t)w->scans, "failures", (json_int_t)w->failures,
				"requests", (json_int_t)w->requests, "merged", (json_int_t)merged,
				"scanning", busy, "error",
				w->last_error[0] ? mm_json_text(w->last_error) : json_null());
	if (!w->have_cur) {
		json_object_set_new(doc, "queues", json_null());
		return doc;
	}
	const struct mm_qscan_stats *s = &w->cur.stats;
	json_object_set_new(
		doc, "scan",
		json_pack("{s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
			  "taken", (json_int_t)w->cur.taken_s, "age_s",
			  (json_int_t)(now_s - w->cur.taken_s), "duration_us",
			  (json_int_t)s->duration_us, "full", s->full, "max_duration_us",
			  (json_int_t)w->max_duration_us, "files", (json_int_t)s->files, "parsed",
			  (json_int_t)s->parsed, "reused", (json_int_t)s->reused, "vanished",
			  (json_int_t)s->vanished, "in_progress", (json_int_t)s->in_progress,
			  "malformed", (json_int_t)s->malformed, "oversize", (json_int_t)s->oversize,
			  "unreadable", (json_int_t)s->unreadable, "duplicates",
			  (json_int_t)s->duplicates, "first_problem", mm_json_text(s->first_problem)));
	json_object_set_new(doc, "queues", mm_qsummary_json(&w->cur, now_s));
	json_t *trend = json_object();
	for (unsigned q = 0; q < MM_Q_N; q++)
		json_object_set_new(trend, mm_queue_name(q), trend_json(w, MM_QMASK(q), window));
	json_object_set_new(trend, "backlog", trend_json(w, BACKLOG_MASK, window));
	json_object_set_new(doc, "trend", trend);
	json_object_set_new(doc, "rfc2789", rfc2789_json(w, now_s));
	return doc;
}

static void on_http(struct evhttp_request *req, void *arg)
{
	struct mm_queuewatch *w = arg;
	json_t *doc = queue_json(w);
	mm_http_reply_json(req, 200, doc);
}

/* ---- the registry ---- */

enum {
	F_MSGS,
	F_RCPTS,
	F_BYTES,
	F_OLDEST,
	F_GROWTH,
	F_DRAINING,
	F_ETA,
	F_DEST_MSGS,
	F_DEST_RCPTS,
	F_DEST_OLDEST,
	F_REASON,
	F_REASON_RCPTS,
	F_DEST_REASON,
	F_SCANS,
	F_SCAN_FAIL,
	F_SCAN_SECONDS,
	F_SCAN_FILES,
	F_SCAN_AGE,
	F_N
};

static const struct mm_metric_def defs[F_N] = {
	[F_MSGS] = {"mailmon_queue_messages", "Messages in the MTA queue.", MM_METRIC_GAUGE,
		    {"queue"}},
	[F_RCPTS] = {"mailmon_queue_recipients", "Pending recipients in the MTA queue.",
		     MM_METRIC_GAUGE, {"queue"}},
	[F_BYTES] = {"mailmon_queue_bytes", "Size of the queued messages, in bytes.",
		     MM_METRIC_GAUGE, {"queue"}},
	[F_OLDEST] = {"mailmon_queue_oldest_age_seconds",
		      "Age of the oldest message in the queue, in seconds (0 when empty).",
		      MM_METRIC_GAUGE, {"queue"}},
	[F_GROWTH] = {"mailmon_queue_growth_messages_per_second",
		      "Net change of the queue's size over [queue] growth_window, in messages "
		      "per second; negative while it drains.",
		      MM_METRIC_GAUGE, {"queue"}},
	[F_DRAINING] = {"mailmon_queue_draining",
			"1 while the queue shrinks over [queue] growth_window, 0 when it does not.",
			MM_METRIC_GAUGE, {"queue"}},
	[F_ETA] = {"mailmon_queue_drain_eta_seconds",
		   "While the queue drains: seconds until it is empty at the current net rate. "
		   "Absent when it is not draining.",
		   MM_METRIC_GAUGE, {"queue"}},
	[F_DEST_MSGS] = {"mailmon_queue_destination_messages",
			 "Messages per destination domain, the top [queue] top_destinations per "
			 "queue; the rest are summed as destination=\"other\".",
			 MM_METRIC_GAUGE, {"queue", "destination"}, .max_series = 2000},
	[F_DEST_RCPTS] = {"mailmon_queue_destination_recipients",
			  "Pending recipients per destination domain (top N plus \"other\").",
			  MM_METRIC_GAUGE, {"queue", "destination"}, .max_series = 2000},
	[F_DEST_OLDEST] = {"mailmon_queue_destination_oldest_age_seconds",
			   "Age of the oldest message per destination domain, in seconds.",
			   MM_METRIC_GAUGE, {"queue", "destination"}, .max_series = 2000},
	[F_REASON] = {"mailmon_queue_reason_messages",
		      "Messages per delay-reason class (refused, timeout, tls, dns, 4xx, "
		      "suspended, other, none); a message with recipients of two classes counts "
		      "in both.",
		      MM_METRIC_GAUGE, {"queue", "reason"}},
	[F_REASON_RCPTS] = {"mailmon_queue_reason_recipients",
			    "Pending recipients per delay-reason class.", MM_METRIC_GAUGE,
			    {"queue", "reason"}},
	[F_DEST_REASON] = {"mailmon_queue_destination_reason_recipients",
			   "Pending recipients per destination domain and delay-reason class "
			   "(top N destinations plus \"other\"; classes with none are left out).",
			   MM_METRIC_GAUGE, {"queue", "destination", "reason"}, .max_series = 8000,
			   .fold_label = 2},
	[F_SCANS] = {"mailmon_queue_scans_total", "Queue scans completed.", MM_METRIC_COUNTER},
	[F_SCAN_FAIL] = {"mailmon_queue_scan_failures_total", "Queue scans that failed.",
			 MM_METRIC_COUNTER},
	[F_SCAN_SECONDS] = {"mailmon_queue_scan_duration_seconds",
			    "How long the last queue scan took, in seconds.", MM_METRIC_GAUGE},
	[F_SCAN_FILES] = {"mailmon_queue_scan_files", "Queue files seen by the last scan.",
			  MM_METRIC_GAUGE},
	[F_SCAN_AGE] = {"mailmon_queue_scan_age_seconds",
			"Seconds since the published queue figures were taken.", MM_METRIC_GAUGE},
};

static void collect(void *arg, struct mm_registry *r)
{
	struct mm_queuewatch *w = arg;
	mm_metric_set(w->f[F_SCANS], NULL, (double)w->scans);
	mm_metric_set(w->f[F_SCAN_FAIL], NULL, (double)w->failures);
	if (!w->have_cur)
		return;
	int64_t now_s = mm_wall_ms() / 1000;
	int64_t window = mm_config_duration_ms(w->d->conf, "queue", "growth_window") / 1000;
	mm_metric_set(w->f[F_SCAN_SECONDS], NULL, (double)w->cur.stats.duration_us / 1e6);
	mm_metric_set(w->f[F_SCAN_FILES], NULL, (double)w->cur.stats.files);
	mm_metric_set(w->f[F_SCAN_AGE], NULL, (double)(now_s - w->cur.taken_s));
	for (unsigned qi = 0; qi < MM_Q_N; qi++) {
		const struct mm_qsum_queue *q = &w->cur.q[qi];
		const char *ql[] = {mm_queue_name(qi)};
		mm_metric_set(w->f[F_MSGS], ql, (double)q->msgs);
		mm_metric_set(w->f[F_RCPTS], ql, (double)q->rcpts);
		mm_metric_set(w->f[F_BYTES], ql, (double)q->bytes);
		mm_metric_set(w->f[F_OLDEST], ql,
			      q->oldest == INT64_MAX || q->oldest > now_s ? 0
									  : (double)(now_s - q->oldest));
		struct mm_qtrend_out t;
		mm_qtrend_get(&w->trend, MM_QMASK(qi), window, &t);
		if (t.known) {
			mm_metric_set(w->f[F_GROWTH], ql, t.growth_per_min / 60.0);
			mm_metric_set(w->f[F_DRAINING], ql, t.draining ? 1 : 0);
			if (t.draining)
				mm_metric_set(w->f[F_ETA], ql, (double)t.drain_eta_s);
		}
		for (size_t i = 0; i <= q->ndests; i++) {
			const struct mm_qsum_dest *dd = i < q->ndests ? &q->dests[i] : &q->other;
			if (i == q->ndests && q->other_dests == 0)
				break;
			const char *dl[] = {mm_queue_name(qi), i < q->ndests ? dd->name : "other"};
			mm_metric_set(w->f[F_DEST_MSGS], dl, (double)dd->msgs);
			mm_metric_set(w->f[F_DEST_RCPTS], dl, (double)dd->rcpts);
			mm_metric_set(w->f[F_DEST_OLDEST], dl,
				      dd->oldest == INT64_MAX || dd->oldest > now_s
					      ? 0
					      : (double)(now_s - dd->oldest));
			for (unsigned c = 0; c < MM_RC_N; c++)
				if (dd->rclass[c])
					mm_metric_set(w->f[F_DEST_REASON],
						      (const char *[]){dl[0], dl[1], mm_rclass_name(c)},
						      (double)dd->rclass[c]);
		}
		for (unsigned c = 0; c < MM_RC_N; c++) {
			const char *rl[] = {mm_queue_name(qi), mm_rclass_name(c)};
			mm_metric_set(w->f[F_REASON], rl, (double)q->rclass_msgs[c]);
			mm_metric_set(w->f[F_REASON_RCPTS], rl, (double)q->rclass[c]);
		}
	}
}

static void queuewatch_free(struct mm_daemon *d);

/* /api/queue when no queue is watched: says why instead of a 404, so a
 * Dovecot-only host ([mta] type = none) reads as such. */
static void on_http_off(struct evhttp_request *req, void *arg)
{
	struct mm_daemon *d = arg;
	const char *why = !mm_config_bool(d->conf, "queue", "enable")
				  ? "[queue] enable = no"
				  : "[mta] type has no queue reader";
	mm_http_reply_json(req, 200,
			   json_pack("{s:s, s:s, s:s, s:n}", "mode", "off", "mta",
				     mm_config_get(d->conf, "mta", "type"), "reason", why, "queues"));
}

static int queuewatch_init(struct mm_daemon *d, struct mm_err *err)
{
	const char *type = mm_config_get(d->conf, "mta", "type");
	if (!mm_config_bool(d->conf, "queue", "enable") || strcmp(type, "postfix") != 0) {
		/* Only Postfix has a queue reader so far; none (a Dovecot-only
		 * host), exim and msgsrv run without queue gauges. */
		if (d->httpd)
			mm_http_route(d, "/api/queue", on_http_off, d);
		return 0;
	}
	struct mm_queuewatch *w = xcalloc(1, sizeof *w);
	w->d = d;
	d->queue = w;
	w->type = xstrdup(type);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (mm_registry_add_all(d->metrics, defs, F_N, w->f, err) < 0)
		return -1;
	mm_registry_add_collector(d->metrics, collect, w);
	struct qparams *qp = qparams_from(d, d->conf);
	w->sig = xstrdup(qp->sig);
	struct mm_err oerr = {{0}};
	struct mm_mta *mta = mm_mta_open(type, &qp->p, &oerr);
	w->in_use = qp;
	if (!mta) {
		/* Not fatal: the rest of the daemon runs; /api/queue says why. */
		mm_log_err(&d->log, "queue: %s", oerr.msg);
		w->open_failed = true;
		snprintf(w->last_error, sizeof w->last_error, "%s", oerr.msg);
		snprintf(w->mode, sizeof w->mode, "off");
		w->pipefd[0] = w->pipefd[1] = -1;
		if (d->httpd)
			mm_http_route(d, "/api/queue", on_http, w);
		return 0;
	}
	w->mta = mta;
	snprintf(w->mode, sizeof w->mode, "%s", mm_mta_mode(mta));
	if (pipe2(w->pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		mm_err_sys(err, errno, "queue: pipe");
		w->pipefd[0] = w->pipefd[1] = -1;
		queuewatch_free(d);
		return -1;
	}
	w->ev_done = event_new(d->base, w->pipefd[0], EV_READ | EV_PERSIST, on_done, w);
	event_add(w->ev_done, NULL);
	if (pthread_create(&w->thread, NULL, worker, w) != 0) {
		queuewatch_free(d);
		return mm_err_set(err, "queue: cannot start the scan thread");
	}
	w->started = true;
	int64_t now = mm_mono_ms();
	mm_schedule_add(&d->sched, "queue",
			mm_config_duration_ms(d->conf, "queue", "scan_interval"), 0, now, on_job, w);
	request_scan(w); /* the first scan now, not a heartbeat later */
	if (d->httpd)
		mm_http_route(d, "/api/queue", on_http, w);
	mm_log_info(&d->log, "queue: watching in %s mode", w->mode);
	return 0;
}

static void queuewatch_free(struct mm_daemon *d)
{
	struct mm_queuewatch *w = d->queue;
	if (!w) {
		if (d->httpd)
			mm_http_unroute(d, "/api/queue");
		return;
	}
	mm_registry_remove_collector(d->metrics, w);
	qparams_free(w->reopen);
	qparams_free(w->in_use);
	free(w->sig);
	free(w->type);
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->quit = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	if (d->httpd)
		mm_http_unroute(d, "/api/queue");
	if (w->ev_done)
		event_free(w->ev_done);
	if (w->pipefd[0] >= 0)
		close(w->pipefd[0]);
	if (w->pipefd[1] >= 0)
		close(w->pipefd[1]);
	mm_mta_close(w->mta);
	free(w->ready_stored);
	if (w->ready) {
		mm_qsummary_free(w->ready);
		free(w->ready);
	}
	if (w->have_cur)
		mm_qsummary_free(&w->cur);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	d->queue = NULL;
}

/* Reload: the scan period, and a backend reopened by the worker when the
 * [mta] directories or the command limits changed. top_destinations and
 * growth_window are read at each use. */
static void queuewatch_apply(struct mm_daemon *d, const struct mm_config *old)
{
	struct mm_queuewatch *w = d->queue;
	if (!w)
		return;
	mm_schedule_set_period(&d->sched, "queue",
			       mm_config_duration_ms(d->conf, "queue", "scan_interval"));
	struct qparams *qp = qparams_from(d, d->conf);
	if (strcmp(qp->sig, w->sig) == 0 || w->open_failed) {
		qparams_free(qp);
		return;
	}
	free(w->sig);
	w->sig = xstrdup(qp->sig);
	pthread_mutex_lock(&w->mu);
	qparams_free(w->reopen);
	w->reopen = qp;
	pthread_mutex_unlock(&w->mu);
	mm_log_notice(&d->log, "queue: [mta]/[queue] settings changed; the next scan reopens the MTA");
	request_scan(w);
}

static void put_ms(json_t *out, const char *key, int64_t ms)
{
	json_object_set_new(out, key, json_integer((json_int_t)ms));
}

static void queuewatch_in_effect(struct mm_daemon *d, json_t *out)
{
	struct mm_queuewatch *w = d->queue;
	if (!w)
		return;
	for (size_t i = 0; i < d->sched.n; i++)
		if (strcmp(d->sched.jobs[i].name, "queue") == 0)
			put_ms(out, "queue.scan_interval", d->sched.jobs[i].period_ms);
	put_ms(out, "queue.growth_window", mm_config_duration_ms(d->conf, "queue", "growth_window"));
	pthread_mutex_lock(&w->mu);
	json_object_set_new(out, "queue.top_destinations", json_integer((json_int_t)w->top));
	const struct mm_mta_params *p = w->in_use ? &w->in_use->p : NULL;
	if (p) {
		json_object_set_new(out, "mta.config_directory", json_string(p->config_dirs[0]));
		json_object_set_new(out, "mta.queue_directory",
				    p->queue_directory ? json_string(p->queue_directory) : json_null());
		json_object_set_new(out, "mta.command_directory", json_string(p->command_directory));
		json_object_set_new(out, "queue.mode", json_string(p->mode));
		json_t *inst = json_array();
		for (size_t i = 1; i < p->ninstances; i++)
			json_array_append_new(inst, json_string(p->config_dirs[i]));
		json_object_set_new(out, "queue.instances", inst);
		put_ms(out, "queue.command_timeout", p->command_timeout_ms);
		json_object_set_new(out, "queue.command_max_bytes",
				    json_integer((json_int_t)p->command_max_bytes));
		put_ms(out, "queue.full_rescan_interval", p->full_every_ms);
	}
	pthread_mutex_unlock(&w->mu);
}

const struct mm_module mm_module_queue = {
	.name = "queue",
	.conf = {&mm_conf_table_mta, &mm_conf_table_queue},
	.init = queuewatch_init,
	.apply = queuewatch_apply,
	.in_effect = queuewatch_in_effect,
	.free = queuewatch_free,
};

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
#include "daemon/logwatch.h"
#include "logs/logpipe.h"
#include "mta/mta.h"
#include "mta/queue_summary.h"
#include "mta/queue_trend.h"

#define BACKLOG_MASK                                                                         \
	(MM_QMASK(MM_Q_INCOMING) | MM_QMASK(MM_Q_ACTIVE) | MM_QMASK(MM_Q_DEFERRED) |          \
	 MM_QMASK(MM_Q_MAILDROP))

struct mm_queuewatch {
	struct mm_daemon *d;
	struct mm_mta *mta; /* used by the worker only, after init */
	char mode[16];

	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* guarded by mu */
	bool want, busy, quit;
	size_t top;
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
		pthread_mutex_unlock(&w->mu);

		struct mm_err err = {{0}};
		struct mm_qsummary *sum = NULL;
		struct mm_stored_msg *stored = NULL;
		if (mm_mta_scan(w->mta, MM_QMASK_ALL, &snap, &err) == 0) {
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
				groups, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "group", dd->name,
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
	pthread_mutex_unlock(&w->mu);
	json_t *doc = json_pack("{s:s, s:I, s:I, s:I, s:I, s:b, s:s?}", "mode", w->mode, "scans",
				(json_int_t)w->scans, "failures", (json_int_t)w->failures,
				"requests", (json_int_t)w->requests, "merged", (json_int_t)merged,
				"scanning", busy, "error", w->last_error[0] ? w->last_error : NULL);
	if (!w->have_cur) {
		json_object_set_new(doc, "queues", json_null());
		return doc;
	}
	const struct mm_qscan_stats *s = &w->cur.stats;
	json_object_set_new(
		doc, "scan",
		json_pack("{s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
			  "taken", (json_int_t)w->cur.taken_s, "age_s",
			  (json_int_t)(now_s - w->cur.taken_s), "duration_us",
			  (json_int_t)s->duration_us, "full", s->full, "max_duration_us",
			  (json_int_t)w->max_duration_us, "files", (json_int_t)s->files, "parsed",
			  (json_int_t)s->parsed, "reused", (json_int_t)s->reused, "vanished",
			  (json_int_t)s->vanished, "in_progress", (json_int_t)s->in_progress,
			  "malformed", (json_int_t)s->malformed, "oversize", (json_int_t)s->oversize,
			  "unreadable", (json_int_t)s->unreadable, "duplicates",
			  (json_int_t)s->duplicates, "first_problem", s->first_problem));
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

int mm_queuewatch_init(struct mm_daemon *d, struct mm_err *err)
{
	if (!mm_config_bool(d->conf, "queue", "enable"))
		return 0;
	const char *type = mm_config_get(d->conf, "mta", "type");
	if (strcmp(type, "postfix") != 0)
		return 0; /* only Postfix has a queue reader so far */
	struct mm_mta_params p;
	mm_mta_params_from_config(d->conf, NULL, 0, &p);
	p.watch = true;
	p.reasons = true;
	struct mm_queuewatch *w = xcalloc(1, sizeof *w);
	w->d = d;
	d->queue = w;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	struct mm_err oerr = {{0}};
	struct mm_mta *mta = mm_mta_open(type, &p, &oerr);
	if (!mta) {
		/* Not fatal: the rest of the daemon runs; /api/queue says why. */
		mm_log_err(&d->log, "queue: %s", oerr.msg);
		snprintf(w->last_error, sizeof w->last_error, "%s", oerr.msg);
		snprintf(w->mode, sizeof w->mode, "off");
		w->pipefd[0] = w->pipefd[1] = -1;
		if (d->http)
			evhttp_set_cb(d->http, "/api/queue", on_http, w);
		return 0;
	}
	w->mta = mta;
	snprintf(w->mode, sizeof w->mode, "%s", mm_mta_mode(mta));
	if (pipe2(w->pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		mm_err_sys(err, errno, "queue: pipe");
		w->pipefd[0] = w->pipefd[1] = -1;
		mm_queuewatch_free(d);
		return -1;
	}
	w->ev_done = event_new(d->base, w->pipefd[0], EV_READ | EV_PERSIST, on_done, w);
	event_add(w->ev_done, NULL);
	if (pthread_create(&w->thread, NULL, worker, w) != 0) {
		mm_queuewatch_free(d);
		return mm_err_set(err, "queue: cannot start the scan thread");
	}
	w->started = true;
	int64_t now = mm_mono_ms();
	mm_schedule_add(&d->sched, "queue",
			mm_config_duration_ms(d->conf, "queue", "scan_interval"), 0, now, on_job, w);
	request_scan(w); /* the first scan now, not a heartbeat later */
	if (d->http)
		evhttp_set_cb(d->http, "/api/queue", on_http, w);
	mm_log_info(&d->log, "queue: watching in %s mode", w->mode);
	return 0;
}

void mm_queuewatch_free(struct mm_daemon *d)
{
	struct mm_queuewatch *w = d->queue;
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->quit = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	if (d->http)
		evhttp_del_cb(d->http, "/api/queue");
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

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
 * Each queue's messages and oldest age are also published per instance
 * ([mta] config_directory and [queue] instances), labelled with the
 * instance's syslog_name (mm_mta_instance_name).
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
 *
 * This file: the scan thread, the hand-over to the loop, reload and the
 * module row. Beside it, behind the private queuewatch_impl.h:
 * queuewatch_api.c (/api/queue, in_effect) and queuewatch_metrics.c (the
 * registry families).
 * Ownership: struct mm_queuewatch is owned by the daemon (d->queue).
 */
#include "daemon/queuewatch.h"

#include <errno.h>
#include <event2/event.h>
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
#include "daemon/queuewatch_impl.h"
#include "metrics/registry.h"
#include "daemon/logwatch.h"
#include "logs/logpipe.h"
#include "mta/mta.h"
#include "mta/queue_summary.h"
#include "mta/queue_trend.h"

static void qparams_free(struct qparams *qp);

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

/* The backend's instance names into the summary (its per-instance
 * figures are indexed the same way). */
static void instance_names(const struct mm_mta *m, struct mm_qsummary *sum)
{
	size_t n = mm_mta_ninstances(m);
	sum->ninst = n < MM_MTA_MAX_INSTANCES ? n : MM_MTA_MAX_INSTANCES;
	for (size_t i = 0; i < sum->ninst; i++) {
		const char *name = mm_mta_instance_name(m, i);
		snprintf(sum->inst[i].name, sizeof sum->inst[i].name, "%s", name ? name : "");
	}
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
			instance_names(w->mta, sum);
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
static void queuewatch_free(struct mm_daemon *d);

static int queuewatch_init(struct mm_daemon *d, struct mm_err *err)
{
	const char *type = mm_config_get(d->conf, "mta", "type");
	if (!mm_config_bool(d->conf, "queue", "enable") || strcmp(type, "postfix") != 0) {
		/* Only Postfix has a queue reader so far; none (a Dovecot-only
		 * host), exim and msgsrv run without queue gauges. */
		if (d->httpd)
			mm_http_route(d, "/api/queue", mm_queuewatch_api_off, d);
		return 0;
	}
	struct mm_queuewatch *w = xcalloc(1, sizeof *w);
	w->d = d;
	d->queue = w;
	w->type = xstrdup(type);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (mm_queuewatch_metrics_add(w, err) < 0)
		return -1;
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
			mm_http_route(d, "/api/queue", mm_queuewatch_api, w);
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
		mm_http_route(d, "/api/queue", mm_queuewatch_api, w);
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
const struct mm_module mm_module_queue = {
	.name = "queue",
	.conf = {&mm_conf_table_mta, &mm_conf_table_queue},
	.init = queuewatch_init,
	.apply = queuewatch_apply,
	.in_effect = mm_queuewatch_in_effect,
	.free = queuewatch_free,
};

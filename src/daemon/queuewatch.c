/*
 * queuewatch: the daemon's queue gauges.
 *
 * Scans run in one worker thread so a slow queue (100,000 files, a stuck
 * postqueue) never stalls the event loop. The loop asks for a scan every
 * [queue] scan_interval; a request made while a scan runs is merged into
 * one follow-up scan (counted as "merged"). The worker owns the MTA
 * handle and its cache; after each scan it builds a struct mm_qsummary
 * (owned values, no pointers into the cache) and hands it to the loop
 * with the request it answers (core/bgwork.h: the thread, the wake-up and
 * the hand-over).
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

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/bgwork.h"
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

/* One scan request, from request_scan to scan_done: what the worker is
 * to do, and what it found. */
struct qjob {
	size_t top;
	struct qparams *reopen; /* open the backend with these first; the worker takes them */
	struct mm_qsummary *sum; /* NULL: the scan failed, see error */
	struct mm_stored_msg *stored; /* with sum, for the counters file */
	size_t nstored;
	char error[MM_ERR_MAX];
};

static void qjob_free(struct qjob *j)
{
	qparams_free(j->reopen);
	if (j->sum) {
		mm_qsummary_free(j->sum);
		free(j->sum);
	}
	free(j->stored);
	free(j);
}

/* On the worker: reopen the backend if asked, then scan. */
static void *scan_run(void *ctx, void *job)
{
	struct mm_queuewatch *w = ctx;
	struct qjob *j = job;
	struct mm_err err = {{0}};
	struct qparams *reopen = j->reopen;
	j->reopen = NULL;
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
	if (!err.msg[0] && mm_mta_scan(w->mta, MM_QMASK_ALL, &w->snap, &err) == 0) {
		j->sum = xcalloc(1, sizeof *j->sum);
		mm_qsummary_build(&w->snap, j->top, j->sum);
		instance_names(w->mta, j->sum);
		j->stored = stored_msgs(&w->snap);
		j->nstored = w->snap.n;
	} else {
		memcpy(j->error, err.msg, sizeof j->error);
	}
	return j;
}

/* Loop side: take the worker's result. */
static void scan_done(void *ctx, void *job, void *result)
{
	struct mm_queuewatch *w = ctx;
	struct qjob *j = job;
	struct mm_qsummary *sum = j->sum;
	j->sum = NULL;
	if (!sum) {
		w->failures++;
		if (strcmp(j->error, w->last_error) != 0)
			mm_log_err(&w->d->log, "queue scan: %s", j->error);
		memcpy(w->last_error, j->error, sizeof w->last_error);
		qjob_free(j);
		return;
	}
	struct mm_logpipe *lp = mm_logwatch_logpipe(w->d);
	if (lp)
		mm_logpipe_set_stored(lp, j->stored, j->nstored, sum->taken_s);
	qjob_free(j);
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

/* stop: a request never run or a result never taken. */
static void scan_drop(void *ctx, void *job, void *result)
{
	qjob_free(job);
}

static const struct mm_bgwork_ops scan_ops = {
	.run = scan_run,
	.done = scan_done,
	.drop = scan_drop,
	.what = "queue scan",
};

/* Asks the worker for a scan, with the backend reopened first when
 * reopen is not NULL (taken). A request made while one waits or a scan
 * runs is merged into one follow-up scan: the waiting request is taken
 * back and its reopen kept unless this one brings newer parameters. */
static void request_scan(struct mm_queuewatch *w, struct qparams *reopen)
{
	struct qjob *j = mm_bgwork_withdraw(w->bg);
	if (j || mm_bgwork_running(w->bg))
		w->merged++;
	if (!j)
		j = xcalloc(1, sizeof *j);
	w->top = (size_t)mm_config_int(w->d->conf, "queue", "top_destinations");
	j->top = w->top;
	if (reopen) {
		qparams_free(j->reopen);
		j->reopen = reopen;
	}
	mm_bgwork_post(w->bg, j); /* cannot be refused: nothing waits now */
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
	request_scan(w, NULL);
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
		if (d->httpd)
			mm_http_route(d, "/api/queue", mm_queuewatch_api, w);
		return 0;
	}
	w->mta = mta;
	snprintf(w->mode, sizeof w->mode, "%s", mm_mta_mode(mta));
	w->bg = mm_bgwork_start(d->base, &scan_ops, w, err);
	if (!w->bg) {
		queuewatch_free(d);
		return -1;
	}
	int64_t now = mm_mono_ms();
	mm_schedule_add(&d->sched, "queue",
			mm_config_duration_ms(d->conf, "queue", "scan_interval"), 0, now, on_job, w);
	request_scan(w, NULL); /* the first scan now, not a heartbeat later */
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
	mm_bgwork_stop(w->bg); /* waits for the scan under way */
	if (d->httpd)
		mm_http_unroute(d, "/api/queue");
	mm_qsnap_free(&w->snap);
	mm_mta_close(w->mta);
	qparams_free(w->in_use);
	free(w->sig);
	free(w->type);
	if (w->have_cur)
		mm_qsummary_free(&w->cur);
	pthread_mutex_destroy(&w->mu);
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
	mm_log_notice(&d->log, "queue: [mta]/[queue] settings changed; the next scan reopens the MTA");
	request_scan(w, qp);
}
const struct mm_module mm_module_queue = {
	.name = "queue",
	.conf = {&mm_conf_table_mta, &mm_conf_table_queue},
	.init = queuewatch_init,
	.apply = queuewatch_apply,
	.in_effect = mm_queuewatch_in_effect,
	.free = queuewatch_free,
};

/*
 * queuewatch_impl: the queue module's private state, shared by
 * queuewatch.c (the scan thread, hand-over, reload, the module row),
 * queuewatch_api.c (GET /api/queue and the in_effect hook) and
 * queuewatch_metrics.c (the registry families). Nothing else includes it.
 *
 * Threads: the scan thread and the hand-over of each scan are core/bgwork.h.
 * Fields under "guarded by mu" are written by the worker when it reopens
 * the backend and read under w->mu; "worker only" ones are never touched
 * by the loop while the worker runs; "loop thread only" fields, which the
 * readers use, are never touched by the worker. Ownership: struct
 * mm_queuewatch (d->queue) owns the parameters, the published summary and
 * the trend ring; the worker owns the MTA handle and its snapshot.
 */
#ifndef MAILMON_DAEMON_QUEUEWATCH_IMPL_H
#define MAILMON_DAEMON_QUEUEWATCH_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "mta/mta.h"
#include "mta/queue_summary.h"
#include "mta/queue_trend.h"

struct evhttp_request;
struct mm_bgwork;
struct mm_daemon;
struct mm_metric;
struct mm_stored_msg;

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

struct mm_queuewatch {
	struct mm_daemon *d;
	struct mm_metric *f[24]; /* registry families, see defs[] */
	char *type;		 /* the [mta] type, fixed at init */

	struct mm_bgwork *bg; /* the scan thread; NULL when the backend never opened */
	/* worker only, after init */
	struct mm_mta *mta;
	struct mm_qsnap snap; /* the last scan's, reused by the next */

	pthread_mutex_t mu;
	/* guarded by mu */
	char mode[16];
	struct qparams *in_use; /* those of the open backend */

	/* loop thread only */
	size_t top;	  /* [queue] top_destinations of the last request */
	uint64_t merged;  /* requests made while a scan waited or ran */
	char *sig;	  /* of the parameters in use */
	bool open_failed; /* the backend never opened: no worker */
	struct mm_qsummary cur;
	bool have_cur;
	struct mm_qtrend trend;
	uint64_t scans, failures, requests;
	char last_error[MM_ERR_MAX];
	int64_t last_ok_wall_ms;
	int64_t max_duration_us;
};

/* queuewatch_api.c: GET /api/queue; arg is the struct mm_queuewatch. */
void mm_queuewatch_api(struct evhttp_request *req, void *arg);
/* queuewatch_api.c: GET /api/queue when no queue is watched; arg is the
 * struct mm_daemon. */
void mm_queuewatch_api_off(struct evhttp_request *req, void *arg);
/* queuewatch_api.c: the module's in_effect hook (module.h). */
void mm_queuewatch_in_effect(struct mm_daemon *d, json_t *out);

/* queuewatch_metrics.c: registers the families in d->metrics and the
 * collector reading w; 0, or -1 with err set. The caller removes the
 * collector (mm_registry_remove_collector) before freeing w. */
int mm_queuewatch_metrics_add(struct mm_queuewatch *w, struct mm_err *err);

#endif

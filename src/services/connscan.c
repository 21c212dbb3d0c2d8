/* connscan: see connscan.h. The thread and the hand-over are core/bgwork;
 * this file is the scan job and the table swap. */
#include "services/connscan.h"

#include <stdlib.h>

#include "core/bgwork.h"
#include "core/strutil.h"
#include "core/xalloc.h"

struct mm_connscan {
	struct mm_conntable front; /* the caller's, between done calls */
	struct mm_conntable back;  /* the worker's, while a scan runs */
	struct mm_bgwork *bg;
	/* The one job, posted only when none is pending; the worker owns it
	 * (and back) from the post until scan_done. */
	struct {
		bool ok;       /* the finished scan's result */
		char why[256]; /* and its error */
	} job;
	mm_connscan_done done;
	void *arg;
};

/* On the worker: scan into the back table. */
static void *scan_run(void *ctx, void *job)
{
	struct mm_connscan *w = ctx;
	struct mm_err err = {{0}};
	w->job.ok = mm_conntable_scan(&w->back, "/proc", false, &err) == 0;
	mm_strlcpy(w->job.why, w->job.ok ? "" : err.msg, sizeof w->job.why);
	return job;
}

/* On the loop: a scan finished. Swap the tables (the worker is idle until
 * the next request) and hand the fresh one over. */
static void scan_done(void *ctx, void *job, void *result)
{
	struct mm_connscan *w = ctx;
	if (w->job.ok) {
		struct mm_conntable t = w->front;
		w->front = w->back;
		w->back = t;
	}
	w->done(w->arg, &w->front, w->job.ok, w->job.why);
}

static const struct mm_bgwork_ops scan_ops = {
	.run = scan_run,
	.done = scan_done,
	.what = "connection table",
};

struct mm_connscan *mm_connscan_new(struct event_base *base, const uint16_t *ports, size_t n,
				    mm_connscan_done done, void *arg, struct mm_err *err)
{
	struct mm_connscan *w = xcalloc(1, sizeof *w);
	mm_conntable_init(&w->front, ports, n);
	mm_conntable_init(&w->back, ports, n);
	w->done = done;
	w->arg = arg;
	w->bg = mm_bgwork_start(base, &scan_ops, w, err);
	if (!w->bg) {
		mm_connscan_free(w);
		return NULL;
	}
	return w;
}

void mm_connscan_request(struct mm_connscan *w)
{
	/* Not while a scan is asked for, runs, or waits to be taken. */
	if (mm_bgwork_pending(w->bg) == 0)
		mm_bgwork_post(w->bg, &w->job);
}

void mm_connscan_free(struct mm_connscan *w)
{
	if (!w)
		return;
	mm_bgwork_stop(w->bg); /* waits for a running scan */
	mm_conntable_free(&w->front);
	mm_conntable_free(&w->back);
	free(w);
}

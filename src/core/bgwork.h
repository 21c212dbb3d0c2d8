/*
 * bgwork: one worker thread that runs jobs off the event loop and hands
 * each result back on the loop. It is the shape every slow scan of the
 * daemon shares (the connection table, the queue, the baseline's history
 * read): the loop posts a job, the worker runs it, a byte on a pipe wakes
 * the loop, and the loop takes the result.
 *
 * At most one job waits and at most one is in flight (running, or
 * finished with its done not yet returned). The worker starts a waiting
 * job only after the previous job's done has returned, so a job may
 * write into memory that done reads or swaps (two tables swapped on the
 * loop, say) without a lock.
 *
 *   mm_bgwork_start(base, ops, ctx, err)
 *       starts the thread; NULL with err when the pipe, the event or the
 *       thread cannot be made.
 *   mm_bgwork_post(w, job)
 *       job (not NULL) waits for the worker. false when a job already
 *       waits: the caller keeps job.
 *   mm_bgwork_withdraw(w)
 *       takes back the job that waits and has not started (NULL: none),
 *       so that a caller can merge it into a fresh request.
 *   mm_bgwork_running(w)
 *       a job runs on the worker now.
 *   mm_bgwork_pending(w)
 *       jobs posted whose done has not run yet (0, 1 or 2).
 *   mm_bgwork_stop(w)
 *       waits for the job that runs (it is not interrupted), passes every
 *       job not delivered to ops->drop, joins the thread and frees w.
 *       NULL is a no-op.
 *
 * Threads: ops->run runs on the worker; ops->done, ops->drop and every
 * mm_bgwork_* call on the loop thread (the one that runs base). done may
 * post again; it must not stop w.
 *
 * Ownership: from post until done, a job is the worker's and the caller
 * must not touch it. done(ctx, job, result) gets both back and owns them
 * (result is what run returned, NULL allowed). stop gives each job that
 * never reached done to drop(ctx, job, result) (result NULL when it never
 * ran); drop NULL means the jobs own nothing. ctx is borrowed and must
 * outlive stop. bgwork owns its thread, pipe and event.
 *
 * Errors: only start fails. A job's own failure is part of its result.
 */
#ifndef MAILMON_CORE_BGWORK_H
#define MAILMON_CORE_BGWORK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct event_base;
struct mm_bgwork;

struct mm_bgwork_ops {
	/* Worker thread: does the job, returns its result. */
	void *(*run)(void *ctx, void *job);
	/* Loop thread: the job is done; job and result are the caller's again. */
	void (*done)(void *ctx, void *job, void *result);
	/* Loop thread, from stop: frees a job done never got; may be NULL. */
	void (*drop)(void *ctx, void *job, void *result);
	/* Names the worker in start's errors: "queue scan". */
	const char *what;
};

struct mm_bgwork *mm_bgwork_start(struct event_base *base, const struct mm_bgwork_ops *ops,
				  void *ctx, struct mm_err *err);
bool mm_bgwork_post(struct mm_bgwork *w, void *job);
void *mm_bgwork_withdraw(struct mm_bgwork *w);
bool mm_bgwork_running(struct mm_bgwork *w);
size_t mm_bgwork_pending(const struct mm_bgwork *w);
void mm_bgwork_stop(struct mm_bgwork *w);

#endif

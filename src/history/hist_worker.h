/*
 * hist_worker: the history's own thread. The event loop never touches
 * SQLite: it hands over batches (mm_hist_worker_submit) and queries
 * (mm_hist_worker_query), and the worker writes, expires and reads.
 *
 * Finished queries wait in a done list; the worker then makes
 * mm_hist_worker_fd() readable (an eventfd). The loop watches that fd and
 * calls mm_hist_worker_complete(), which runs each query's callback on the
 * loop thread. So callbacks may use the loop's objects (reply to an HTTP
 * request) without locks.
 *
 * Bounds: at most MM_HIST_QUEUE_MAX batches wait; past that the oldest
 * is dropped and counted (a stalled disk never grows memory). Queries
 * wait at most MM_HIST_QUERY_MAX deep; past that one is refused at once.
 * Maintenance (expiry, size bound) runs every maintain_s seconds.
 *
 * Ownership: submit takes the batch's contents (the caller's batch is
 * left empty); query takes the selector. The result passed to a callback
 * belongs to the worker and is freed after the callback returns.
 * mm_hist_worker_stop() finishes the writes that wait, answers pending
 * queries with an error (their callbacks run inside stop), joins the
 * thread and frees everything.
 */
#ifndef MAILMON_HISTORY_HIST_WORKER_H
#define MAILMON_HISTORY_HIST_WORKER_H

#include "history/hist_batch.h"
#include "history/hist_store.h"

#define MM_HIST_QUEUE_MAX 32
#define MM_HIST_QUERY_MAX 16

struct mm_hist_worker;

/* r is NULL when the query failed; error then says why. */
typedef void mm_hist_done_fn(void *arg, const struct mm_hist_result *r, const char *error);

struct mm_hist_worker_stats {
	struct mm_hist_status store;
	uint64_t batches_queued_dropped; /* dropped because the queue was full */
	uint64_t queries;
	int64_t last_write_us;		  /* how long the last batch took */
	int64_t last_query_us;
};

struct mm_hist_worker *mm_hist_worker_start(const char *path, uint64_t max_bytes,
					    int64_t maintain_s, struct mm_err *err);
void mm_hist_worker_submit(struct mm_hist_worker *w, struct mm_hist_batch *b);
/* 0, or -1 when the query queue is full (fn is not called then). */
int mm_hist_worker_query(struct mm_hist_worker *w, struct mm_selector *sel, int64_t from,
			 int64_t to, int64_t step, mm_hist_done_fn *fn, void *arg);
int mm_hist_worker_fd(const struct mm_hist_worker *w);
void mm_hist_worker_complete(struct mm_hist_worker *w);
void mm_hist_worker_set_max_bytes(struct mm_hist_worker *w, uint64_t max_bytes);
/* Blocks until the batches submitted so far are written (tests, stop). */
void mm_hist_worker_flush(struct mm_hist_worker *w);
void mm_hist_worker_stats(struct mm_hist_worker *w, struct mm_hist_worker_stats *out);
void mm_hist_worker_stop(struct mm_hist_worker *w);

#endif

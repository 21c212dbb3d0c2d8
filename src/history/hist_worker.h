/*
 * hist_worker: the history's writer thread. The event loop never writes
 * to SQLite: it hands over batches (mm_hist_worker_submit) and the worker
 * opens, writes, expires, bounds and recovers the database. (Queries read
 * through their own read-only connection: hist_store.h.)
 *
 * Bounds: at most MM_HIST_QUEUE_MAX batches wait; past that the oldest
 * is dropped and counted (a stalled disk never grows memory).
 * Maintenance (expiry, size bound) runs every maintain_s seconds.
 *
 * Ownership: submit takes the batch's contents (the caller's batch is
 * left empty). mm_hist_worker_stop() finishes the writes that wait, joins
 * the thread and frees everything.
 */
#ifndef MAILMON_HISTORY_HIST_WORKER_H
#define MAILMON_HISTORY_HIST_WORKER_H

#include "history/hist_batch.h"
#include "history/hist_store.h"

#define MM_HIST_QUEUE_MAX 32

struct mm_hist_worker;

struct mm_hist_worker_stats {
	struct mm_hist_status store;
	uint64_t batches_queued_dropped; /* dropped because the queue was full */
	int64_t last_write_us;		  /* how long the last batch took */
};

struct mm_hist_worker *mm_hist_worker_start(const char *path, uint64_t max_bytes,
					    int64_t maintain_s, struct mm_err *err);
void mm_hist_worker_submit(struct mm_hist_worker *w, struct mm_hist_batch *b);
void mm_hist_worker_set_max_bytes(struct mm_hist_worker *w, uint64_t max_bytes);
/* Blocks until the batches submitted so far are written (tests, stop). */
void mm_hist_worker_flush(struct mm_hist_worker *w);
void mm_hist_worker_stats(struct mm_hist_worker *w, struct mm_hist_worker_stats *out);
void mm_hist_worker_stop(struct mm_hist_worker *w);

#endif

/*
 * hist_worker: the history writer thread (see hist_worker.h). One mutex
 * guards the batch queue and the published stats; the writing connection
 * is used by the worker thread only (opened there too).
 */
#include "history/hist_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/xalloc.h"

struct mm_hist_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, idle;
	bool stop, busy;

	char *path;
	uint64_t max_bytes;
	bool max_changed;
	int64_t maintain_s;
	struct mm_hist_store *store; /* worker thread only */

	struct mm_hist_batch batches[MM_HIST_QUEUE_MAX];
	size_t nbatches;

	struct mm_hist_worker_stats stats;
};

static void publish(struct mm_hist_worker *w)
{
	struct mm_hist_status st;
	mm_hist_status(w->store, &st);
	pthread_mutex_lock(&w->mu);
	w->stats.store = st;
	w->stats.store.max_bytes = w->max_bytes; /* a newer bound may be on its way */
	pthread_mutex_unlock(&w->mu);
}

static void write_one(struct mm_hist_worker *w, struct mm_hist_batch *b)
{
	struct mm_err e;
	int64_t t0 = mm_mono_us();
	mm_hist_write(w->store, b->t, b->s, b->n, &e); /* failures are in the status */
	int64_t dt = mm_mono_us() - t0;
	mm_hist_batch_free(b);
	publish(w);
	pthread_mutex_lock(&w->mu);
	w->stats.last_write_us = dt;
	pthread_mutex_unlock(&w->mu);
}

static void *worker_main(void *arg)
{
	struct mm_hist_worker *w = arg;
	struct mm_err e;
	w->store = mm_hist_open(w->path, w->max_bytes, &e);
	publish(w);
	int64_t next_maintain = 0;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		if (w->max_changed) {
			w->max_changed = false;
			mm_hist_set_max_bytes(w->store, w->max_bytes);
			next_maintain = 0;
		}
		if (w->nbatches) {
			struct mm_hist_batch b = w->batches[0];
			memmove(&w->batches[0], &w->batches[1],
				(w->nbatches - 1) * sizeof w->batches[0]);
			w->nbatches--;
			w->busy = true;
			pthread_mutex_unlock(&w->mu);
			write_one(w, &b);
			pthread_mutex_lock(&w->mu);
			w->busy = false;
			pthread_cond_broadcast(&w->idle);
			continue;
		}
		if (w->stop)
			break;
		int64_t now = (int64_t)time(NULL);
		if (now >= next_maintain) {
			next_maintain = now + w->maintain_s;
			pthread_mutex_unlock(&w->mu);
			mm_hist_maintain(w->store, now, &e); /* errors show in the status */
			publish(w);
			pthread_mutex_lock(&w->mu);
			continue;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += next_maintain - now;
		pthread_cond_timedwait(&w->work, &w->mu, &until);
	}
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct mm_hist_worker *mm_hist_worker_start(const char *path, uint64_t max_bytes,
					    int64_t maintain_s, struct mm_err *err)
{
	struct mm_hist_worker *w = xcalloc(1, sizeof *w);
	w->path = xstrdup(path);
	w->max_bytes = max_bytes;
	w->stats.store.max_bytes = max_bytes;
	w->maintain_s = maintain_s > 0 ? maintain_s : 600;
	snprintf(w->stats.store.path, sizeof w->stats.store.path, "%s", path);
	snprintf(w->stats.store.state, sizeof w->stats.store.state, "starting");
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->idle, NULL);
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0) {
		mm_err_sys(err, rc, "history: cannot start its thread");
		free(w->path);
		free(w);
		return NULL;
	}
	return w;
}

void mm_hist_worker_submit(struct mm_hist_worker *w, struct mm_hist_batch *b)
{
	struct mm_hist_batch old = {0};
	pthread_mutex_lock(&w->mu);
	if (w->nbatches == MM_HIST_QUEUE_MAX) {
		old = w->batches[0];
		memmove(&w->batches[0], &w->batches[1], (w->nbatches - 1) * sizeof w->batches[0]);
		w->nbatches--;
		w->stats.batches_queued_dropped++;
	}
	w->batches[w->nbatches++] = *b;
	memset(b, 0, sizeof *b);
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	mm_hist_batch_free(&old);
}

void mm_hist_worker_set_max_bytes(struct mm_hist_worker *w, uint64_t max_bytes)
{
	pthread_mutex_lock(&w->mu);
	w->max_bytes = max_bytes;
	w->stats.store.max_bytes = max_bytes; /* what the worker holds from now */
	w->max_changed = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
}

void mm_hist_worker_flush(struct mm_hist_worker *w)
{
	pthread_mutex_lock(&w->mu);
	while ((w->nbatches || w->busy) && !w->stop)
		pthread_cond_wait(&w->idle, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void mm_hist_worker_stats(struct mm_hist_worker *w, struct mm_hist_worker_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->stats;
	pthread_mutex_unlock(&w->mu);
}

void mm_hist_worker_stop(struct mm_hist_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	mm_hist_close(w->store);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->idle);
	free(w->path);
	free(w);
}

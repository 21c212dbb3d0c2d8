/*
 * bgwork: see bgwork.h. One mutex guards the hand-over slots and the flags
 * the worker reads; the pipe only wakes the loop (one byte per finished
 * job, and a job finishes only after the last result was taken, so the
 * pipe is never full).
 */
#include "core/bgwork.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/xalloc.h"

struct mm_bgwork {
	struct mm_bgwork_ops ops;
	void *ctx;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu: */
	void *waiting;	       /* posted, not started */
	bool running;	       /* a job is in run() */
	void *finished;	       /* run returned, done not called yet */
	void *result;	       /* what run returned for finished */
	bool quit;
	/* Loop thread only: */
	size_t pending; /* posted, done not called yet */
	int pipefd[2];
	struct event *ev;
};

static void *worker(void *arg)
{
	struct mm_bgwork *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->quit && !(w->waiting && !w->finished))
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit)
			break;
		void *job = w->waiting;
		w->waiting = NULL;
		w->running = true;
		pthread_mutex_unlock(&w->mu);
		void *res = w->ops.run(w->ctx, job);
		pthread_mutex_lock(&w->mu);
		w->running = false;
		w->finished = job;
		w->result = res;
		ssize_t n;
		do
			n = write(w->pipefd[1], "", 1);
		while (n < 0 && errno == EINTR);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* On the loop: a job finished. Hand the result over, then let the worker
 * go on with the next job: the slot stays taken until done returns, so
 * what done does with memory the next job writes is finished first. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct mm_bgwork *w = arg;
	char buf[16];
	while (read(fd, buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&w->mu);
	void *job = w->finished, *res = w->result;
	pthread_mutex_unlock(&w->mu);
	if (!job)
		return;
	w->pending--;
	w->ops.done(w->ctx, job, res);
	pthread_mutex_lock(&w->mu);
	w->finished = w->result = NULL;
	if (w->waiting)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

struct mm_bgwork *mm_bgwork_start(struct event_base *base, const struct mm_bgwork_ops *ops,
				  void *ctx, struct mm_err *err)
{
	struct mm_bgwork *w = xcalloc(1, sizeof *w);
	w->ops = *ops;
	w->ctx = ctx;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->pipefd[0] = w->pipefd[1] = -1;
	if (pipe2(w->pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		mm_err_sys(err, errno, "%s: pipe", ops->what);
		mm_bgwork_stop(w);
		return NULL;
	}
	w->ev = event_new(base, w->pipefd[0], EV_READ | EV_PERSIST, on_wake, w);
	if (!w->ev || event_add(w->ev, NULL) < 0) {
		mm_err_set(err, "%s: cannot watch the worker's pipe", ops->what);
		mm_bgwork_stop(w);
		return NULL;
	}
	int rc = pthread_create(&w->thread, NULL, worker, w);
	if (rc != 0) {
		mm_err_sys(err, rc, "%s: cannot start its thread", ops->what);
		mm_bgwork_stop(w);
		return NULL;
	}
	w->started = true;
	return w;
}

bool mm_bgwork_post(struct mm_bgwork *w, void *job)
{
	pthread_mutex_lock(&w->mu);
	bool ok = !w->waiting && job;
	if (ok) {
		w->waiting = job;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	if (ok)
		w->pending++;
	return ok;
}

void *mm_bgwork_withdraw(struct mm_bgwork *w)
{
	pthread_mutex_lock(&w->mu);
	void *job = w->waiting;
	w->waiting = NULL;
	pthread_mutex_unlock(&w->mu);
	if (job)
		w->pending--;
	return job;
}

bool mm_bgwork_running(struct mm_bgwork *w)
{
	pthread_mutex_lock(&w->mu);
	bool r = w->running;
	pthread_mutex_unlock(&w->mu);
	return r;
}

size_t mm_bgwork_pending(const struct mm_bgwork *w)
{
	return w->pending;
}

void mm_bgwork_stop(struct mm_bgwork *w)
{
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->quit = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL); /* after the job that runs */
	}
	if (w->ops.drop) {
		if (w->finished)
			w->ops.drop(w->ctx, w->finished, w->result);
		if (w->waiting)
			w->ops.drop(w->ctx, w->waiting, NULL);
	}
	if (w->ev)
		event_free(w->ev);
	for (int i = 0; i < 2; i++)
		if (w->pipefd[i] >= 0)
			close(w->pipefd[i]);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

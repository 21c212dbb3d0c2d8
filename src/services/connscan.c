/* connscan: see connscan.h. */
#include "services/connscan.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/strutil.h"
#include "core/xalloc.h"

struct mm_connscan {
	struct mm_conntable front; /* the caller's, between done calls */
	struct mm_conntable back;  /* the worker's, while a scan runs */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu: */
	bool want;     /* a scan asked for, not begun */
	bool busy;     /* asked for, running, or finished and not yet taken */
	bool quit;
	bool ok;       /* the finished scan's result */
	char why[256]; /* and its error */

	int pipefd[2]; /* worker -> loop: a scan finished */
	struct event *ev;
	mm_connscan_done done;
	void *arg;
};

static void *worker(void *arg)
{
	struct mm_connscan *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->want && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit)
			break;
		w->want = false;
		pthread_mutex_unlock(&w->mu);
		struct mm_err err = {{0}};
		bool ok = mm_conntable_scan(&w->back, "/proc", false, &err) == 0;
		pthread_mutex_lock(&w->mu);
		w->ok = ok;
		mm_strlcpy(w->why, ok ? "" : err.msg, sizeof w->why);
		/* One byte per scan, and a scan starts only after the last one
		 * was taken: the pipe cannot be full. */
		ssize_t n;
		do
			n = write(w->pipefd[1], "", 1);
		while (n < 0 && errno == EINTR);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* On the loop: a scan finished. Swap the tables (the worker is idle until
 * the next request) and hand the fresh one over. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct mm_connscan *w = arg;
	char buf[16];
	while (read(fd, buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&w->mu);
	if (!w->busy || w->want) {
		pthread_mutex_unlock(&w->mu);
		return;
	}
	bool ok = w->ok;
	char why[sizeof w->why];
	memcpy(why, w->why, sizeof why);
	if (ok) {
		struct mm_conntable t = w->front;
		w->front = w->back;
		w->back = t;
	}
	w->busy = false;
	pthread_mutex_unlock(&w->mu);
	w->done(w->arg, &w->front, ok, why);
}

struct mm_connscan *mm_connscan_new(struct event_base *base, const uint16_t *ports, size_t n,
				    mm_connscan_done done, void *arg, struct mm_err *err)
{
	struct mm_connscan *w = xcalloc(1, sizeof *w);
	mm_conntable_init(&w->front, ports, n);
	mm_conntable_init(&w->back, ports, n);
	w->done = done;
	w->arg = arg;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->pipefd[0] = w->pipefd[1] = -1;
	if (pipe2(w->pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		mm_err_sys(err, errno, "connection table: pipe");
		mm_connscan_free(w);
		return NULL;
	}
	w->ev = event_new(base, w->pipefd[0], EV_READ | EV_PERSIST, on_done, w);
	if (!w->ev || event_add(w->ev, NULL) < 0) {
		mm_err_set(err, "connection table: cannot watch the scan thread's pipe");
		mm_connscan_free(w);
		return NULL;
	}
	int rc = pthread_create(&w->thread, NULL, worker, w);
	if (rc != 0) {
		mm_err_sys(err, rc, "connection table: cannot start the scan thread");
		mm_connscan_free(w);
		return NULL;
	}
	w->started = true;
	return w;
}

void mm_connscan_request(struct mm_connscan *w)
{
	pthread_mutex_lock(&w->mu);
	if (!w->busy) {
		w->busy = w->want = true;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
}

void mm_connscan_free(struct mm_connscan *w)
{
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->quit = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	if (w->ev)
		event_free(w->ev);
	for (int i = 0; i < 2; i++)
		if (w->pipefd[i] >= 0)
			close(w->pipefd[i]);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	mm_conntable_free(&w->front);
	mm_conntable_free(&w->back);
	free(w);
}

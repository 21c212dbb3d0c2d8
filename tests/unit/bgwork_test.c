/* bgwork_test: jobs run on the worker thread and come back on the loop;
 * a second post waits (and is refused while one waits, withdrawn on
 * request); the next job starts only after the loop took the last result;
 * stop while a job runs waits for it and gives every undelivered job to
 * drop, never to done (ASan checks nothing leaks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>
#include <event2/event.h>

#include "core/bgwork.h"
#include "core/clock.h"

struct job {
	int n;
	pthread_t ran_on;
	bool saw_prev_done; /* when it started: the job before had reached done */
};

struct fx {
	struct event_base *base;
	pthread_t loop_thread;
	/* the gate run waits on, opened by the test */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool gate_open;
	atomic_int started, finished; /* run calls begun and returned */
	atomic_int done_calls;	      /* as seen by the next run */
	int dropped, dropped_with_result;
	struct job *got[8];
	int *results[8];
	int ngot;
};

static void *run(void *ctx, void *jobp)
{
	struct fx *f = ctx;
	struct job *j = jobp;
	j->ran_on = pthread_self();
	j->saw_prev_done = atomic_load(&f->done_calls) == atomic_load(&f->started);
	atomic_fetch_add(&f->started, 1);
	pthread_mutex_lock(&f->mu);
	while (!f->gate_open)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
	int *res = malloc(sizeof *res);
	*res = j->n * 10;
	atomic_fetch_add(&f->finished, 1);
	return res;
}

static void done(void *ctx, void *job, void *result)
{
	struct fx *f = ctx;
	assert_true(pthread_equal(pthread_self(), f->loop_thread));
	assert_true(f->ngot < 8);
	f->got[f->ngot] = job;
	f->results[f->ngot] = result;
	f->ngot++;
	atomic_fetch_add(&f->done_calls, 1);
}

static void drop(void *ctx, void *job, void *result)
{
	struct fx *f = ctx;
	f->dropped++;
	if (result)
		f->dropped_with_result++;
	free(result);
	free(job);
}

static const struct mm_bgwork_ops ops = {run, done, drop, "test work"};

static void open_gate(struct fx *f)
{
	pthread_mutex_lock(&f->mu);
	f->gate_open = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->base = event_base_new();
	f->loop_thread = pthread_self();
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	for (int i = 0; i < f->ngot; i++) {
		free(f->got[i]);
		free(f->results[i]);
	}
	event_base_free(f->base);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
	return 0;
}

static struct job *new_job(int n)
{
	struct job *j = calloc(1, sizeof *j);
	j->n = n;
	return j;
}

/* Runs the loop until done was called want times (10 s at most). */
static void loop_until(struct fx *f, int want)
{
	int64_t end = mm_mono_ms() + 10000;
	while (f->ngot < want && mm_mono_ms() < end) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	assert_int_equal(f->ngot, want);
}

static void wait_started(struct fx *f, int want)
{
	int64_t end = mm_mono_ms() + 10000;
	while (atomic_load(&f->started) < want && mm_mono_ms() < end)
		usleep(1000);
	assert_int_equal(atomic_load(&f->started), want);
}

static void wait_finished(struct fx *f, int want)
{
	int64_t end = mm_mono_ms() + 10000;
	while (atomic_load(&f->finished) < want && mm_mono_ms() < end)
		usleep(1000);
	assert_int_equal(atomic_load(&f->finished), want);
}

static struct mm_bgwork *start(struct fx *f)
{
	struct mm_err err = {{0}};
	struct mm_bgwork *w = mm_bgwork_start(f->base, &ops, f, &err);
	assert_non_null(w);
	return w;
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct mm_bgwork *w = start(f);
	open_gate(f);
	assert_int_equal(mm_bgwork_pending(w), 0);
	assert_true(mm_bgwork_post(w, new_job(4)));
	assert_int_equal(mm_bgwork_pending(w), 1);
	loop_until(f, 1);
	assert_int_equal(mm_bgwork_pending(w), 0);
	assert_int_equal(f->got[0]->n, 4);
	assert_int_equal(*f->results[0], 40);
	assert_false(pthread_equal(f->got[0]->ran_on, f->loop_thread));
	/* The same worker takes the next job. */
	assert_true(mm_bgwork_post(w, new_job(5)));
	loop_until(f, 2);
	assert_int_equal(*f->results[1], 50);
	assert_true(pthread_equal(f->got[0]->ran_on, f->got[1]->ran_on));
	mm_bgwork_stop(w);
	assert_int_equal(f->dropped, 0);
}

/* One job waits at most; a waiting job can be taken back; the next job
 * starts only once the loop has taken the last result. */
static void test_one_waits_and_order(void **state)
{
	struct fx *f = *state;
	struct mm_bgwork *w = start(f);
	assert_true(mm_bgwork_post(w, new_job(1)));
	wait_started(f, 1);
	assert_true(mm_bgwork_running(w));
	struct job *b = new_job(2);
	assert_true(mm_bgwork_post(w, b));
	struct job *c = new_job(3);
	assert_false(mm_bgwork_post(w, c)); /* b waits: c stays the caller's */
	assert_int_equal(mm_bgwork_pending(w), 2);
	assert_ptr_equal(mm_bgwork_withdraw(w), b);
	assert_null(mm_bgwork_withdraw(w));
	assert_int_equal(mm_bgwork_pending(w), 1);
	free(b);
	assert_true(mm_bgwork_post(w, c));
	/* Job 1 finishes, but the loop does not run: c must not start. */
	open_gate(f);
	wait_finished(f, 1);
	usleep(50 * 1000);
	assert_int_equal(atomic_load(&f->started), 1);
	assert_false(mm_bgwork_running(w));
	loop_until(f, 2);
	assert_int_equal(f->got[0]->n, 1);
	assert_int_equal(f->got[1]->n, 3);
	assert_true(f->got[1]->saw_prev_done);
	mm_bgwork_stop(w);
	assert_int_equal(f->dropped, 0);
}

struct opener {
	struct fx *f;
	int delay_ms;
};

static void *open_later(void *arg)
{
	struct opener *o = arg;
	usleep((useconds_t)o->delay_ms * 1000);
	open_gate(o->f);
	return NULL;
}

/* stop while a job runs: it waits for the job, never calls done, and
 * drops both the finished job (with its result) and the waiting one. */
static void test_stop_while_running(void **state)
{
	struct fx *f = *state;
	struct mm_bgwork *w = start(f);
	assert_true(mm_bgwork_post(w, new_job(1)));
	wait_started(f, 1);
	assert_true(mm_bgwork_post(w, new_job(2)));
	struct opener o = {f, 200};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, open_later, &o), 0);
	int64_t t0 = mm_mono_ms();
	mm_bgwork_stop(w);
	int64_t took = mm_mono_ms() - t0;
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&f->finished), 1); /* the job ran to its end */
	assert_int_equal(atomic_load(&f->started), 1);	/* the waiting one never ran */
	assert_true(took >= 150);			/* stop waited for it */
	assert_int_equal(f->ngot, 0);
	assert_int_equal(f->dropped, 2);
	assert_int_equal(f->dropped_with_result, 1);
}

/* stop with nothing posted, and with a result the loop never took. */
static void test_stop_idle_and_untaken(void **state)
{
	struct fx *f = *state;
	mm_bgwork_stop(NULL);
	struct mm_bgwork *w = start(f);
	mm_bgwork_stop(w);
	assert_int_equal(f->dropped, 0);
	w = start(f);
	open_gate(f);
	assert_true(mm_bgwork_post(w, new_job(7)));
	wait_finished(f, 1);
	mm_bgwork_stop(w);
	assert_int_equal(f->ngot, 0);
	assert_int_equal(f->dropped, 1);
	assert_int_equal(f->dropped_with_result, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_waits_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_while_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_idle_and_untaken, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

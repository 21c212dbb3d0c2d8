/* bl_points_test: a history answer summed into one figure per bucket,
 * and the current rate of a counter over a window (cluster/bl_points.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cluster/bl_points.h"

static void test_sum_gauges(void **state)
{
	/* two queues; the second lacks the bucket at 600 */
	struct mm_hist_point a[] = {{.t = 0, .avg = 1}, {.t = 300, .avg = 2}, {.t = 600, .avg = 3}};
	struct mm_hist_point d[] = {{.t = 300, .avg = 10}, {.t = 0, .avg = 20}};
	struct mm_hist_series s[] = {{.pts = a, .npts = 3}, {.pts = d, .npts = 2}};
	struct mm_hist_result r = {.series = s, .nseries = 2};
	struct mm_baseline_point *p;
	size_t n;
	mm_bl_points_from(&r, true, &p, &n);
	struct {
		int64_t t;
		double v;
	} want[] = {{0, 21}, {300, 12}, {600, 3}};
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(p[i].t_s, want[i].t);
		assert_true(p[i].v == want[i].v);
	}
	free(p);
}

static void test_counter_rates(void **state)
{
	/* rates per second; the first bucket has none (NaN) and adds nothing */
	struct mm_hist_point c[] = {{.t = 0, .rate = NAN}, {.t = 300, .rate = 0.5},
				    {.t = 600, .rate = 0.1}};
	struct mm_hist_series s[] = {{.pts = c, .npts = 3, .counter = true}};
	struct mm_hist_result r = {.series = s, .nseries = 1};
	struct mm_baseline_point *p;
	size_t n;
	mm_bl_points_from(&r, true, &p, &n);
	assert_int_equal(n, 2);
	assert_true(p[0].t_s == 300 && fabs(p[0].v - 30) < 1e-9);
	assert_true(p[1].t_s == 600 && fabs(p[1].v - 6) < 1e-9);
	free(p);
	struct mm_hist_result empty = {0};
	mm_bl_points_from(&empty, true, &p, &n);
	assert_int_equal(n, 0);
	free(p);
}

static void test_ring(void **state)
{
	struct mm_bl_ring r = {0};
	const int64_t win = 300000; /* 5 min: a sample kept every 2.34 s */
	double pm;
	/* 120 messages per minute: 2 per second, sampled every second */
	for (int64_t t = 0; t <= 100; t++)
		mm_bl_ring_push(&r, t * 1000, 2.0 * (double)t, win);
	assert_false(mm_bl_ring_rate(&r, 100000, win, &pm)); /* under half the window */
	for (int64_t t = 101; t <= 1000; t++)
		mm_bl_ring_push(&r, t * 1000, 2.0 * (double)t, win);
	assert_true(mm_bl_ring_rate(&r, 1000000, win, &pm));
	assert_true(fabs(pm - 120) < 1e-6);
	assert_true(r.n <= MM_BL_RING);
	/* the counter stops: the rate falls as the window moves on */
	for (int64_t t = 1001; t <= 1400; t++)
		mm_bl_ring_push(&r, t * 1000, 2000, win);
	assert_true(mm_bl_ring_rate(&r, 1400000, win, &pm));
	assert_true(pm == 0);
	/* a reset (lower value) starts over: no rate until the window fills */
	mm_bl_ring_push(&r, 1401000, 3, win);
	assert_false(mm_bl_ring_rate(&r, 1401000, win, &pm));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum_gauges),
		cmocka_unit_test(test_counter_rates),
		cmocka_unit_test(test_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

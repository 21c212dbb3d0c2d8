/* baseline_test: the hour-of-week baseline and its fallbacks over
 * synthetic histories with a known weekly shape (cluster/baseline.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cluster/baseline.h"

/* 1970-01-05 was a Monday: day 4 after the epoch. NOW: a Monday 10:30 UTC
 * some weeks later. */
#define DAY 86400
#define NOW ((int64_t)(4 + 7 * 3000) * DAY + 10 * 3600 + 1800)

/* Weekdays 09-17 h: 100 + minute jitter 0..9; nights and weekends: 5. */
static double shape(int64_t t)
{
	int64_t day = t / DAY, hour = (t % DAY) / 3600;
	int wd = (int)((day - 4) % 7); /* 0 = Monday */
	double j = (double)((t / 60) % 10);
	return (wd < 5 && hour >= 9 && hour < 17) ? 100 + j : 5 + j / 10;
}

static struct mm_baseline_point *history(int64_t span_s, int64_t step, size_t *n)
{
	size_t cap = (size_t)(span_s / step) + 1, k = 0;
	struct mm_baseline_point *p = malloc(cap * sizeof *p);
	for (int64_t t = NOW - span_s; t < NOW && k < cap; t += step)
		p[k++] = (struct mm_baseline_point){t, shape(t)};
	*n = k;
	return p;
}

static void test_hour_of_week(void **state)
{
	size_t n;
	struct mm_baseline_point *p = history(14 * DAY, 60, &n);
	struct mm_baseline b;
	mm_baseline_compute(p, n, NOW, 0, &b);
	assert_int_equal(b.kind, MM_BL_HOUR_OF_WEEK);
	assert_int_equal(b.points, 120); /* two Mondays, 10:00-10:59 */
	assert_true(b.low >= 100 && b.high <= 109);
	assert_int_equal(mm_baseline_departure(&b, 104, 10), 0);
	assert_int_equal(mm_baseline_departure(&b, 400, 10), 1);
	assert_int_equal(mm_baseline_departure(&b, 5, 10), -1);
	/* The same history read at Sunday 10:30: the weekend's quiet level. */
	mm_baseline_compute(p, n, NOW - DAY, 0, &b);
	assert_true(b.high < 6.5);
	assert_int_equal(mm_baseline_departure(&b, 100, 10), 1);
	/* Local time: UTC+2 makes 10:30 UTC a 12:30 slot, still office hours. */
	mm_baseline_compute(p, n, NOW, 7200, &b);
	assert_true(b.low >= 100);
	free(p);
}

static void test_fallbacks(void **state)
{
	size_t n;
	struct mm_baseline b;
	/* Three days: the same hour of every day (Fri 10 h quiet? no: Fri,
	 * Sat, Sun 10 h: one office day, two weekend days). */
	struct mm_baseline_point *p = history(3 * DAY, 60, &n);
	mm_baseline_compute(p, n, NOW, 0, &b);
	assert_int_equal(b.kind, MM_BL_HOUR_OF_DAY);
	assert_int_equal(b.points, 180);
	assert_true(b.low < 10 && b.high >= 100);
	free(p);
	/* Eight hours: every point. */
	p = history(8 * 3600, 60, &n);
	mm_baseline_compute(p, n, NOW, 0, &b);
	assert_int_equal(b.kind, MM_BL_ALL);
	free(p);
	/* Two hours: no baseline, nothing departs. */
	p = history(2 * 3600, 60, &n);
	mm_baseline_compute(p, n, NOW, 0, &b);
	assert_int_equal(b.kind, MM_BL_NONE);
	assert_int_equal(mm_baseline_departure(&b, 1e9, 0), 0);
	free(p);
	/* Fourteen days of hourly rollups: two points per slot are too few
	 * for the hour of the week; the hour of the day takes over. */
	p = history(14 * DAY, 3600, &n);
	mm_baseline_compute(p, n, NOW, 0, &b);
	assert_int_equal(b.kind, MM_BL_HOUR_OF_DAY);
	assert_int_equal(b.points, 14);
	free(p);
	mm_baseline_compute(NULL, 0, NOW, 0, &b);
	assert_int_equal(b.kind, MM_BL_NONE);
}

/* Nearest rank over 1..20: 5th percentile is the 1st value, 95th the
 * 19th, the median the 10th; and how far beyond the band a value is. */
static void test_ranks_and_beyond(void **state)
{
	struct mm_baseline_point p[20];
	for (int i = 0; i < 20; i++) /* 20 points of the last 8 hours, 1..20 */
		p[i] = (struct mm_baseline_point){NOW - 8 * 3600 + i * 1200, (double)(20 - i)};
	struct mm_baseline b;
	mm_baseline_compute(p, 20, NOW, 0, &b);
	assert_int_equal(b.kind, MM_BL_ALL);
	assert_true(b.low == 1 && b.high == 19 && b.median == 10);
	/* margin: half the width (9) plus slack 1 = 10; band [-9, 29] */
	assert_true(mm_baseline_beyond(&b, 29, 1) == 0);
	assert_true(mm_baseline_beyond(&b, 35, 1) == 6);
	assert_true(mm_baseline_beyond(&b, -12, 1) == -3);
	assert_int_equal(mm_baseline_departure(&b, 35, 1), 1);
	b.kind = MM_BL_NONE;
	assert_true(mm_baseline_beyond(&b, 1e9, 0) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hour_of_week),
		cmocka_unit_test(test_fallbacks),
		cmocka_unit_test(test_ranks_and_beyond),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* schedule_test: periodic jobs keep their phase and never burst. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/schedule.h"

static void count(void *arg, int64_t now)
{
	(*(int *)arg)++;
}

static void test_schedule(void **state)
{
	struct mm_schedule s = {0};
	int a = 0, b = 0;
	mm_schedule_add(&s, "a", 1000, 0, 0, count, &a);
	mm_schedule_add(&s, "b", 5000, 5000, 0, count, &b);
	for (int64_t t = 0; t <= 10000; t += 100)
		mm_schedule_tick(&s, t);
	assert_int_equal(a, 11); /* 0,1000..10000 */
	assert_int_equal(b, 2);	 /* 5000, 10000 */
	/* a stall of 60 s runs each job once, not once per missed period */
	mm_schedule_tick(&s, 70000);
	assert_int_equal(a, 12);
	assert_int_equal(b, 3);
	assert_true(s.jobs[0].max_lag_ms >= 59000);
	mm_schedule_tick(&s, 70500);
	assert_int_equal(a, 12);
	mm_schedule_tick(&s, 71000);
	assert_int_equal(a, 13);
	mm_schedule_set_period(&s, "a", 10000);
	mm_schedule_tick(&s, 72000);
	assert_int_equal(a, 13);
	mm_schedule_tick(&s, 81000);
	assert_int_equal(a, 14);
	mm_schedule_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_schedule)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

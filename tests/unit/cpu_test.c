/*
 * cpu_test: /proc/stat and /proc/loadavg parsing (real kernel lines and
 * damaged ones), the busy share between two samples, and a read of this
 * machine's /proc compared with the kernel's own numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "host/cpu.h"

static void test_parse_stat(void **state)
{
	(void)state;
	const char *s = "cpu  4705 356 584 3699176 23060 0 277 0 0 0\n"
			"cpu0 1393 280 255 924525 5726 0 164 0 0 0\n"
			"intr 114930548 113199788 3 0 5 263 0 4 [...]\n";
	struct mm_cpu_times t;
	assert_int_equal(mm_cpu_parse_stat(s, strlen(s), &t), 0);
	assert_true(t.t[MM_CPU_USER] == 4705 && t.t[MM_CPU_NICE] == 356);
	assert_true(t.t[MM_CPU_IDLE] == 3699176 && t.t[MM_CPU_IOWAIT] == 23060);
	assert_true(t.t[MM_CPU_SOFTIRQ] == 277 && t.t[MM_CPU_STEAL] == 0);
	static const char *bad[] = {
		"", "cpu0 1 2 3 4\n", "cpu  1 2 3\n", "cpu  x y z w\n",
		"cpu  99999999999999999999999 1 2 3\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(mm_cpu_parse_stat(bad[i], strlen(bad[i]), &t), -1);
	/* an old kernel with four columns */
	const char *old = "cpu 10 0 5 85";
	assert_int_equal(mm_cpu_parse_stat(old, strlen(old), &t), 0);
	assert_true(t.t[MM_CPU_IOWAIT] == 0);
}

static void test_loadavg_and_busy(void **state)
{
	(void)state;
	struct mm_loadavg l;
	const char *s = "0.52 0.58 0.59 2/432 12345\n";
	assert_int_equal(mm_cpu_parse_loadavg(s, strlen(s), &l), 0);
	assert_true(l.l1 == 0.52 && l.l5 == 0.58 && l.l15 == 0.59 && l.running == 2 &&
		    l.total == 432);
	assert_int_equal(mm_cpu_parse_loadavg("nan 1 1 1/1 1", 13, &l), -1);
	assert_int_equal(mm_cpu_parse_loadavg("1 1", 3, &l), -1);
	struct mm_cpu_times a = {{100, 0, 50, 800, 50, 0, 0, 0}};
	struct mm_cpu_times b = {{160, 0, 70, 880, 90, 0, 0, 0}}; /* +60 +20 busy, +120 idle */
	double busy = mm_cpu_busy(&a, &b);
	assert_true(busy > 0.3999 && busy < 0.4001);
	assert_true(mm_cpu_busy(&b, &a) == 0); /* went back */
	assert_true(mm_cpu_busy(&a, &a) == 0);
}

static void test_read_proc(void **state)
{
	(void)state;
	struct mm_cpu_times t;
	struct mm_loadavg l;
	struct mm_err err;
	assert_int_equal(mm_cpu_read(&t, &l, &err), 0);
	assert_true(t.t[MM_CPU_IDLE] > 0);
	assert_true(l.total >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_loadavg_and_busy),
		cmocka_unit_test(test_read_proc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

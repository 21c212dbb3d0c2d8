/*
 * disk_test: the adaptive check interval, the lock rule with hysteresis
 * (table-driven), and statvfs in a thread compared with statvfs here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <time.h>

#include <cmocka.h>

#include "host/disk.h"

static void test_interval(void **state)
{
	(void)state;
	const int64_t mn = 60000, mx = 6000000; /* 1 min, 100 min */
	static const struct {
		double used, near;
		int64_t want;
	} cases[] = {
		{10, 90, 6000000}, {60, 90, 6000000}, {75, 90, 60000 + (6000000 - 60000) / 2},
		{89.9, 90, 79800},  {90, 90, 60000},   {99, 90, 60000},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t got = mm_disk_interval(cases[i].used, cases[i].near, mn, mx);
		if (got < cases[i].want - 1 || got > cases[i].want + 1)
			fail_msg("case %zu: %lld, want %lld", i, (long long)got,
				 (long long)cases[i].want);
	}
}

static void test_lock_hysteresis(void **state)
{
	(void)state;
	/* a partition filling then draining, threshold 80, hysteresis 5 */
	static const struct {
		double used;
		enum mm_disk_lock_action want;
	} seq[] = {
		{70, MM_DISK_KEEP},   {79.9, MM_DISK_KEEP}, {80, MM_DISK_LOCK}, {90, MM_DISK_KEEP},
		{79, MM_DISK_KEEP},   {75, MM_DISK_KEEP},   {74.9, MM_DISK_UNLOCK},
		{79, MM_DISK_KEEP},   {81, MM_DISK_LOCK},
	};
	bool locked = false;
	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
		enum mm_disk_lock_action a = mm_disk_lock_decide(locked, seq[i].used, 80, 5);
		if (a != seq[i].want)
			fail_msg("step %zu (%.1f%%): action %d, want %d", i, seq[i].used, a,
				 seq[i].want);
		if (a == MM_DISK_LOCK)
			locked = true;
		if (a == MM_DISK_UNLOCK)
			locked = false;
	}
}

static void test_stat_thread(void **state)
{
	(void)state;
	struct mm_disk_job *j = mm_disk_stat_start("/");
	struct mm_disk_stat st;
	int tries = 0;
	while (!mm_disk_stat_poll(j, &st) && tries++ < 5000) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	mm_disk_stat_drop(j);
	assert_int_equal(st.err, 0);
	struct statvfs v;
	assert_int_equal(statvfs("/", &v), 0);
	assert_true(st.size_bytes == (uint64_t)v.f_blocks * v.f_frsize);
	assert_true(st.avail_percent >= 0 && st.avail_percent <= 100);
	assert_true(st.used_percent + st.avail_percent > 99.999);

	j = mm_disk_stat_start("/nonexistent/dir");
	tries = 0;
	while (!mm_disk_stat_poll(j, &st) && tries++ < 5000) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	mm_disk_stat_drop(j);
	assert_int_equal(st.err, 2); /* ENOENT */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_lock_hysteresis),
		cmocka_unit_test(test_stat_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

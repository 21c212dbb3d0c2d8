/* clock_test: the UTC timestamp format against dates worked out by hand
 * (epoch, a leap day, the last second of a year), and the two clocks
 * moving forward. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/clock.h"

static void test_iso8601_table(void **state)
{
	static const struct {
		int64_t secs;
		const char *want;
	} rows[] = {
		{0, "1970-01-01T00:00:00Z"},
		{951782400, "2000-02-29T00:00:00Z"},	/* leap day of a century year */
		{1609459199, "2020-12-31T23:59:59Z"},	/* last second of a leap year */
		{1798675200, "2026-12-31T00:00:00Z"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char got[32];
		mm_utc_iso8601(rows[i].secs, got, sizeof got);
		assert_string_equal(got, rows[i].want);
	}
}

static void test_clocks_advance(void **state)
{
	int64_t m0 = mm_mono_ms(), u0 = mm_mono_us(), w = mm_wall_ms();
	assert_true(w > 1600000000000LL); /* after 2020: the wall clock is in ms */
	int64_t u1 = u0;
	while (u1 - u0 < 2000)
		u1 = mm_mono_us();
	assert_true(mm_mono_ms() >= m0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso8601_table),
		cmocka_unit_test(test_clocks_advance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

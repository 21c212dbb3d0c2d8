/* strutil_test: the count format people read in verdicts and queue
 * estimates (thousands separators, rounding, negatives, a short buffer),
 * and the bounded copy and trim it sits beside. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/strutil.h"

static void test_fmt_count_table(void **state)
{
	static const struct {
		double x;
		const char *want;
	} rows[] = {
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{12345, "12,345"},
		{999999.6, "1,000,000"}, /* rounded first, then grouped */
		{1234567890, "1,234,567,890"},
		{-5, "0"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char got[32];
		assert_ptr_equal(mm_fmt_count(rows[i].x, got, sizeof got), got);
		assert_string_equal(got, rows[i].want);
	}
}

/* A buffer too short keeps a NUL-terminated prefix, never overruns. */
static void test_fmt_count_short_buffer(void **state)
{
	char buf[8];
	memset(buf, 'z', sizeof buf);
	mm_fmt_count(1234567890, buf, 6);
	assert_true(strlen(buf) < 6);
	assert_int_equal(buf[6], 'z');
	assert_int_equal(strncmp(buf, "1,234", strlen(buf)), 0);
}

static void test_strlcpy_and_trim(void **state)
{
	char d[5];
	assert_int_equal(mm_strlcpy(d, "abcdefg", sizeof d), 7);
	assert_string_equal(d, "abcd");
	char s[] = " \t x y \n";
	assert_string_equal(mm_trim(s), "x y");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_count_table),
		cmocka_unit_test(test_fmt_count_short_buffer),
		cmocka_unit_test(test_strlcpy_and_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

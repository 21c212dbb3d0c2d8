/* logsink_test: a sink gets the formatted line and the level it was given,
 * a sink without fn drops everything, and an over-long message is cut to
 * MM_LOGSINK_MAX - 1 bytes, never overflowing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <cmocka.h>

#include "core/logsink.h"

struct seen {
	int calls, level;
	char msg[2 * MM_LOGSINK_MAX];
};

static void record(void *arg, int level, const char *msg)
{
	struct seen *s = arg;
	s->calls++;
	s->level = level;
	snprintf(s->msg, sizeof s->msg, "%s", msg);
}

static void test_formats(void **state)
{
	struct seen s = {0};
	struct mm_logsink sink = {record, &s};
	mm_logsink_printf(&sink, LOG_WARNING, "%s: %d of %llu", "queue", 3, 7ULL);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.level, LOG_WARNING);
	assert_string_equal(s.msg, "queue: 3 of 7");
	mm_logsink_printf(&sink, LOG_INFO, "plain");
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.level, LOG_INFO);
	assert_string_equal(s.msg, "plain");
}

static void test_no_fn_drops(void **state)
{
	struct mm_logsink sink = {0};
	mm_logsink_printf(&sink, LOG_ERR, "nobody hears %s", "this"); /* must not crash */
	struct seen s = {0};
	struct mm_logsink other = {NULL, &s};
	mm_logsink_printf(&other, LOG_ERR, "nor this");
	assert_int_equal(s.calls, 0);
}

static void test_long_message_cut(void **state)
{
	char big[MM_LOGSINK_MAX + 100];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct seen s = {0};
	struct mm_logsink sink = {record, &s};
	mm_logsink_printf(&sink, LOG_NOTICE, "%s", big);
	assert_int_equal(s.calls, 1);
	assert_int_equal(strlen(s.msg), MM_LOGSINK_MAX - 1);
	assert_int_equal(strspn(s.msg, "x"), MM_LOGSINK_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_no_fn_drops),
		cmocka_unit_test(test_long_message_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* parse_test: the strict value parsers, table-driven (input, want, got). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/parse.h"
#include "core/strutil.h"

static void test_durations(void **state)
{
	static const struct {
		const char *in;
		int ok;
		int64_t ms;
	} cases[] = {
		{"10", 1, 10000},     {"10s", 1, 10000},   {"500ms", 1, 500},
		{"5m", 1, 300000},    {"2h", 1, 7200000},  {"1d", 1, 86400000},
		{"1w", 1, 604800000}, {"0", 1, 0},	   {"", 0, 0},
		{"10 s", 0, 0},	      {"s", 0, 0},	   {"-5s", 0, 0},
		{"5x", 0, 0},	      {"1.5h", 0, 0},	   {"99999999999999999999s", 0, 0},
		{"9223372036854775807w", 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t got = -1;
		struct mm_err err;
		int rc = mm_parse_duration(cases[i].in, &got, &err);
		if ((rc == 0) != cases[i].ok)
			fail_msg("\"%s\": rc %d", cases[i].in, rc);
		if (cases[i].ok && got != cases[i].ms)
			fail_msg("\"%s\": got %lld want %lld", cases[i].in, (long long)got,
				 (long long)cases[i].ms);
		if (!cases[i].ok)
			assert_non_null(strstr(err.msg, "expected a duration"));
	}
}

static void test_sizes(void **state)
{
	static const struct {
		const char *in;
		int ok;
		uint64_t v;
	} cases[] = {
		{"0", 1, 0},	     {"4096", 1, 4096}, {"64k", 1, 65536}, {"64K", 1, 65536},
		{"10M", 1, 10485760}, {"1G", 1, 1073741824}, {"1kb", 0, 0}, {"k", 0, 0},
		{"", 0, 0},	     {"99999999999T", 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t got = 0;
		int rc = mm_parse_size(cases[i].in, &got, NULL);
		if ((rc == 0) != cases[i].ok || (cases[i].ok && got != cases[i].v))
			fail_msg("\"%s\": rc %d got %llu", cases[i].in, rc, (unsigned long long)got);
	}
}

static void test_hostport(void **state)
{
	static const struct {
		const char *in;
		int defport;
		int ok;
		const char *host;
		int port;
	} cases[] = {
		{"127.0.0.1:25", 0, 1, "127.0.0.1", 25},
		{"[::1]:9925", 0, 1, "::1", 9925},
		{"mail.example.org:587", 0, 1, "mail.example.org", 587},
		{"127.0.0.1", 25, 1, "127.0.0.1", 25},
		{"127.0.0.1", 0, 0, NULL, 0},
		{"127.0.0.1:0", 0, 0, NULL, 0},
		{"127.0.0.1:65536", 0, 0, NULL, 0},
		{"::1:25", 0, 0, NULL, 0},
		{"[::1", 0, 0, NULL, 0},
		{"bad_host:25", 0, 0, NULL, 0},
		{"-bad.example:25", 0, 0, NULL, 0},
		{":25", 0, 0, NULL, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char host[64] = "";
		int port = 0;
		int rc = mm_parse_hostport(cases[i].in, cases[i].defport, host, sizeof host, &port,
					   NULL);
		if ((rc == 0) != cases[i].ok)
			fail_msg("\"%s\": rc %d", cases[i].in, rc);
		if (cases[i].ok) {
			assert_string_equal(host, cases[i].host);
			assert_int_equal(port, cases[i].port);
		}
	}
}

static void test_mailbox_bool_int(void **state)
{
	assert_int_equal(mm_parse_mailbox("postmaster@example.org", false, NULL), 0);
	assert_int_equal(mm_parse_mailbox("<>", true, NULL), 0);
	assert_int_equal(mm_parse_mailbox("<>", false, NULL), -1);
	assert_int_equal(mm_parse_mailbox("@example.org", false, NULL), -1);
	assert_int_equal(mm_parse_mailbox("a b@example.org", false, NULL), -1);
	assert_int_equal(mm_parse_mailbox("bob", false, NULL), -1);
	bool b;
	assert_int_equal(mm_parse_bool("Yes", &b, NULL), 0);
	assert_true(b);
	assert_int_equal(mm_parse_bool("off", &b, NULL), 0);
	assert_false(b);
	assert_int_equal(mm_parse_bool("maybe", &b, NULL), -1);
	int64_t v;
	assert_int_equal(mm_parse_int("-3", -5, 5, &v, NULL), 0);
	assert_int_equal(v, -3);
	assert_int_equal(mm_parse_int(" 3", 0, 5, &v, NULL), -1);
	assert_int_equal(mm_parse_int("6", 0, 5, &v, NULL), -1);
}

static void test_format_and_distance(void **state)
{
	char buf[32];
	mm_format_duration(90000, buf, sizeof buf);
	assert_string_equal(buf, "90s");
	mm_format_duration(300000, buf, sizeof buf);
	assert_string_equal(buf, "5m");
	mm_format_duration(1500, buf, sizeof buf);
	assert_string_equal(buf, "1500ms");
	mm_format_duration(0, buf, sizeof buf);
	assert_string_equal(buf, "0s");
	assert_int_equal(mm_edit_distance("threshhold", "threshold", 2), 1);
	assert_int_equal(mm_edit_distance("abc", "abc", 2), 0);
	assert_int_equal(mm_edit_distance("abc", "xyzw", 2), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),	 cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_hostport),	 cmocka_unit_test(test_mailbox_bool_int),
		cmocka_unit_test(test_format_and_distance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

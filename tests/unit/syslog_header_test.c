/* syslog_header_test: the header forms, tag splitting and time conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "parsers/syslog_header.h"

static void sv_is(struct mm_sv v, const char *want)
{
	if (want == NULL) {
		assert_null(v.p);
		return;
	}
	assert_non_null(v.p);
	assert_int_equal(v.len, strlen(want));
	assert_memory_equal(v.p, want, v.len);
}

static const struct {
	const char *line;
	int rc;
	int64_t time_ms;
	const char *host, *program, *instance, *service;
	uint32_t pid;
	const char *msg;
} cases[] = {
	{"Nov 21 05:59:09 host postfix/smtpd[123]: hello", 0, 1795240749000, "host",
	 "postfix/smtpd", "postfix", "smtpd", 123, "hello"},
	{"Nov  1 05:59:09 host prog: x", 0, 1793512749000, "host", "prog", NULL, "prog", 0, "x"},
	{"2026-11-21T05:59:09.123456+00:00 host postfix-out/smtp[7]: m", 0, 1795240749123, "host",
	 "postfix-out/smtp", "postfix-out", "smtp", 7, "m"},
	{"2026-11-21T07:59:09.5+02:00 h postfix/submission/smtpd[8]: m", 0, 1795240749500, "h",
	 "postfix/submission/smtpd", "postfix", "smtpd", 8, "m"},
	{"2026-11-21T05:59:09Z h postfix/10025/smtpd[9]: m", 0, 1795240749000, "h",
	 "postfix/10025/smtpd", "postfix", "smtpd", 9, "m"},
	{"2026-11-21T05:59:09 h p[1]: local time", 0, 1795240749000, "h", "p", NULL, "p", 1,
	 "local time"},
	{"2026-11-21 06:01:02 imap-login: Info: x", 0, 1795240862000, NULL, "imap-login", NULL,
	 "imap-login", 0, "Info: x"},
	{"Nov 21 06:01:02 imap-login: Info: Login", 0, 1795240862000, NULL, "imap-login", NULL,
	 "imap-login", 0, "Info: Login"},
	{"Nov 21 06:01:02 postfix/qmgr[5]: x", 0, 1795240862000, NULL, "postfix/qmgr", "postfix",
	 "qmgr", 5, "x"},
	{"<22>Nov 21 05:59:09 host p[1]: m", 0, 1795240749000, "host", "p", NULL, "p", 1, "m"},
	{"Nov 21 05:59:09 host p[1]:", 0, 1795240749000, "host", "p", NULL, "p", 1, ""},
	{"Nov 21 05:59:09 host p[1]: m\r\n", 0, 1795240749000, "host", "p", NULL, "p", 1, "m"},
	{"Nov 21 05:59:09 host p[1]", -1, 0, NULL, NULL, NULL, NULL, 0, NULL},
	{"Nov 21 05:59:09 host", -1, 0, NULL, NULL, NULL, NULL, 0, NULL},
	{"Nov 21 05:59:09", -1, 0, NULL, NULL, NULL, NULL, 0, NULL},
	{"Xyz 21 05:59:09 host p: m", -1, 0, NULL, NULL, NULL, NULL, 0, NULL},
	{"Nov 32 05:59:09 host p: m", -1, 0, NULL, NULL, NULL, NULL, 0, NULL},
	{"Nov 21 24:00:00 host p: m", -1, 0, NULL, NULL, NULL, NULL, 0, NULL},
	{"2026-11-21T05:59:09+0x:00 h p: m", -1, 0, NULL, NULL, NULL, NULL, 0, NULL},
	{"", -1, 0, NULL, NULL, NULL, NULL, 0, NULL},
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mm_syslog_hdr h;
		size_t len = strlen(cases[i].line);
		int rc = mm_syslog_parse(cases[i].line, len, 2026, &h);
		assert_int_equal(rc, cases[i].rc);
		if (rc != 0)
			continue;
		assert_int_equal(h.time_ms, cases[i].time_ms);
		sv_is(h.host, cases[i].host);
		sv_is(h.program, cases[i].program);
		sv_is(h.instance, cases[i].instance);
		sv_is(h.service, cases[i].service);
		assert_int_equal(h.pid, cases[i].pid);
		size_t mlen = strlen(cases[i].msg);
		assert_true(h.msg_off <= len);
		assert_memory_equal(cases[i].line + h.msg_off, cases[i].msg, mlen);
	}
}

/* A line with no terminator must not be read past its length. */
static void test_no_overread(void **state)
{
	(void)state;
	const char *full = "Nov 21 05:59:09 host postfix/smtpd[123]: hello";
	for (size_t n = 0; n <= strlen(full); n++) {
		char *copy = malloc(n ? n : 1);
		memcpy(copy, full, n);
		struct mm_syslog_hdr h;
		(void)mm_syslog_parse(copy, n, 2026, &h);
		assert_true(h.msg_off <= n);
		free(copy);
	}
}

static void test_days_and_months(void **state)
{
	(void)state;
	assert_int_equal(mm_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(mm_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(mm_days_from_civil(1969, 12, 31), -1);
	const char *m[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
			   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	for (int i = 0; i < 12; i++)
		assert_int_equal(mm_month_from_abbr(m[i]), i + 1);
	assert_int_equal(mm_month_from_abbr("Jux"), 0);
	/* local time through the hour memo, across an hour and a day */
	assert_int_equal(mm_local_time_ms(2026, 11, 21, 5, 59, 9, 0), 1795240749000);
	assert_int_equal(mm_local_time_ms(2026, 11, 21, 6, 0, 0, 0), 1795240800000);
	assert_int_equal(mm_local_time_ms(2026, 11, 21, 5, 0, 0, 1), 1795237200001);
	assert_int_equal(mm_local_time_ms(2026, 12, 31, 23, 59, 59, 999), 1798761599999);
	assert_int_equal(mm_local_time_ms(2026, 13, 1, 0, 0, 0, 0), 0);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_no_overread),
		cmocka_unit_test(test_days_and_months),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

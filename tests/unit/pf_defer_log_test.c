/* pf_defer_log_test: Postfix defer logs, new and old format, newest entry
 * wins, caps; and the delay-reason classes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "mta/postfix/defer_log.h"
#include "mta/reason_class.h"

static void test_defer_log(void **state)
{
	static const char text[] =
		"\n<u1@dead.test>: connect to 127.0.0.1[127.0.0.1]:58235: Connection refused\n"
		"recipient=u1@dead.test\n"
		"offset=641\n"
		"dsn_orig_rcpt=rfc822;u1@dead.test\n"
		"status=4.4.1\n"
		"action=delayed\n"
		"reason=connect to 127.0.0.1[127.0.0.1]:58235: Connection refused\n"
		"\n"
		"recipient=v@slow.test\n"
		"status=4.4.2\n"
		"reason=conversation with 127.0.0.1[127.0.0.1] timed out while receiving the initial server greeting\n"
		"\n"
		"recipient=u1@dead.test\n"
		"status=4.0.0\n"
		"reason=delivery temporarily suspended: connect to 127.0.0.1[127.0.0.1]:58235: Connection refused\n";
	struct mm_pf_defer d = {0};
	mm_pf_defer_parse(text, strlen(text), &d);
	const struct mm_pf_defer_ent *e = mm_pf_defer_find(&d, "u1@dead.test");
	assert_non_null(e);
	assert_string_equal(e->status, "4.0.0");
	assert_non_null(strstr(e->reason, "suspended"));
	e = mm_pf_defer_find(&d, "V@SLOW.TEST");
	assert_non_null(e);
	assert_string_equal(e->status, "4.4.2");
	assert_null(mm_pf_defer_find(&d, "nobody@x"));

	/* Old format alone. */
	static const char old[] = "<a@b.test>: host b.test said: 451 try later\n";
	mm_pf_defer_parse(old, strlen(old), &d);
	e = mm_pf_defer_find(&d, "a@b.test");
	assert_non_null(e);
	assert_string_equal(e->reason, "host b.test said: 451 try later");

	/* An over-long line is counted and skipped. */
	size_t n = MM_PF_DEFER_MAX_LINE + 100;
	char *big = malloc(n + 64);
	memcpy(big, "reason=", 7);
	memset(big + 7, 'x', n - 7);
	memcpy(big + n, "\nrecipient=z@z\n", 16);
	mm_pf_defer_parse(big, strlen(big), &d);
	assert_int_equal(d.oversize, 1);
	e = mm_pf_defer_find(&d, "z@z");
	assert_non_null(e);
	assert_null(e->reason);
	free(big);
	/* Garbage without '=' or newline. */
	mm_pf_defer_parse("\x01\x02garbage", 9, &d);
	assert_int_equal(d.n, 0);
	mm_pf_defer_free(&d);
}

static void test_reason_class(void **state)
{
	static const struct {
		const char *reason, *status;
		enum mm_rclass want;
		uint16_t code;
		bool cause; /* mm_rclass_cause, else mm_rclass_of */
	} cases[] = {
		{"connect to 127.0.0.1[127.0.0.1]:58235: Connection refused", "4.4.1", MM_RC_REFUSED, 0, false},
		{"conversation with 127.0.0.1[127.0.0.1] timed out while receiving the initial server greeting",
		 "4.4.2", MM_RC_TIMEOUT, 0, false},
		{"connect to mx.example[192.0.2.1]:25: Connection timed out", NULL, MM_RC_TIMEOUT, 0, false},
		{"lost connection with mx.example[192.0.2.1] while receiving the initial server greeting",
		 NULL, MM_RC_TIMEOUT, 0, false},
		{"delivery temporarily suspended: connect to 127.0.0.1[127.0.0.1]:1: Connection refused",
		 NULL, MM_RC_SUSPENDED, 0, false},
		{"TLS is required, but was not offered by host mx.example[192.0.2.1]", NULL, MM_RC_TLS, 0, false},
		{"Cannot start TLS: handshake failure", NULL, MM_RC_TLS, 0, false},
		{"Host or domain name not found. Name service error for name=x.example type=MX: Host not found, try again",
		 NULL, MM_RC_DNS, 0, false},
		{"host mx.example[192.0.2.1] said: 451 4.7.1 Greylisted, try later (in reply to RCPT TO command)",
		 NULL, MM_RC_4XX, 451, false},
		{"host mx.example[192.0.2.1] said: 421-4.7.0 busy", NULL, MM_RC_4XX, 421, false},
		{"host mx.example[192.0.2.1] said: 550 5.1.1 no such user", NULL, MM_RC_OTHER, 0, false},
		{"mail transport unavailable", "4.3.0", MM_RC_OTHER, 0, false},
		{"", NULL, MM_RC_NONE, 0, false},
		{NULL, NULL, MM_RC_NONE, 0, false},
		{"something", "4.4.3", MM_RC_DNS, 0, false},
		/* The cause quoted after "delivery temporarily suspended" (Postfix's
		 * words on the lab: qmgr defers the rest of a dead destination):
		 * mm_rclass_cause, last column true. */
		{"delivery temporarily suspended: connect to 127.0.0.1[127.0.0.1]:1: Connection refused",
		 "4.4.1", MM_RC_REFUSED, 0, true},
		{"delivery temporarily suspended: conversation with 127.0.0.1[127.0.0.1] timed out while "
		 "receiving the initial server greeting",
		 "4.4.2", MM_RC_TIMEOUT, 0, true},
		{"delivery temporarily suspended: host mx.example[192.0.2.1] said: 421 4.7.0 busy", NULL,
		 MM_RC_4XX, 421, true},
		{"delivery temporarily suspended: Cannot start TLS: handshake failure", NULL, MM_RC_TLS,
		 0, true},
		{"Delivery Temporarily Suspended: lost connection with mx.example[192.0.2.1]", NULL,
		 MM_RC_TIMEOUT, 0, true},
		{"delivery temporarily suspended: unknown trouble", NULL, MM_RC_OTHER, 0, true},
		{"delivery temporarily suspended", "4.4.1", MM_RC_NONE, 0, true},
		{"delivery temporarily suspended: ", NULL, MM_RC_NONE, 0, true},
		/* the marker twice is not a cause */
		{"delivery temporarily suspended: delivery temporarily suspended", NULL, MM_RC_OTHER, 0, true},
		/* not a suspension: no cause */
		{"connect to 127.0.0.1[127.0.0.1]:1: Connection refused", "4.4.1", MM_RC_NONE, 0, true},
		{NULL, NULL, MM_RC_NONE, 0, true},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint16_t code = 99;
		enum mm_rclass got = (cases[i].cause ? mm_rclass_cause : mm_rclass_of)(
			cases[i].reason, cases[i].status, &code);
		if (got != cases[i].want || code != cases[i].code)
			fail_msg("case %zu \"%s\"%s: got %s/%u, want %s/%u", i,
				 cases[i].reason ? cases[i].reason : "(null)",
				 cases[i].cause ? " (cause)" : "", mm_rclass_name(got), code,
				 mm_rclass_name(cases[i].want), cases[i].code);
	}
	char label[16];
	mm_rclass_label(MM_RC_4XX, 451, label, sizeof label);
	assert_string_equal(label, "451");
	mm_rclass_label(MM_RC_REFUSED, 0, label, sizeof label);
	assert_string_equal(label, "refused");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defer_log),
		cmocka_unit_test(test_reason_class),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

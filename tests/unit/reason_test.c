/* reason_test: group keys of reject, bounce and deferral texts (input,
 * want) as docs/logstat.md "How reasons are grouped" lists them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "logs/reason.h"

static const struct {
	const char *in, *want;
} cases[] = {
	{"<x@unrouted.example>: Recipient address rejected: domain not routed",
	 "Recipient address rejected: domain not routed"},
	{"Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org; "
	 "https://www.spamhaus.org/query/ip/203.0.113.9",
	 "blocked using zen.spamhaus.org"},
	{"Service unavailable; Sender address [a@spam.example] blocked using dbl.spamhaus.org; "
	 "https://www.spamhaus.org/query/dbl?domain=spam.example",
	 "blocked using dbl.spamhaus.org"},
	{"Client host rejected: cannot find your hostname, [198.51.100.7]",
	 "Client host rejected: cannot find your hostname, [*]"},
	{"connect to mx.example.com[192.0.2.1]:25: Connection refused",
	 "connect to mx.example.com[*]:#: Connection refused"},
	{"host mx.example.com[192.0.2.1] said: 550 5.1.1 <bob@example.com>: Recipient address "
	 "rejected: User unknown (in reply to RCPT TO command)",
	 "host mx.example.com[*] said: 550 5.1.1 <*>: Recipient address rejected: User unknown "
	 "(in reply to RCPT TO command)"},
	{"host mx.example.com[2001:db8::25] said: 452 4.2.2 Mailbox full: bob@example.com",
	 "host mx.example.com[*] said: 452 4.2.2 Mailbox full: *"},
	{"host mx[192.0.2.1] said: 250 2.0.0 Ok: queued as 4F2A1B3C9D",
	 "host mx[*] said: 250 2.0.0 Ok: queued as #"},
	{"conversation with 192.0.2.1 timed out after 300 seconds",
	 "conversation with * timed out after # seconds"},
	{"lost connection with mx[192.0.2.1] while sending RCPT TO",
	 "lost connection with mx[*] while sending RCPT TO"},
	{"550-5.7.1 listed at SBL12345", "550-5.7.1 listed at #"},
	{"Message size exceeds fixed limit", "Message size exceeds fixed limit"},
	{"said: 552 5.3.4 Message size exceeds limit of 280 bytes",
	 "said: 552 5.3.4 Message size exceeds limit of # bytes"},
	{"421 Service not available", "421 Service not available"},
	{"<>: Sender address rejected: need fully-qualified address",
	 "Sender address rejected: need fully-qualified address"},
	{"", ""},
};

static void test_cases(void **state)
{
	(void)state;
	char out[512];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = mm_reason_group(cases[i].in, strlen(cases[i].in), out, sizeof out);
		assert_int_equal(n, strlen(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, cases[i].want);
	}
}

static void test_small_output(void **state)
{
	(void)state;
	char out[8];
	const char *in = "connect to mx.example.com[192.0.2.1]:25: Connection refused";
	size_t n = mm_reason_group(in, strlen(in), out, sizeof out);
	assert_int_equal(n, 7);
	assert_string_equal(out, "connect");
	assert_int_equal(mm_reason_group(in, strlen(in), out, 1), 0);
	/* every prefix, from an exact-size copy: ASan sees any over-read */
	for (size_t len = 0; len <= strlen(in); len++) {
		char *copy = malloc(len ? len : 1);
		memcpy(copy, in, len);
		char big[256];
		mm_reason_group(copy, len, big, sizeof big);
		free(copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_cases),
					   cmocka_unit_test(test_small_output)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

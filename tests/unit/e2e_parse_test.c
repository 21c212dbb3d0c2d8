/* e2e_parse_test: the parsers of the end-to-end probe, table driven:
 * mail dates (Received stamps, IMAP INTERNALDATE), the Received chain of
 * a real Postfix -> Dovecot header, header fields, probe tags, FETCH
 * items and SEARCH lines. Expected values are computed by hand (epoch
 * seconds checked with `date -u -d`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probes/e2etag.h"
#include "probes/imap_fetch.h"
#include "probes/maildate.h"
#include "probes/received.h"

static void test_dates(void **state)
{
	static const struct {
		const char *in;
		int imap;
		int ok;
		int64_t want_s;
	} t[] = {
		/* date -u -d '2026-12-07 17:13:03' +%s = 1796663583 */
		{"Mon, 7 Dec 2026 17:13:03 +0000 (UTC)", 0, 1, 1796663583},
		{"Mon, 07 Dec 2026 18:13:03 +0100", 0, 1, 1796663583},
		{"7 Dec 2026 12:13:03 EST", 0, 1, 1796663583},
		{"Mon, 7 Dec 2026 17:13 +0000", 0, 1, 1796663580},
		{"Mon, 29 Feb 2027 00:00:00 +0000", 0, 0, 0}, /* not a leap year */
		{"Mon, 29 Feb 2028 00:00:00 +0000", 0, 1, 1835395200},
		{"Mon 7 Dec 2026 17:13:03 +0000", 0, 0, 0},  /* no comma after the day name */
		{"7 Dex 2026 17:13:03 +0000", 0, 0, 0},
		{"7 Dec 2026 25:13:03 +0000", 0, 0, 0},
		{"7 Dec 2026 17:13:03 +00", 0, 0, 0},
		{"", 0, 0, 0},
		{"07-Dec-2026 17:13:03 +0000", 1, 1, 1796663583},
		{" 7-Dec-2026 18:43:03 +0130", 1, 1, 1796663583},
		{"07-Dec-26 17:13:03 +0000", 1, 0, 0},
		{"07-Dec-2026 17:13:03", 1, 0, 0},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int64_t ms = -1;
		int rc = t[i].imap ? mm_maildate_imap(t[i].in, strlen(t[i].in), &ms)
				   : mm_maildate_rfc5322(t[i].in, strlen(t[i].in), &ms);
		if ((rc == 0) != t[i].ok)
			fail_msg("\"%s\": rc %d, want ok=%d", t[i].in, rc, t[i].ok);
		if (t[i].ok && ms != t[i].want_s * 1000)
			fail_msg("\"%s\": %lld ms, want %lld s", t[i].in, (long long)ms,
				 (long long)t[i].want_s);
	}
}

/* As Dovecot stores a message Postfix handed it over LMTP. */
static const char lab_header[] =
	"Return-Path: <>\r\n"
	"Delivered-To: alice@lab.test\r\n"
	"Received: from mail.lab.test\r\n"
	"\tby mail.lab.test with LMTP\r\n"
	"\tid gKvGF3frFmvnRQAAg+zDdQ\r\n"
	"\t(envelope-from <>)\r\n"
	"\tfor <alice@lab.test>; Mon, 07 Dec 2026 17:13:09 +0000\r\n"
	"Received: from mailmon.invalid (localhost [127.0.0.1])\r\n"
	"\tby mail.lab.test (Postfix) with ESMTP id 6087BA72D92\r\n"
	"\tfor <alice@lab.test>; Mon,  7 Dec 2026 17:13:03 +0000 (UTC)\r\n"
	"X-Mailmon-Probe: mailmon-e2e cli 1796663583017 42b500819e27cb0c\r\n"
	"Subject: x\r\n"
	"\r\n"
	"Received: body text, not a header\r\n";

static void test_received(void **state)
{
	struct mm_received_hop h[MM_RECEIVED_MAX];
	size_t n = mm_received_parse(lab_header, strlen(lab_header), h, MM_RECEIVED_MAX);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].by, "mail.lab.test");
	assert_string_equal(h[0].with, "ESMTP");
	assert_true(h[0].have_time);
	assert_int_equal(h[0].wall_ms, 1796663583000LL);
	assert_string_equal(h[1].with, "LMTP");
	assert_int_equal(h[1].wall_ms, 1796663589000LL);
	/* Cut at max: the oldest of what fits. */
	assert_int_equal(mm_received_parse(lab_header, strlen(lab_header), h, 1), 1);
	/* No date, no "by": kept, without time. */
	const char *odd = "Received: from x with SMTP\nReceived: garbage; not a date\n";
	n = mm_received_parse(odd, strlen(odd), h, MM_RECEIVED_MAX);
	assert_int_equal(n, 2);
	assert_false(h[0].have_time);
	assert_false(h[1].have_time);
	assert_string_equal(h[1].with, "SMTP");
	assert_string_equal(h[1].by, "");
}

static void test_fields_and_tags(void **state)
{
	char v[200];
	assert_true(mm_header_field(lab_header, strlen(lab_header), "x-mailmon-probe", v, sizeof v));
	assert_string_equal(v, "mailmon-e2e cli 1796663583017 42b500819e27cb0c");
	char name[MM_E2E_NAME_MAX];
	int64_t sent;
	assert_true(mm_e2e_tag_parse(v, name, sizeof name, &sent));
	assert_string_equal(name, "cli");
	assert_int_equal(sent, 1796663583017LL);
	assert_false(mm_header_field(lab_header, strlen(lab_header), "Cc", v, sizeof v));
	/* Cut to the buffer. */
	assert_true(mm_header_field(lab_header, strlen(lab_header), "Subject", v, 2));
	assert_string_equal(v, "x");
	static const char *const bad[] = {
		"mailmon-e2e cli 17966 42b500819e27cb0",	  /* 15 hex digits */
		"mailmon-e2e c/i 1 42b500819e27cb0c",		  /* bad name */
		"mailmon-e2e cli x 42b500819e27cb0c",
		"mailmon-e2ex cli 1 42b500819e27cb0c",
		"mailmon-e2e cli 1 42b500819e27cb0c trailing",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (mm_e2e_tag_parse(bad[i], NULL, 0, &sent))
			fail_msg("accepted \"%s\"", bad[i]);
	char tag[MM_E2E_NAME_MAX + 64];
	assert_int_equal(mm_e2e_tag_make("imap.alice", 5, 0xabcULL, tag, sizeof tag), 0);
	assert_string_equal(tag, "mailmon-e2e imap.alice 5 0000000000000abc");
	assert_int_equal(mm_e2e_tag_make("x", 5, 1, tag, 10), -1);
}

/* Lines of a FETCH reply through the literal counter and the item parser. */
static void test_fetch_items(void **state)
{
	static const char *const lines[] = {
		"* 2 FETCH (UID 7 INTERNALDATE \"07-Dec-2026 17:13:03 +0000\" BODY[HEADER.FIELDS (X-MAILMON-PROBE)] {53}",
		"X-Mailmon-Probe: mailmon-e2e a 1 0000000000000001",
		"",
		")",
		"* 3 EXISTS",
		"* 3 FETCH (UID 9 BODY[] {8}",
		"m1 OK",
		"x)",
		"m1 OK done",
	};
	struct mm_reply_state st = {0};
	st.tag = "m1";
	mm_reply_reset(&st);
	struct mm_imap_item it = {0};
	int done = 0;
	uint32_t uids[2];
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		int r = mm_imap_reply_feed(&st, lines[i], strlen(lines[i]));
		assert_int_not_equal(r, MM_REPLY_BAD);
		if (mm_imap_item_feed(&it, &st, lines[i], strlen(lines[i])))
			uids[done++] = it.uid;
		if (done == 1 && i == 3) {
			assert_int_equal(it.uid, 7);
			assert_true(it.have_internal);
			assert_int_equal(it.internal_ms, 1796663583000LL);
			assert_string_equal(it.text, "X-Mailmon-Probe: mailmon-e2e a 1 0000000000000001\n\n");
		}
		if (i + 1 == sizeof lines / sizeof lines[0])
			assert_int_equal(r, MM_REPLY_DONE);
	}
	assert_int_equal(done, 2);
	assert_int_equal(uids[1], 9);
	assert_string_equal(it.text, "m1 OK\nx");

	const char *reply = "* SEARCH 3 9 12 4294967296\n* 4 EXISTS\n* SEARCH\nm1 OK";
	uint32_t out[8];
	size_t n = mm_imap_search_uids(reply, strlen(reply), 3, out, 8);
	assert_int_equal(n, 2); /* 3 is not above 3; 2^32 is not a UID */
	assert_int_equal(out[0], 9);
	assert_int_equal(out[1], 12);
	assert_int_equal(mm_imap_search_uids(reply, strlen(reply), 0, out, 1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_received),
		cmocka_unit_test(test_fields_and_tags),
		cmocka_unit_test(test_fetch_items),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

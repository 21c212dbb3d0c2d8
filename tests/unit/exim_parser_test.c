/* exim_parser_test: the Exim grammar, table-driven (line, want type,
 * status, queue id, address, channel), on lines of the spec's "Log files"
 * chapter forms; every prefix of each line is parsed from an exact-size
 * copy (ASan catches a read past the end). The full field-by-field check
 * is the golden pair tests/parsers/golden/exim-*.log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "parser_prefixes.h"
#include "parsers/exim.h"
#include "parsers/parser.h"

static const struct {
	const char *line;
	enum mm_ev_type type;
	enum mm_dstatus status;
	const char *qid, *addr, *chan;
} rows[] = {
	{"2026-12-07 17:17:19 [13036] 1xacL1-0003OG-2F <= sender@sink.test H=(client.lab.test) "
	 "[127.0.0.1] P=esmtp S=238",
	 MM_EV_QUEUED, MM_DS_NONE, "1xacL1-0003OG-2F", "sender@sink.test", "smtp"},
	{"2026-12-07 17:17:19 1xacL1-0003OG-2F => a@sink.test R=sink T=remote_smtp H=127.0.0.1 "
	 "[127.0.0.1] C=\"250 2.0.0 Ok\"",
	 MM_EV_DELIVERY, MM_DS_SENT, "1xacL1-0003OG-2F", "a@sink.test", "remote_smtp"},
	{"2026-12-07 17:17:20 [13049] 1xacL2-0003OS-11 == y@dead.test R=dead T=remote_smtp "
	 "defer (111): Connection refused",
	 MM_EV_DELIVERY, MM_DS_DEFERRED, "1xacL2-0003OS-11", "y@dead.test", "remote_smtp"},
	{"2026-12-07 17:17:20 1xacL2-0003OM-0M ** x@reject.test R=reject T=remote_smtp "
	 "H=127.0.0.1 [127.0.0.1]: SMTP error from remote mail server after RCPT "
	 "TO:<x@reject.test>: 550 5.1.1 rejected",
	 MM_EV_DELIVERY, MM_DS_BOUNCED, "1xacL2-0003OM-0M", "x@reject.test", "remote_smtp"},
	{"2026-12-07 17:17:20 1rqzTG-00000000AHS-1WAq Completed", MM_EV_REMOVED, MM_DS_NONE,
	 "1rqzTG-00000000AHS-1WAq", NULL, NULL},
	{"2026-12-07 17:17:20 [1] H=(x) [127.0.0.5] F=<s@x> rejected RCPT <v@e.test>: relay "
	 "not permitted",
	 MM_EV_REJECT, MM_DS_NONE, NULL, "v@e.test", NULL},
	{"Dec  7 17:17:21 mx exim[13064]: plain authenticator failed for (x) [127.0.0.1]: 535 "
	 "Incorrect authentication data (set_id=alice)",
	 MM_EV_AUTH_FAIL, MM_DS_NONE, NULL, "alice", "smtp"},
	{"2026-12-07 17:17:21 Start queue run: pid=13093", MM_EV_IGNORED, MM_DS_NONE, NULL,
	 NULL, NULL},
	{"2026-12-07 17:17:21 not an exim line", MM_EV_UNPARSED, MM_DS_NONE, NULL, NULL, NULL},
};

static void check_sv(struct mm_sv v, const char *want, size_t row)
{
	if (!want) {
		if (v.len)
			fail_msg("row %zu: unexpected \"%.*s\"", row, (int)v.len, v.p);
		return;
	}
	if (v.len != strlen(want) || memcmp(v.p, want, v.len) != 0)
		fail_msg("row %zu: got \"%.*s\", want \"%s\"", row, (int)v.len, v.p ? v.p : "",
			 want);
}

static void test_rows(void **state)
{
	(void)state;
	const struct mm_parser *autop = mm_parser_find("auto");
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct mm_log_event ev, ea;
		mm_exim_parse(rows[i].line, strlen(rows[i].line), 2026, &ev);
		if (ev.type != rows[i].type)
			fail_msg("row %zu: type %d, want %d", i, ev.type, rows[i].type);
		assert_int_equal(ev.status, rows[i].status);
		check_sv(ev.queue_id, rows[i].qid, i);
		check_sv(ev.addr, rows[i].addr, i);
		check_sv(ev.channel, rows[i].chan, i);
		/* auto finds the same grammar */
		autop->parse(rows[i].line, strlen(rows[i].line), 2026, &ea);
		assert_int_equal(ea.type, ev.type);
		check_prefixes(rows[i].line, mm_exim_parse);
		check_prefixes(rows[i].line, mm_auto_parse);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_rows)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

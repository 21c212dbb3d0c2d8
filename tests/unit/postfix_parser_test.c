/* postfix_parser_test: one row per Postfix line form (input, want, got). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "parsers/event_fmt.h"
#include "parsers/postfix.h"
#include "parser_prefixes.h"


#define H "Nov 21 05:59:09 mx postfix/"

static void sv_is(const char *what, struct mm_sv v, const char *want)
{
	if (want == NULL)
		return;
	if (v.p == NULL || v.len != strlen(want) || memcmp(v.p, want, v.len) != 0)
		fail_msg("%s: want \"%s\", got \"%.*s\"", what, want, (int)v.len,
			 v.p ? v.p : "(absent)");
}

static const struct row {
	const char *line;
	enum mm_ev_type type;
	const char *qid, *chan, *addr, *sender, *ip, *relay, *dsn, *reason, *code;
	enum mm_dstatus status;
} rows[] = {
	{.line = H "smtpd[1]: connect from mail.example.com[192.0.2.1]", .type = MM_EV_CONNECT, .ip = "192.0.2.1",
	 .chan = "smtpd"},
	{.line = H "smtpd[1]: disconnect from unknown[192.0.2.1] ehlo=1 commands=1", .type = MM_EV_DISCONNECT,
	 .ip = "192.0.2.1", .reason = "ehlo=1 commands=1"},
	{.line = H "smtpd[1]: lost connection after DATA (0 bytes) from unknown[192.0.2.1]", .type = MM_EV_LOST,
	 .code = "DATA", .ip = "192.0.2.1"},
	{.line = H "smtpd[1]: timeout after RCPT from unknown[192.0.2.1]", .type = MM_EV_LOST, .code = "RCPT"},
	{.line = H "smtpd[1]: ABCDEF123: client=h[2001:db8::1]", .type = MM_EV_CLIENT, .qid = "ABCDEF123",
	 .ip = "2001:db8::1"},
	{.line = H "smtpd[1]: NOQUEUE: reject: RCPT from u[192.0.2.2]: 554 5.7.1 <x@y>: Relay access denied; from=<a@b> to=<x@y> proto=ESMTP helo=<h>", .type = MM_EV_REJECT, .sender = "a@b", .addr = "x@y", .dsn = "5.7.1",
	 .reason = "<x@y>: Relay access denied", .code = "RCPT", .ip = "192.0.2.2"},
	{.line = H "smtpd[1]: NOQUEUE: reject_warning: RCPT from u[192.0.2.2]: 450 4.1.8 <a@b>: Sender address rejected: Domain not found; from=<a@b> to=<x@y> proto=ESMTP helo=<h>", .type = MM_EV_REJECT_WARN, .dsn = "4.1.8", .code = "RCPT"},
	{.line = H "smtpd[1]: NOQUEUE: reject: CONNECT from u[192.0.2.3]: 554 5.7.1 <u[192.0.2.3]>: Client host rejected: no; proto=SMTP", .type = MM_EV_REJECT, .code = "CONNECT", .reason = "<u[192.0.2.3]>: Client host rejected: no"},
	{.line = H "smtpd[1]: ABCDEF124: hold: RCPT from u[192.0.2.2]: <x@y>: Recipient address triggers HOLD action; from=<a@b> to=<x@y> proto=ESMTP helo=<h>", .type = MM_EV_HOLD, .qid = "ABCDEF124", .addr = "x@y"},
	{.line = H "smtpd[1]: NOQUEUE: discard: RCPT from u[192.0.2.2]: <x@y>: Recipient address triggers DISCARD action; from=<a@b> to=<x@y> proto=ESMTP helo=<h>", .type = MM_EV_DISCARD, .addr = "x@y"},
	{.line = H "cleanup[2]: ABCDEF125: reject: header Subject: hi, there; x from u[192.0.2.4]; from=<a@b> to=<c@d> proto=ESMTP helo=<h>: 5.7.1 no, thanks", .type = MM_EV_REJECT, .code = "header", .ip = "192.0.2.4", .sender = "a@b", .addr = "c@d",
	 .dsn = "5.7.1", .reason = "no, thanks"},
	{.line = H "cleanup[2]: ABCDEF125: message-id=<m@x>", .type = MM_EV_MESSAGE_ID, .qid = "ABCDEF125"},
	{.line = H "qmgr[3]: ABCDEF125: from=<a@b>, size=100, nrcpt=2 (queue active)", .type = MM_EV_QUEUED,
	 .addr = "a@b"},
	{.line = H "qmgr[3]: ABCDEF125: from=<>, status=expired, returned to sender", .type = MM_EV_EXPIRED,
	 .addr = "", .status = MM_DS_EXPIRED},
	{.line = H "qmgr[3]: ABCDEF125: removed", .type = MM_EV_REMOVED, .qid = "ABCDEF125"},
	{.line = H "smtp[4]: ABCDEF125: to=<x@y>, relay=mx[192.0.2.9]:25, delay=1.2, delays=0.1/0.2/0.3/0.6, dsn=2.0.0, status=sent (250 ok (id=1, x))", .type = MM_EV_DELIVERY, .addr = "x@y", .relay = "mx[192.0.2.9]:25", .dsn = "2.0.0",
	 .status = MM_DS_SENT, .reason = "250 ok (id=1, x)", .chan = "smtp"},
	{.line = H "relay/smtp[4]: ABCDEF125: to=<x@y>, relay=none, delay=1, delays=1/0/0/0, dsn=4.4.1, status=deferred (connect to mx[192.0.2.9]:25: Connection refused)", .type = MM_EV_DELIVERY, .chan = "relay", .status = MM_DS_DEFERRED},
	{.line = H "lmtp[5]: ABCDEF125: to=<u@lab.test>, orig_to=<alias@lab.test>, relay=h[/run/lmtp], delay=0.05, delays=0/0.01/0.01/0.02, dsn=5.1.1, status=bounced (host h said: 550 5.1.1 no (in reply to RCPT TO command))", .type = MM_EV_DELIVERY, .chan = "lmtp", .status = MM_DS_BOUNCED, .relay = "h[/run/lmtp]"},
	{.line = H "smtp[4]: connect to mx[192.0.2.9]:25: Connection refused", .type = MM_EV_CONN_FAIL,
	 .relay = "mx[192.0.2.9]:25", .reason = "Connection refused"},
	{.line = H "bounce[6]: ABCDEF125: sender non-delivery notification: ABCDEF126", .type = MM_EV_BOUNCE_DSN,
	 .code = "sender non-delivery notification"},
	{.line = H "pickup[7]: ABCDEF127: uid=0 from=<root>", .type = MM_EV_PICKUP, .addr = "root"},
	{.line = H "postsuper[8]: ABCDEF127: placed on hold", .type = MM_EV_HOLD},
	{.line = H "postsuper[8]: ABCDEF127: removed", .type = MM_EV_REMOVED},
	{.line = H "postsuper[8]: ABCDEF127: released from hold", .type = MM_EV_IGNORED},
	{.line = H "postscreen[9]: CONNECT from [192.0.2.5]:4000 to [192.0.2.1]:25", .type = MM_EV_CONNECT,
	 .ip = "192.0.2.5"},
	{.line = H "postscreen[9]: PASS NEW [192.0.2.5]:4000", .type = MM_EV_IGNORED},
	{.line = H "postscreen[9]: DISCONNECT [192.0.2.5]:4000", .type = MM_EV_DISCONNECT, .ip = "192.0.2.5"},
	{.line = H "master[10]: warning: process x pid 1 exit status 1", .type = MM_EV_WARNING,
	 .reason = "process x pid 1 exit status 1"},
	{.line = H "smtpd[1]: fatal: no", .type = MM_EV_FATAL},
	{.line = H "qmgr[3]: panic: no", .type = MM_EV_PANIC},
	{.line = H "trivial-rewrite[3]: error: no", .type = MM_EV_ERROR},
	{.line = H "anvil[3]: statistics: max connection rate 1/60s", .type = MM_EV_IGNORED},
	{.line = H "smtpd[1]: a line nobody knows", .type = MM_EV_UNPARSED},
	{.line = "garbage", .type = MM_EV_UNPARSED},
};

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct mm_log_event ev;
		mm_postfix_parse(r->line, strlen(r->line), 2026, &ev);
		if (ev.type != r->type)
			fail_msg("row %zu: want %s, got %s: %s", i, mm_ev_type_name(r->type),
				 mm_ev_type_name(ev.type), r->line);
		assert_int_equal(ev.source, MM_SRC_POSTFIX);
		sv_is("qid", ev.queue_id, r->qid);
		sv_is("chan", ev.channel, r->chan);
		sv_is("addr", ev.addr, r->addr);
		sv_is("sender", ev.sender, r->sender);
		sv_is("ip", ev.client_ip, r->ip);
		sv_is("relay", ev.relay, r->relay);
		sv_is("dsn", ev.dsn, r->dsn);
		sv_is("reason", ev.reason, r->reason);
		sv_is("code", ev.code, r->code);
		if (r->status != MM_DS_NONE)
			assert_int_equal(ev.status, r->status);
	}
}

static void test_numbers(void **state)
{
	(void)state;
	struct mm_log_event ev;
	const char *q = H "qmgr[3]: ABCDEF125: from=<a@b>, size=123456789012, nrcpt=42 (queue active)";
	mm_postfix_parse(q, strlen(q), 2026, &ev);
	assert_int_equal(ev.size, 123456789012ULL);
	assert_int_equal(ev.nrcpt, 42);
	const char *d = H "smtp[4]: ABCDEF125: to=<x@y>, relay=none, delay=12.5, delays=0.25/1/10/1.25, dsn=4.0.0, status=deferred (delivery temporarily suspended: x)";
	mm_postfix_parse(d, strlen(d), 2026, &ev);
	assert_true(ev.delay > 12.49 && ev.delay < 12.51);
	assert_true(ev.delays[0] > 0.24 && ev.delays[0] < 0.26);
	assert_true(ev.delays[3] > 1.24 && ev.delays[3] < 1.26);
	assert_true(ev.flags & MM_EVF_SUSPENDED);
	/* a delays= with three parts stays absent */
	const char *b = H "smtp[4]: ABCDEF125: to=<x@y>, delays=1/2/3, status=sent (ok)";
	mm_postfix_parse(b, strlen(b), 2026, &ev);
	assert_true(ev.delays[0] < 0);
	/* an event is never left half-filled from the previous line */
	const char *u = H "smtpd[1]: nothing";
	mm_postfix_parse(u, strlen(u), 2026, &ev);
	assert_null(ev.addr.p);
	assert_int_equal(ev.status, MM_DS_NONE);
}

/* Every prefix of a line parses without reading past its end (run under
 * ASan: each prefix is a separate allocation of exactly that size). */
static void test_prefixes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		check_prefixes(rows[i].line, mm_postfix_parse);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

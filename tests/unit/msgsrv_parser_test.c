/* msgsrv_parser_test: Messaging Server mail.log records (input, want, got). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "parsers/event_fmt.h"
#include "parsers/msgsrv.h"
#include "parser_prefixes.h"


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
	enum mm_dstatus status;
	const char *chan, *src, *code, *sender, *addr, *orig, *msgid, *reason, *ip;
	uint32_t flags;
	uint64_t size;
} rows[] = {
	/* the seed's own example (27.4.2.2) */
	{.line = "06-Oct-2003 00:24:03.66 501d.0b.9 ims-ms Q 5 durai.balusamy@Sun.COM rfc822;durai.balusamy@Sun.COM durai@ims-ms-daemon <00ce01c38bda$c7e2b240$6501a8c0@guindy> Mailbox is busy",
	 .type = MM_EV_DELIVERY, .status = MM_DS_DEFERRED, .chan = "ims-ms", .code = "Q",
	 .sender = "durai.balusamy@Sun.COM", .addr = "durai@ims-ms-daemon",
	 .orig = "durai.balusamy@Sun.COM", .msgid = "00ce01c38bda$c7e2b240$6501a8c0@guindy",
	 .reason = "Mailbox is busy", .size = 5 * 1024},
	{.line = "16-Feb-2007 14:54:13.72 tcp_local ims-ms EEC 1 adam@sesta.com rfc822;marlowe@siroe.com marlowe@ims-ms-daemon",
	 .type = MM_EV_QUEUED, .chan = "ims-ms", .src = "tcp_local", .code = "EEC",
	 .flags = MM_EVF_ESMTP | MM_EVF_CHUNKING},
	{.line = "16-Feb-2007 14:54:13.72 tcp_local DSA 1 a@b rfc822;c@d c@d",
	 .type = MM_EV_DELIVERY, .status = MM_DS_SENT, .flags = MM_EVF_TLS | MM_EVF_SASL},
	{.line = "16-Feb-2007 14:54:13.72 tcp_local R 1 a@b rfc822;c@d c@d smtp;550 5.1.1 no",
	 .type = MM_EV_DELIVERY, .status = MM_DS_BOUNCED},
	{.line = "16-Feb-2007 14:54:13.72 tcp_local Z 1 a@b rfc822;c@d c@d", .type = MM_EV_DELIVERY,
	 .status = MM_DS_DEFERRED},
	{.line = "16-Feb-2007 14:54:13.72 tcp_local l J 0 a@b rfc822;c@d c@d denied",
	 .type = MM_EV_REJECT, .chan = "l", .src = "tcp_local"},
	{.line = "16-Feb-2007 14:54:13.72 process E 1  rfc822;pm@x pm@ims-ms-daemon",
	 .type = MM_EV_QUEUED, .sender = "", .addr = "pm@ims-ms-daemon", .orig = "pm@x"},
	{.line = "19-Feb-1998 17:02:08.70 tcp_local    +            O          TCP|206.184.139.12|25|192.160.253.66|1244 SMTP",
	 .type = MM_EV_CONNECT, .chan = "tcp_local", .ip = "192.160.253.66",
	 .flags = MM_EVF_INBOUND},
	{.line = "19-Feb-1998 17:02:27.05 tcp_local + C TCP|206.184.139.12|25|192.160.253.66|1244 SMTP",
	 .type = MM_EV_DISCONNECT, .flags = MM_EVF_INBOUND},
	{.line = "19-Feb-1998 17:02:27.05 tcp_local - Y TCP|1.1.1.1|3|2.2.2.2|25 refused",
	 .type = MM_EV_CONN_FAIL, .flags = MM_EVF_OUTBOUND, .ip = "2.2.2.2"},
	{.line = "19-Feb-1998 17:02:27.05 tcp_local + X TCP|1.1.1.1|25|2.2.2.2|9 denied",
	 .type = MM_EV_REJECT, .flags = MM_EVF_INBOUND},
	{.line = "19-Feb-1998 17:02:27.05 tcp_local T 1 a b c", .type = MM_EV_UNPARSED},
	{.line = "Nov 21 05:59:09 host postfix/smtpd[1]: x", .type = MM_EV_UNPARSED},
};

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct mm_log_event ev;
		mm_msgsrv_parse(r->line, strlen(r->line), 2026, &ev);
		if (ev.type != r->type)
			fail_msg("row %zu: want %s, got %s", i, mm_ev_type_name(r->type),
				 mm_ev_type_name(ev.type));
		assert_int_equal(ev.source, MM_SRC_MSGSRV);
		if (r->status)
			assert_int_equal(ev.status, r->status);
		sv_is("chan", ev.channel, r->chan);
		sv_is("src", ev.src_channel, r->src);
		sv_is("code", ev.code, r->code);
		sv_is("sender", ev.sender, r->sender);
		sv_is("addr", ev.addr, r->addr);
		sv_is("orig", ev.orig_to, r->orig);
		sv_is("msgid", ev.message_id, r->msgid);
		sv_is("reason", ev.reason, r->reason);
		sv_is("ip", ev.client_ip, r->ip);
		if (r->flags)
			assert_int_equal(ev.flags & r->flags, r->flags);
		if (r->size)
			assert_int_equal(ev.size, r->size);
	}
}

static void test_seed_time(void **state)
{
	(void)state;
	const char *l = "06-Oct-2003 00:24:03.66 501d.0b.9 ims-ms Q 5 a@b rfc822;c@d c@d";
	struct mm_log_event ev;
	mm_msgsrv_parse(l, strlen(l), 0, &ev);
	assert_int_equal(ev.time_ms, 1065399843660LL); /* 2003-10-06T00:24:03.66Z */
	assert_int_equal(ev.pid, 0x501d);
	assert_true(mm_msgsrv_looks_like(l, strlen(l)));
	assert_false(mm_msgsrv_looks_like("Nov 21 05:59:09 h p: x", 22));
}

static void test_prefixes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		check_prefixes(rows[i].line, mm_msgsrv_parse);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_seed_time),
		cmocka_unit_test(test_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* dovecot_parser_test: Dovecot line forms, log_path and syslog (input, want, got). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "parsers/dovecot.h"

#include "parsers/event_fmt.h"
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
	const char *service, *chan, *addr, *ip, *code, *msgid;
	uint32_t count, flags;
} rows[] = {
	{.line = "Nov 21 06:01:34 imap-login: Info: Login: user=<bob>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, mpid=13907, secured, session=<20jTF8NgVL1/AAAB>",
	 .type = MM_EV_LOGIN, .service = "imap-login", .chan = "imap", .addr = "bob",
	 .ip = "127.0.0.1", .code = "PLAIN", .flags = MM_EVF_SECURED},
	{.line = "Nov 21 06:01:34 mail dovecot[9]: pop3-login: Login: user=<al>, method=LOGIN, rip=192.0.2.1, lip=192.0.2.2, mpid=1, TLS, session=<s>",
	 .type = MM_EV_LOGIN, .service = "pop3-login", .chan = "pop3", .addr = "al",
	 .flags = MM_EVF_TLS},
	{.line = "Nov 21 06:01:34 auth: Info: passwd-file(bob,127.0.0.1,<epXTF8NgWr1/AAAB>): Password mismatch",
	 .type = MM_EV_AUTH_FAIL, .service = "auth", .addr = "bob", .ip = "127.0.0.1",
	 .code = "passwd-file"},
	{.line = "Nov 21 06:01:36 auth: Info: passwd-file(ghost,127.0.0.1,<r6>): unknown user",
	 .type = MM_EV_AUTH_FAIL, .addr = "ghost"},
	{.line = "Nov 21 06:01:31 auth: Info: passwd-file(nobody): unknown user",
	 .type = MM_EV_IGNORED},
	{.line = "Nov 21 06:01:36 imap-login: Info: Disconnected: Connection closed (auth failed, 4 attempts in 2 secs): user=<bob>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, secured, session=<x>",
	 .type = MM_EV_AUTH_FAIL, .addr = "bob", .count = 4, .chan = "imap"},
	{.line = "Nov 21 06:01:40 imap-login: Info: Disconnected: Connection closed (no auth attempts in 0 secs): user=<>, rip=127.0.0.1, lip=127.0.0.1, secured, session=<g>",
	 .type = MM_EV_LOGIN_ABORT, .addr = "", .ip = "127.0.0.1"},
	{.line = "Nov 21 06:01:31 lmtp(bob)<13802><3Jir>: Info: msgid=<m@x>: saved mail to INBOX",
	 .type = MM_EV_LMTP_SAVED, .service = "lmtp", .addr = "bob", .msgid = "m@x", .code = "INBOX"},
	{.line = "Nov 21 06:01:31 lmtp(13802): Info: Connect from local", .type = MM_EV_IGNORED},
	{.line = "Nov 21 06:01:34 imap(bob)<13907><20jT/AAAB>: Info: Disconnected: Logged out in=32 out=811",
	 .type = MM_EV_SESSION_END, .service = "imap", .chan = "imap", .addr = "bob"},
	{.line = "Nov 21 06:01:34 pop3(bob)<1><s>: Info: Disconnected: Logged out top=0/0, retr=0/0",
	 .type = MM_EV_SESSION_END, .chan = "pop3"},
	{.line = "Nov 21 06:01:34 master: Info: Dovecot v2.3.19.1 (9b53102964) starting up",
	 .type = MM_EV_IGNORED},
	{.line = "Nov 21 06:01:34 master: Error: service(imap): child 1 killed", .type = MM_EV_ERROR},
	{.line = "Nov 21 06:01:34 imap-login: Info: something new", .type = MM_EV_UNPARSED,
	 .service = "imap-login"},
	{.line = "junk", .type = MM_EV_UNPARSED},
};

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct mm_log_event ev;
		mm_dovecot_parse(r->line, strlen(r->line), 2026, &ev);
		if (ev.type != r->type)
			fail_msg("row %zu: want %s, got %s", i, mm_ev_type_name(r->type),
				 mm_ev_type_name(ev.type));
		sv_is("service", ev.service, r->service);
		sv_is("chan", ev.channel, r->chan);
		sv_is("addr", ev.addr, r->addr);
		sv_is("ip", ev.client_ip, r->ip);
		sv_is("code", ev.code, r->code);
		sv_is("msgid", ev.message_id, r->msgid);
		if (r->count)
			assert_int_equal(ev.conn_count, r->count);
		if (r->flags)
			assert_int_equal(ev.flags & r->flags, r->flags);
	}
}

static void test_prefixes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		check_prefixes(rows[i].line, mm_dovecot_parse);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

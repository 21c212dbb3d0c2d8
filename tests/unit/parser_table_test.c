/* parser_table_test: the grammar table, auto dispatch and unparsed counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "parsers/event_fmt.h"
#include "parsers/parser.h"

static void test_find(void **state)
{
	(void)state;
	const char *names[] = {"auto", "postfix", "msgsrv", "dovecot", "exim"};
	for (size_t i = 0; i < 5; i++) {
		const struct mm_parser *p = mm_parser_find(names[i]);
		assert_non_null(p);
		assert_string_equal(p->name, names[i]);
		assert_non_null(p->parse);
	}
	assert_null(mm_parser_find("sendmail"));
}

static const struct {
	const char *line;
	enum mm_ev_source source;
	enum mm_ev_type type;
} autos[] = {
	{"Nov 21 05:59:09 mx postfix/qmgr[1]: ABCDEF1: removed", MM_SRC_POSTFIX, MM_EV_REMOVED},
	{"Nov 21 05:59:09 mx postfix-out/qmgr[1]: ABCDEF1: removed", MM_SRC_POSTFIX, MM_EV_REMOVED},
	{"Nov 21 05:59:09 mx out/qmgr[1]: ABCDEF1: removed", MM_SRC_POSTFIX, MM_EV_REMOVED},
	{"Nov 21 05:59:09 imap-login: Info: Login: user=<a>, rip=1.2.3.4", MM_SRC_DOVECOT,
	 MM_EV_LOGIN},
	{"2026-11-21 05:59:09 1xacL1-0003OG-2F Completed", MM_SRC_EXIM, MM_EV_REMOVED},
	{"2026-11-21 05:59:09 [7] SMTP connection from [1.2.3.4] (TCP/IP connection count = 1)",
	 MM_SRC_EXIM, MM_EV_CONNECT},
	{"Nov 21 05:59:09 mx exim4[2]: 1xacL1-0003OG-2F Completed", MM_SRC_EXIM, MM_EV_REMOVED},
	{"Nov 21 05:59:09 mx dovecot[2]: imap-login: Login: user=<a>, rip=1.2.3.4", MM_SRC_DOVECOT,
	 MM_EV_LOGIN},
	{"06-Oct-2003 00:24:03.66 ims-ms D 1 a@b rfc822;c@d c@d", MM_SRC_MSGSRV, MM_EV_DELIVERY},
	{"mail.log_current:06-Oct-2003 00:24:03.66 ims-ms D 1 a@b rfc822;c@d c@d", MM_SRC_MSGSRV,
	 MM_EV_DELIVERY},
	{"Nov 21 05:59:09 mx sshd[3]: Accepted", 0, MM_EV_UNPARSED},
};

static void test_auto(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof autos / sizeof autos[0]; i++) {
		struct mm_log_event ev;
		mm_auto_parse(autos[i].line, strlen(autos[i].line), 2026, &ev);
		if (ev.type != autos[i].type || ev.source != autos[i].source)
			fail_msg("row %zu: got %s source %d", i, mm_ev_type_name(ev.type),
				 (int)ev.source);
	}
}

static void test_unparsed(void **state)
{
	(void)state;
	struct mm_unparsed *u = calloc(1, sizeof *u);
	char line[128];
	for (int i = 0; i < MM_UNPARSED_PROGRAMS + 5; i++) {
		snprintf(line, sizeof line, "Nov 21 05:59:09 mx prog%d[3]: what", i);
		struct mm_log_event ev;
		mm_auto_parse(line, strlen(line), 2026, &ev);
		mm_unparsed_count(u, &ev);
		mm_unparsed_count(u, &ev);
	}
	struct mm_log_event ev;
	mm_auto_parse("junk", 4, 2026, &ev);
	mm_unparsed_count(u, &ev);
	mm_auto_parse("Nov 21 05:59:09 mx postfix/qmgr[1]: ABCDEF1: removed", 52, 2026, &ev);
	mm_unparsed_count(u, &ev); /* parsed: not counted */
	assert_int_equal(u->nprog, MM_UNPARSED_PROGRAMS);
	assert_string_equal(u->prog[0].name, "prog0");
	assert_int_equal(u->prog[0].count, 2);
	assert_int_equal(u->other, 10);
	assert_int_equal(u->no_header, 1);
	assert_int_equal(u->total, 2 * (MM_UNPARSED_PROGRAMS + 5) + 1);
	free(u);
}

static void test_format(void **state)
{
	(void)state;
	struct mm_log_event ev;
	const char *l = "Nov 21 05:59:09 mx postfix/qmgr[1]: ABCDEF1: removed";
	mm_auto_parse(l, strlen(l), 2026, &ev);
	char small[16];
	size_t need = mm_ev_format(&ev, small, sizeof small);
	assert_true(need > sizeof small);
	assert_int_equal(strlen(small), sizeof small - 1);
	char buf[512];
	mm_ev_format(&ev, buf, sizeof buf);
	assert_string_equal(buf, "REMOVED t=1795240749000 host=mx prog=postfix/qmgr inst=postfix "
				 "svc=qmgr pid=1 qid=ABCDEF1");
	assert_string_equal(mm_ev_type_name(MM_EV__COUNT), "?");
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_unparsed),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

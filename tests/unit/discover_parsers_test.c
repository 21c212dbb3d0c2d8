/*
 * discover_parsers_test: the parsers behind `mailmon init` on small
 * inputs, table-driven (input, want): postconf and postmulti -l output,
 * master.cf listeners, doveconf -n flattening, rsyslog and syslog-ng
 * mail rules, slapd URL lists; and their errors, which name the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "discover/doveconf.h"
#include "discover/mastercf.h"
#include "discover/postconf_out.h"
#include "discover/slapd_urls.h"
#include "discover/syslog_rules.h"

static void test_postconf(void **state)
{
	static const struct {
		const char *in, *name, *want; /* want NULL: absent */
		int rc;
		const char *err;
	} cases[] = {
		{"queue_directory = /var/spool/postfix\n", "queue_directory", "/var/spool/postfix", 0, NULL},
		{"maillog_file =\n", "maillog_file", "", 0, NULL},
		{"a = 1\na = 2\n", "a", "2", 0, NULL},
		{"mydestination = $myhostname,\n  localhost\n", "mydestination", "$myhostname, localhost", 0, NULL},
		{"x = 1\r\n", "x", "1", 0, NULL},
		{"x = 1\nno equals here\n", "x", "1", -1, "line 2: expected \"name = value\""},
		{"  leading continuation\n", "x", NULL, -1, "line 1: continuation before any parameter"},
		{"two words = 1\n", "two", NULL, -1, "line 1: bad parameter name"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mm_kvlist kv = {0};
		struct mm_err err = {{0}};
		int rc = mm_postconf_parse(cases[i].in, strlen(cases[i].in), &kv, &err);
		assert_int_equal(rc, cases[i].rc);
		if (cases[i].err)
			assert_string_equal(err.msg, cases[i].err);
		const char *got = mm_kvlist_get(&kv, cases[i].name);
		if (cases[i].want)
			assert_string_equal(got, cases[i].want);
		else
			assert_null(got);
		mm_kvlist_free(&kv);
	}
}

static void test_postmulti(void **state)
{
	struct mm_pf_instance in[MM_PF_MAX_INSTANCES];
	size_t n;
	struct mm_err err;
	const char *ok = "-   -   y   /etc/postfix\npostfix-out mta n /etc/postfix-out\n\n";
	assert_int_equal(mm_postmulti_parse(ok, strlen(ok), in, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(in[0].name, "-");
	assert_true(in[0].enabled);
	assert_string_equal(in[1].name, "postfix-out");
	assert_string_equal(in[1].group, "mta");
	assert_false(in[1].enabled);
	assert_string_equal(in[1].config_dir, "/etc/postfix-out");

	static const struct {
		const char *in, *err;
	} bad[] = {
		{"- - y\n", "line 1: expected NAME GROUP ENABLED CONFIG_DIRECTORY"},
		{"- - y /etc/postfix\n- - maybe /etc/x\n", "line 2: enabled is \"maybe\", expected y or n"},
		{"- - y etc/postfix\n", "line 1: config directory \"etc/postfix\" is not absolute"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(mm_postmulti_parse(bad[i].in, strlen(bad[i].in), in, &n, &err), -1);
		assert_string_equal(err.msg, bad[i].err);
	}
	/* more instances than fit: an error, not an overflow */
	char many[64 * (MM_PF_MAX_INSTANCES + 2)] = "";
	for (int i = 0; i < MM_PF_MAX_INSTANCES + 1; i++)
		strcat(many, "p - y /etc/p\n");
	assert_int_equal(mm_postmulti_parse(many, strlen(many), in, &n, &err), -1);
	assert_int_equal(n, MM_PF_MAX_INSTANCES);
}

static void test_mastercf_listeners(void **state)
{
	static const struct {
		const char *in;
		enum mm_smtp_kind kind;
		const char *host;
		int port;
	} cases[] = {
		{"smtp inet n - y - - smtpd\n", MM_SMTP_SMTP, "", 25},
		{"smtp inet n - y - 1 postscreen\n", MM_SMTP_SMTP, "", 25},
		{"submission inet n - y - - smtpd\n  -o smtpd_tls_security_level=encrypt\n",
		 MM_SMTP_SUBMISSION, "", 587},
		{"smtps inet n - y - - smtpd\n  -o smtpd_tls_wrappermode=yes\n", MM_SMTP_SMTPS, "", 465},
		{"2465 inet n - y - - smtpd -o smtpd_tls_wrappermode=yes\n", MM_SMTP_SMTPS, "", 2465},
		{"127.0.0.1:10025 inet n - n - - smtpd\n", MM_SMTP_SMTP, "127.0.0.1", 10025},
		{"[::1]:submission inet n - n - - smtpd\n", MM_SMTP_SUBMISSION, "::1", 587},
		{"mx:lmtp inet n - n - - smtpd\n", MM_SMTP_SMTP, "mx", 0},
		{"smtp unix - - y - - smtp\n", MM_SMTP_NONE, "", 0},
		{"smtpd pass - - y - - smtpd\n", MM_SMTP_NONE, "", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mm_master_entry *e;
		size_t n;
		struct mm_err err;
		assert_int_equal(mm_mastercf_parse(cases[i].in, strlen(cases[i].in), &e, &n, &err), 0);
		assert_int_equal(n, 1);
		struct mm_master_listener l;
		mm_mastercf_listener(&e[0], &l);
		assert_int_equal(l.kind, cases[i].kind);
		if (cases[i].kind != MM_SMTP_NONE) {
			assert_string_equal(l.host, cases[i].host);
			assert_int_equal(l.port, cases[i].port);
		}
		mm_mastercf_free(e, n);
	}
}

static void test_mastercf_entries(void **state)
{
	const char *in = "# comment\n"
			 "smtp inet n - y - - smtpd\n"
			 "#  -o commented=out\n"
			 "  -o a=1\n"
			 "\n"
			 "  -o b\n"
			 "relay unix - - y - - smtp\n";
	struct mm_master_entry *e;
	size_t n;
	struct mm_err err;
	assert_int_equal(mm_mastercf_parse(in, strlen(in), &e, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].line, 2);
	assert_int_equal(e[0].opts.n, 2);
	assert_string_equal(mm_kvlist_get(&e[0].opts, "a"), "1");
	assert_null(mm_kvlist_get(&e[0].opts, "commented"));
	assert_string_equal(e[1].command, "smtp");
	assert_int_equal(e[1].line, 7);
	mm_mastercf_free(e, n);

	static const struct {
		const char *in, *err;
	} bad[] = {
		{"smtp inet n - y\n", "line 1: expected 8 fields, found 5"},
		{"  -o x=y\n", "line 1: continuation line before any entry"},
		{"smtp inet n - y - - smtpd\nrelay unix -\n", "line 2: expected 8 fields, found 3"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(mm_mastercf_parse(bad[i].in, strlen(bad[i].in), &e, &n, &err), -1);
		assert_string_equal(err.msg, bad[i].err);
		mm_mastercf_free(e, n);
	}
}

static void test_doveconf(void **state)
{
	const char *in = "# 2.3.19.1: /etc/dovecot/dovecot.conf\n"
			 "protocols = \" imap lmtp\"\n"
			 "service imap-login {\n"
			 "  inet_listener imaps {\n"
			 "    port = 993\n"
			 "    ssl = yes\n"
			 "  }\n"
			 "}\n"
			 "ssl_cert = </etc/ssl/x.pem\n"
			 "empty =\n";
	struct mm_kvlist kv = {0};
	struct mm_err err;
	assert_int_equal(mm_doveconf_parse(in, strlen(in), &kv, &err), 0);
	assert_string_equal(mm_kvlist_get(&kv, "protocols"), "imap lmtp");
	assert_string_equal(mm_kvlist_get(&kv, "service imap-login/inet_listener imaps/port"), "993");
	assert_string_equal(mm_kvlist_get(&kv, "service imap-login/inet_listener imaps/ssl"), "yes");
	assert_string_equal(mm_kvlist_get(&kv, "ssl_cert"), "</etc/ssl/x.pem");
	assert_string_equal(mm_kvlist_get(&kv, "empty"), "");
	assert_null(mm_kvlist_get(&kv, "port"));
	mm_kvlist_free(&kv);

	static const struct {
		const char *in, *err;
	} bad[] = {
		{"}\n", "line 1: '}' without a block"},
		{"a {\nb = 1\n", "line 2: 1 block not closed"},
		{"a = 1\njunk\n", "line 2: expected \"name = value\" or \"name {\""},
		{"= 1\n", "line 1: setting without a name"},
		{"a{\nb{\nc{\nd{\ne{\nf{\ng{\nh{\ni{\nj{\nk{\nl{\nm{\nn{\no{\np{\nq{\n",
		 "line 17: blocks nested deeper than 16"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct mm_kvlist k2 = {0};
		assert_int_equal(mm_doveconf_parse(bad[i].in, strlen(bad[i].in), &k2, &err), -1);
		assert_string_equal(err.msg, bad[i].err);
		mm_kvlist_free(&k2);
	}
}

/* "a, b" from a kvlist's names, for comparing lists in one assert. */
static void joined(const struct mm_kvlist *l, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			strncat(buf, ", ", cap - strlen(buf) - 1);
		strncat(buf, l->v[i].name, cap - strlen(buf) - 1);
	}
}

struct rules_case {
	const char *in, *mail, *all;
};

typedef size_t rules_fn(const char *, size_t, struct mm_kvlist *, struct mm_kvlist *);

static void check_rules(rules_fn *fn, const struct rules_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct mm_kvlist mail = {0}, all = {0};
		char got[512];
		fn(cases[i].in, strlen(cases[i].in), &mail, &all);
		joined(&mail, got, sizeof got);
		assert_string_equal(got, cases[i].mail);
		joined(&all, got, sizeof got);
		assert_string_equal(got, cases[i].all);
		mm_kvlist_free(&mail);
		mm_kvlist_free(&all);
	}
}

static void test_rsyslog(void **state)
{
	static const struct rules_case cases[] = {
		{"mail.*\t-/var/log/mail.log\n", "/var/log/mail.log", ""},
		{"mail.info -/var/log/mail.info\nmail.warn -/var/log/mail.warn\n"
		 "mail.* -/var/log/mail.log\n", "/var/log/mail.log", ""},
		{"mail.info -/var/log/mail.info\nmail.err /var/log/mail.err\n", "/var/log/mail.info", ""},
		{"*.*;auth,authpriv.none -/var/log/syslog\n", "", "/var/log/syslog"},
		{"*.*;mail.none -/var/log/messages\n", "", ""},
		{"mail,news.* /var/log/mn\n", "/var/log/mn", ""},
		{"mail.* action(type=\"omfile\" file=\"/var/log/m2\")\n", "/var/log/m2", ""},
		{"if $programname == 'postfix' then /var/log/pf\n$IncludeConfig x\n", "", ""},
		{"mail.* :omusrmsg:*\n", "", ""},
	};
	check_rules(mm_rsyslog_mail_files, cases, sizeof cases / sizeof cases[0]);
}

static void test_syslogng(void **state)
{
	static const struct rules_case cases[] = {
		{"destination d_mail { file(\"/var/log/mail.log\"); };\n"
		 "filter f_mail { facility(mail) and not filter(f_debug); };\n"
		 "log { source(s_src); filter(f_mail); destination(d_mail); };\n",
		 "/var/log/mail.log", ""},
		{"destination d_all { file('/var/log/all'); };\n"
		 "log { source(s); destination(d_all); };\n", "", "/var/log/all"},
		{"destination d_e { file(\"/var/log/mail.err\"); };\n"
		 "filter f_mail { facility(mail); };\nfilter f_err { level(err); };\n"
		 "log { source(s); filter(f_mail); filter(f_err); destination(d_e); };\n", "", ""},
		{"filter f_x { not facility(mail); };\ndestination d { file(\"/x\"); };\n"
		 "log { filter(f_x); destination(d); };\n", "", ""},
		{"@version: 3.38\n# log { destination(d); };\nlog { unbalanced\n", "", ""},
	};
	check_rules(mm_syslogng_mail_files, cases, sizeof cases / sizeof cases[0]);
}

static void test_slapd(void **state)
{
	struct mm_slapd_listener ls[4];
	size_t n;
	struct mm_err err;
	const char *f = "# x\nSLAPD_SERVICES=\"ldap:/// ldaps://127.0.0.1:1636/ ldapi:///\"\n";
	assert_int_equal(mm_slapd_services(f, strlen(f), ls, 4, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ls[0].scheme, "ldap");
	assert_string_equal(ls[0].host, "");
	assert_int_equal(ls[0].port, 389);
	assert_string_equal(ls[1].host, "127.0.0.1");
	assert_int_equal(ls[1].port, 1636);
	assert_string_equal(ls[2].scheme, "ldapi");
	const char *v6 = "ldap://[::1]:3389/";
	assert_int_equal(mm_slapd_parse_urls(v6, strlen(v6), ls, 4, &n, &err), 0);
	assert_string_equal(ls[0].host, "::1");
	assert_int_equal(ls[0].port, 3389);
	assert_int_equal(mm_slapd_services("SLAPD_CONF=\n", 12, ls, 4, &n, &err), 0);
	assert_int_equal(n, 0);

	static const struct {
		const char *in, *err;
	} bad[] = {
		{"SLAPD_SERVICES=\"http://x/\"\n", "line 1: SLAPD_SERVICES: \"http://x/\": scheme http is not ldap, ldaps or ldapi"},
		{"\nSLAPD_SERVICES='ldap://h:99999/'\n", "line 2: SLAPD_SERVICES: \"ldap://h:99999/\": bad port"},
		{"SLAPD_SERVICES=ldap\n", "line 1: SLAPD_SERVICES: \"ldap\": not an LDAP URL"},
		{"SLAPD_SERVICES=\"ldap:/// ldap:/// ldap:/// ldap:/// ldap:///\"\n",
		 "line 1: SLAPD_SERVICES: more than 4 listeners"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(mm_slapd_services(bad[i].in, strlen(bad[i].in), ls, 4, &n, &err), -1);
		assert_string_equal(err.msg, bad[i].err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postconf),	 cmocka_unit_test(test_postmulti),
		cmocka_unit_test(test_mastercf_listeners), cmocka_unit_test(test_mastercf_entries),
		cmocka_unit_test(test_doveconf),	 cmocka_unit_test(test_rsyslog),
		cmocka_unit_test(test_syslogng),	 cmocka_unit_test(test_slapd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

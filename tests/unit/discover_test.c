/*
 * discover_test: `mailmon init`'s discovery end to end on a recorded host
 * (tests/discover/): two Postfix instances (postmulti -l, postconf,
 * master.cf with postscreen, submission, smtps and an amavis filter; a
 * third instance disabled), a Dovecot with only IMAPS (doveconf -n),
 * slapd, rsyslog, systemd. A fake struct mm_host answers commands and
 * file reads from the recordings; the plan is rendered and must load as
 * a config that passes the services check, with the values expected.
 * A second host with nothing installed must plan no service at all.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/atomicfile.h"
#include "core/config.h"
#include "discover/discover.h"
#include "services/service_check.h"

struct fake {
	const char *const (*cmds)[2];  /* "argv joined by blanks" -> recording */
	const char *const (*files)[2]; /* path -> recording */
	const char *const *exists;     /* more paths that exist */
	char dir[512];
};

static char *recording(struct fake *f, const char *name, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	struct mm_err err;
	char *text = mm_file_read_capped(path, 1 << 20, len, NULL, &err);
	if (!text)
		fail_msg("%s", err.msg);
	return text;
}

static int fake_run(void *ctx, char *const argv[], char **out, size_t *len, struct mm_err *err)
{
	struct fake *f = ctx;
	char line[1024] = "";
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			strncat(line, " ", sizeof line - strlen(line) - 1);
		strncat(line, argv[i], sizeof line - strlen(line) - 1);
	}
	for (size_t i = 0; f->cmds[i][0]; i++)
		if (strcmp(f->cmds[i][0], line) == 0) {
			*out = recording(f, f->cmds[i][1], len);
			return 0;
		}
	return mm_err_set(err, "%s: exit status 1", line);
}

static char *fake_read(void *ctx, const char *path, size_t *len, int *eno, struct mm_err *err)
{
	struct fake *f = ctx;
	for (size_t i = 0; f->files[i][0]; i++)
		if (strcmp(f->files[i][0], path) == 0)
			return recording(f, f->files[i][1], len);
	*eno = ENOENT;
	mm_err_set(err, "%s: No such file or directory", path);
	return NULL;
}

static bool fake_exists(void *ctx, const char *path)
{
	struct fake *f = ctx;
	for (size_t i = 0; f->files[i][0]; i++)
		if (strcmp(f->files[i][0], path) == 0)
			return true;
	for (size_t i = 0; f->exists[i]; i++)
		if (strcmp(f->exists[i], path) == 0)
			return true;
	return false;
}

static int fake_list(void *ctx, const char *dir, struct mm_kvlist *names)
{
	struct fake *f = ctx;
	size_t dl = strlen(dir);
	int any = -1;
	for (size_t i = 0; f->files[i][0]; i++)
		if (strncmp(f->files[i][0], dir, dl) == 0 && f->files[i][0][dl] == '/') {
			mm_kvlist_add(names, f->files[i][0] + dl + 1, NULL);
			any = 0;
		}
	return any;
}

#define PC_ARGS " queue_directory command_directory syslog_name maillog_file inet_interfaces " \
		"inet_protocols content_filter defer_transports"

static const char *const mail_cmds[][2] = {
	{"/usr/sbin/postmulti -l", "postmulti-l.txt"},
	{"/usr/sbin/postconf -c /etc/postfix" PC_ARGS, "postconf-postfix.txt"},
	{"/usr/sbin/postconf -c /etc/postfix-out" PC_ARGS, "postconf-postfix-out.txt"},
	{"/usr/bin/doveconf -n", "doveconf-imaps-only.txt"},
	{NULL, NULL},
};
static const char *const mail_files[][2] = {
	{"/etc/postfix/master.cf", "master-postfix.cf"},
	{"/etc/postfix-out/master.cf", "master-postfix-out.cf"},
	{"/etc/rsyslog.conf", "rsyslog.conf"},
	{"/etc/default/slapd", "default-slapd"},
	{NULL, NULL},
};
static const char *const mail_exists[] = {
	"/usr/sbin/postconf", "/usr/sbin/postmulti", "/usr/sbin/postfix", "/usr/bin/doveconf",
	"/usr/sbin/dovecot", "/usr/sbin/slapd", "/etc/ldap/slapd.d", "/run/systemd/system",
	"/lib/systemd/system/postfix@.service", "/lib/systemd/system/dovecot.service",
	"/lib/systemd/system/slapd.service", NULL,
};

static struct mm_config *discover_and_load(struct fake *f, struct mm_plan *plan, int *found,
					   char **text)
{
	const char *src = getenv("MAILMON_SOURCE_DIR");
	snprintf(f->dir, sizeof f->dir, "%s/tests/discover", src ? src : ".");
	struct mm_host host = {fake_run, fake_read, fake_exists, fake_list, f};
	memset(plan, 0, sizeof *plan);
	*found = mm_discover(&host, plan);
	*text = mm_plan_render(plan, "test");
	struct mm_diags diags = {0};
	struct mm_config *conf = mm_config_load_string(*text, "init.conf", &diags);
	if (conf)
		mm_services_check(conf, &diags);
	for (size_t i = 0; i < diags.n; i++)
		print_message("%s\n", diags.msgs[i]);
	assert_int_equal(diags.n, 0);
	assert_non_null(conf);
	mm_diags_free(&diags);
	return conf;
}

static void test_mail_host(void **state)
{
	struct fake f = {mail_cmds, mail_files, mail_exists, ""};
	struct mm_plan plan;
	int found;
	char *text;
	struct mm_config *conf = discover_and_load(&f, &plan, &found, &text);
	assert_int_equal(found, 4); /* two Postfix instances, Dovecot, slapd */
	static const struct {
		const char *section, *key, *want; /* want NULL: not set in the file */
	} want[] = {
		{"mta", "type", "postfix"},
		{"mta", "config_directory", "/etc/postfix"},
		{"mta", "queue_directory", "/var/spool/postfix"},
		{"queue", "instances", "/etc/postfix-out"},
		/* postscreen on smtp, inet_interfaces = all */
		{"service.smtp", "url", "smtp://127.0.0.1:25"},
		{"service.smtp", "pidfile", "/var/spool/postfix/pid/master.pid"},
		{"service.smtp", "restart", "systemctl restart postfix@-.service"},
		{"service.submission", "url", "submission://127.0.0.1:587"},
		{"service.smtps", "url", "smtps://127.0.0.1:465"},
		/* the amavis return path, 127.0.0.1:10025 */
		{"service.smtp-10025", "url", "smtp://127.0.0.1:10025"},
		{"service.filter", "url", "smtp://127.0.0.1:10024"},
		/* the second instance, on its own address */
		{"service.postfix-out-smtp", "url", "smtp://192.0.2.10:25"},
		{"service.postfix-out-smtp", "pidfile", "/var/spool/postfix-out/pid/master.pid"},
		{"service.postfix-out-smtp", "restart", "systemctl restart postfix@postfix-out.service"},
		{"service.postfix-out-smtp", "restart_group", "postfix-out"},
		/* Dovecot: only IMAPS */
		{"service.imaps", "url", "imaps://127.0.0.1:993"},
		{"service.imaps", "pidfile", "/run/dovecot/master.pid"},
		{"service.imaps", "restart", "systemctl restart dovecot.service"},
		{"service.imaps", "tls_verify", "no"},
		{"service.imaps", "credentials_file", NULL},
		{"service.ldap", "url", "ldap://127.0.0.1:389"},
		{"service.ldaps", "url", "ldaps://127.0.0.1:636"},
		/* logs: maillog_file, Dovecot log_path, rsyslog's mail.* for "postfix" */
		{"log", "sources", "/var/log/postfix-out.log, /var/log/dovecot.log, /var/log/mail.log"},
		{"alarm.diskavail", "enable", "yes"},
		{"alarm", "noticercpt", NULL},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct mm_conf_entry *e = mm_config_entry(conf, want[i].section, want[i].key);
		if (!want[i].want) {
			if (e)
				fail_msg("%s.%s is set to %s", want[i].section, want[i].key, e->value);
			continue;
		}
		if (!e)
			fail_msg("%s.%s not set; want %s", want[i].section, want[i].key, want[i].want);
		assert_string_equal(e->value, want[i].want);
	}
	/* no IMAP, no POP3: the listener is off and pop3 is not a protocol */
	static const char *const absent[] = {"service.imap", "service.pop3", "service.pop3s",
					     "service.postfix-old-smtp"};
	for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
		for (size_t s = 0; s < conf->nsections; s++)
			if (strcmp(conf->sections[s], absent[i]) == 0)
				fail_msg("[%s] planned", absent[i]);
	/* what could not be determined is there, commented, with its reason */
	assert_non_null(strstr(text, "# Not determined: who receives alarm mail."));
	assert_non_null(strstr(text, "#noticercpt = postmaster@localhost\n"));
	assert_non_null(strstr(text, "#credentials_file = /etc/mailmon/imap.cred\n"));
	/* defer_transports and the store partition are said */
	assert_non_null(strstr(text, "defer_transports = slow"));
	assert_non_null(strstr(text, "# mail partition: /var/vmail (Dovecot mail_location)"));
	mm_config_free(conf);
	free(text);
	mm_plan_free(&plan);
}

static void test_empty_host(void **state)
{
	static const char *const none_cmds[][2] = {{NULL, NULL}};
	static const char *const none_files[][2] = {{NULL, NULL}};
	static const char *const none_exists[] = {NULL};
	struct fake f = {none_cmds, none_files, none_exists, ""};
	struct mm_plan plan;
	int found;
	char *text;
	struct mm_config *conf = discover_and_load(&f, &plan, &found, &text);
	assert_int_equal(found, 0);
	assert_string_equal(mm_config_get(conf, "mta", "type"), "none");
	for (size_t s = 0; s < conf->nsections; s++)
		assert_null(strstr(conf->sections[s], "service."));
	assert_non_null(strstr(text, "#sources = /var/log/mail.log\n"));
	mm_config_free(conf);
	free(text);
	mm_plan_free(&plan);
}

/* Postfix without postmulti output and without systemd: one instance,
 * started by its own command. */
static void test_single_no_systemd(void **state)
{
	static const char *const cmds[][2] = {
		{"/usr/sbin/postconf -c /etc/postfix" PC_ARGS, "postconf-postfix.txt"},
		{NULL, NULL},
	};
	static const char *const files[][2] = {
		{"/etc/postfix/master.cf", "master-postfix-out.cf"},
		{NULL, NULL},
	};
	static const char *const exists[] = {"/usr/sbin/postconf", "/run/systemd/journal/socket",
					     NULL};
	struct fake f = {cmds, files, exists, ""};
	struct mm_plan plan;
	int found;
	char *text;
	struct mm_config *conf = discover_and_load(&f, &plan, &found, &text);
	assert_int_equal(found, 1);
	assert_string_equal(mm_config_get(conf, "service.smtp", "url"), "smtp://192.0.2.10:25");
	assert_string_equal(mm_config_get(conf, "service.smtp", "start"),
			    "/usr/sbin/postfix -c /etc/postfix start");
	assert_null(mm_config_entry(conf, "service.smtp", "restart"));
	/* syslog_name postfix, no syslog rule, journald: the journal */
	assert_string_equal(mm_config_get(conf, "log", "sources"), "journal");
	assert_string_equal(mm_config_get(conf, "log", "journal_match"), "postfix");
	/* content_filter names a transport master.cf lacks: the section is
	 * written, commented out as a whole, with the reason */
	assert_non_null(strstr(text, "#[service.filter]\n# Not determined: transport amavis"));
	mm_config_free(conf);
	free(text);
	mm_plan_free(&plan);
}

/* The real host: argv run without a shell, its stdout returned whole;
 * a failing command or a missing file is an error with a message. */
static void test_system_host(void **state)
{
	const struct mm_host *h = mm_host_system();
	char *out;
	size_t len;
	struct mm_err err;
	char *echo[] = {(char *)"/bin/echo", (char *)"a  b", (char *)"$HOME", NULL};
	assert_int_equal(h->run(h->ctx, echo, &out, &len, &err), 0);
	assert_string_equal(out, "a  b $HOME\n");
	assert_int_equal(len, 11);
	free(out);
	char *fail[] = {(char *)"/bin/false", NULL};
	assert_int_equal(h->run(h->ctx, fail, &out, &len, &err), -1);
	assert_non_null(strstr(err.msg, "/bin/false"));
	int eno = 0;
	assert_null(h->read(h->ctx, "/nonexistent/mailmon", &len, &eno, &err));
	assert_int_equal(eno, ENOENT);
	assert_false(h->exists(h->ctx, "/nonexistent/mailmon"));
	assert_true(h->exists(h->ctx, "/bin/echo"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_host),
		cmocka_unit_test(test_mail_host),
		cmocka_unit_test(test_empty_host),
		cmocka_unit_test(test_single_no_systemd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

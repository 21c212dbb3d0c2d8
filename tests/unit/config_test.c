/*
 * config_test: loading, diagnostics and lookup of mailmon configs.
 * Table-driven: each case is a config text and the diagnostics wanted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/config.h"
#include "need.h"

struct bad_case {
	const char *text;
	const char *want[4]; /* substrings of diagnostics, in order */
};

static const struct bad_case bad_cases[] = {
	{"[alarm.diskavail]\nthreshhold = 20\n",
	 {"t.conf:2: [alarm.diskavail] threshhold: unknown key; did you mean threshold?"}},
	{"[alarm.diskavail]\nstatinterval = 10 s\n",
	 {"t.conf:2: [alarm.diskavail] statinterval: expected a duration such as 30s"}},
	{"[alarm.diskavail]\nstatinterval = 0s\n",
	 {"t.conf:2: [alarm.diskavail] statinterval: 0s is out of range (1s..366d)"}},
	{"[alarm]\nnoticeport = 99999\n",
	 {"t.conf:2: [alarm] noticeport: 99999 is out of range (1..65535)"}},
	{"[alarm]\nnoticeport = 25x\n", {"expected an integer, got \"25x\""}},
	{"[alarm]\nnoticercpt = bob\n", {"t.conf:2: [alarm] noticercpt: expected a mail address"}},
	{"[alarm]\nnoticehost = bad_host!\n", {"noticehost: expected an IP address or host name"}},
	{"[http]\nlisten = 127.0.0.1\n", {"listen: expected host:port, the port is missing"}},
	{"[http]\nlisten = ::1:80\n", {"IPv6 addresses need brackets"}},
	{"[alarm]\nthreshold = 3\n", {"[alarm] threshold: unknown key; it belongs in [alarm.diskavail]"}},
	{"[alram.diskavail]\nthreshold = 3\n",
	 {"t.conf:1: [alram.diskavail]: unknown section; did you mean [alarm.diskavail]?"}},
	{"[nosuch]\n", {"t.conf:1: [nosuch]: unknown section"}},
	/* libinih keeps blanks inside brackets: refuse, never drop keys */
	{"[ alarm ]\nnoticeport = 25\n", {"t.conf:1: [ alarm ]: unknown section; did you mean [alarm]?"}},
	{"[alarm.diskavail\f]\nthreshold = 1\n", {"unknown section"}},
	{"[mta]\ntype = postfx\n", {"[mta] type: expected one of postfix|exim|msgsrv|none"}},
	{"[mta]\ntype = postfix\ntype = exim\n", {"t.conf:3: [mta] type: set twice (first on line 2)"}},
	{"threshold = 3\n", {"t.conf:1: threshold: key outside any [section]"}},
	{"[mta]\nthis line has no equals\n", {"t.conf:2: syntax error"}},
	{"[mta]\nconfig_directory = etc/postfix\n", {"expected an absolute path"}},
	{"[daemon]\nlog_level = loud\n", {"expected one of debug|info"}},
	/* several problems: every one is reported, in file order */
	{"[alarm.diskavail]\nthreshhold = 1\nthreshold = 101\n[alarm]\nnoticeport = 0\n",
	 {"t.conf:2:", "t.conf:3: [alarm.diskavail] threshold: 101 is out of range (0..100)",
	  "t.conf:5: [alarm] noticeport"}},
};

static void test_bad_configs(void **state)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		struct mm_diags d = {0};
		struct mm_config *conf = mm_config_load_string(c->text, "t.conf", &d);
		if (conf) {
			fail_msg("case %zu: accepted %s", i, c->text);
		}
		size_t want = 0;
		while (want < 4 && c->want[want])
			want++;
		if (d.n < want)
			fail_msg("case %zu: %zu diagnostics, want %zu (first: %s)", i, d.n, want,
				 d.n ? d.msgs[0] : "-");
		for (size_t k = 0; k < want; k++)
			if (!strstr(d.msgs[k], c->want[k]))
				fail_msg("case %zu: diagnostic %zu is \"%s\", want \"%s\"", i, k,
					 d.msgs[k], c->want[k]);
		mm_diags_free(&d);
	}
}

static void test_good_config_and_defaults(void **state)
{
	const char *text = "# comment\n"
			   "; another\n"
			   "[alarm.diskavail]\n"
			   "threshold = 20\n"
			   "statinterval = 10m\n"
			   "thresholddirection = below\n"
			   "\n"
			   "[alarm]\n"
			   "noticercpt = root@example.org\n"
			   "[log]\n"
			   "sources = /var/log/mail.log, journal\n"
			   "[http]\n"
			   "listen = [::1]:9925\n";
	struct mm_diags d = {0};
	struct mm_config *conf = mm_config_load_string(text, "good.conf", &d);
	assert_non_null(conf);
	assert_int_equal(d.n, 0);
	assert_int_equal(mm_config_int(conf, "alarm.diskavail", "threshold"), 20);
	assert_int_equal(mm_config_duration_ms(conf, "alarm.diskavail", "statinterval"), 600000);
	/* defaults come from the schema */
	assert_int_equal(mm_config_int(conf, "alarm.serverresponse", "threshold"), 10);
	assert_int_equal(mm_config_duration_ms(conf, "alarm.serverresponse", "warninginterval"),
			 86400000);
	assert_string_equal(mm_config_get(conf, "alarm", "noticercpt"), "root@example.org");
	assert_string_equal(mm_config_get(conf, "alarm", "noticesender"), "mailmon@localhost");
	assert_true(mm_config_bool(conf, "http", "enable"));
	assert_null(mm_config_entry(conf, "alarm", "noticeport"));
	const struct mm_conf_entry *e = mm_config_entry(conf, "alarm.diskavail", "statinterval");
	assert_non_null(e);
	assert_int_equal(e->line, 5);
	mm_config_free(conf);
}

/* Every schema default must itself be valid, or a getter would silently
 * read zero. */
static void test_schema_defaults_valid(void **state)
{
	for (size_t i = 0; i < mm_conf_key_count(); i++) {
		const struct mm_conf_key *k = mm_conf_key_at(i);
		struct mm_err err;
		if (k->def && mm_conf_validate(k, k->def, &err) < 0)
			fail_msg("default of %s.%s invalid: %s", k->section, k->name, err.msg);
		if (!mm_conf_find_section(strchr(k->section, '*') ? "x" : k->section) &&
		    !strchr(k->section, '*'))
			fail_msg("key %s.%s has no section row", k->section, k->name);
		assert_non_null(k->help);
	}
}

static void test_split_name(void **state)
{
	char s[64], k[64];
	assert_int_equal(mm_config_split_name("alarm.diskavail.threshold", s, sizeof s, k, sizeof k), 0);
	assert_string_equal(s, "alarm.diskavail");
	assert_string_equal(k, "threshold");
	assert_int_equal(mm_config_split_name("threshold", s, sizeof s, k, sizeof k), -1);
	assert_int_equal(mm_config_split_name("alarm.", s, sizeof s, k, sizeof k), -1);
	assert_int_equal(mm_config_split_name(".x", s, sizeof s, k, sizeof k), -1);
}

static void test_long_line(void **state)
{
	char text[1024];
	char value[600];
	memset(value, 'a', sizeof value - 1);
	value[sizeof value - 1] = '\0';
	snprintf(text, sizeof text, "[alarm.diskavail]\ndescription = %s\nthreshold = 5\n", value);
	struct mm_diags d = {0};
	struct mm_config *conf = mm_config_load_string(text, "t.conf", &d);
	assert_null(conf);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msgs[0], "t.conf:2: line longer than"));
	mm_diags_free(&d);
}

static void test_missing_file(void **state)
{
	struct mm_diags d = {0};
	assert_null(mm_config_load("/nonexistent/mailmon.conf", &d));
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msgs[0], "/nonexistent/mailmon.conf: cannot open"));
	mm_diags_free(&d);
}

/* The shipped etc/mailmon.conf must be valid. */
static void test_shipped_config(void **state)
{
	const char *src = getenv("MAILMON_SOURCE_DIR");
	NEED(src, "MAILMON_SOURCE_DIR is not set (CTest sets it)");
	char path[4096];
	snprintf(path, sizeof path, "%s/etc/mailmon.conf", src);
	struct mm_diags d = {0};
	struct mm_config *conf = mm_config_load(path, &d);
	if (!conf)
		fail_msg("%s", d.n ? d.msgs[0] : "?");
	mm_config_free(conf);
	mm_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_good_config_and_defaults),
		cmocka_unit_test(test_schema_defaults_valid),
		cmocka_unit_test(test_split_name),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_shipped_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* config_edit_test: `mailmon config set` edits keep comments and layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/config_edit.h"

static const struct {
	const char *in, *section, *key, *value, *want;
} cases[] = {
	/* replace in place, keeping indentation and the comments around it */
	{"# top\n[alarm]\n  noticeport = 25\n# tail\n", "alarm", "noticeport", "2525",
	 "# top\n[alarm]\n  noticeport = 2525\n# tail\n"},
	/* only the right section's key changes */
	{"[alarm.diskavail]\nthreshold = 10\n[alarm.serverresponse]\nthreshold = 10\n",
	 "alarm.serverresponse", "threshold", "30",
	 "[alarm.diskavail]\nthreshold = 10\n[alarm.serverresponse]\nthreshold = 30\n"},
	/* absent key: after a commented-out default in the section */
	{"[alarm]\n# The port.\n#noticeport = 25\n\n[mta]\n", "alarm", "noticeport", "26",
	 "[alarm]\n# The port.\n#noticeport = 25\nnoticeport = 26\n\n[mta]\n"},
	/* absent key, no comment: after the section's last key */
	{"[alarm]\nnoticehost = 127.0.0.1\n\n[mta]\ntype = postfix\n", "alarm", "noticeport",
	 "27", "[alarm]\nnoticehost = 127.0.0.1\nnoticeport = 27\n\n[mta]\ntype = postfix\n"},
	/* absent section: appended */
	{"[mta]\ntype = postfix\n", "alarm", "noticeport", "28",
	 "[mta]\ntype = postfix\n\n[alarm]\nnoticeport = 28\n"},
	/* empty file */
	{"", "alarm", "noticeport", "29", "[alarm]\nnoticeport = 29\n"},
	/* a last line without newline gets one */
	{"[alarm]\nnoticeport = 25", "alarm", "noticeport", "30", "[alarm]\nnoticeport = 30\n"},
	/* a key name that is a prefix of another is not confused */
	{"[alarm]\nnoticeportx = 1\n", "alarm", "noticeport", "31",
	 "[alarm]\nnoticeportx = 1\nnoticeport = 31\n"},
};

static void test_edit_text(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = mm_config_edit_text(cases[i].in, cases[i].section, cases[i].key,
						cases[i].value);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu:\n--- got\n%s--- want\n%s", i, got, cases[i].want);
		free(got);
	}
}

static void test_set_in_file(void **state)
{
	char dir[] = "/tmp/mailmon-edit-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/m.conf", dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("# keep me\n[alarm.diskavail]\nthreshold = 10\n", fp);
	fclose(fp);
	chmod(path, 0600);

	struct mm_err err;
	assert_int_equal(mm_config_set_in_file(path, "alarm.diskavail", "threshold", "25", &err), 0);
	/* refused values leave the file untouched */
	assert_int_equal(mm_config_set_in_file(path, "alarm.diskavail", "threshold", "250", &err), -1);
	assert_non_null(strstr(err.msg, "out of range"));
	assert_int_equal(mm_config_set_in_file(path, "alarm.diskavail", "threshhold", "2", &err), -1);
	assert_non_null(strstr(err.msg, "unknown key"));
	assert_int_equal(mm_config_set_in_file(path, "alarm", "noticercpt", "a\nb@x.org", &err), -1);

	struct mm_diags d = {0};
	struct mm_config *conf = mm_config_load(path, &d);
	assert_non_null(conf);
	assert_int_equal(mm_config_int(conf, "alarm.diskavail", "threshold"), 25);
	mm_config_free(conf);

	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	fp = fopen(path, "r");
	char buf[256] = "";
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_string_equal(buf, "# keep me\n[alarm.diskavail]\nthreshold = 25\n");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edit_text),
		cmocka_unit_test(test_set_in_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

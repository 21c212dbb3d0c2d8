/*
 * log_test: mailmond's log lines follow the syslog conventions: key=value
 * quoting (table), one line per event whatever the message holds, and a
 * log file that mm_log_reopen() replaces after it was moved away (what
 * logrotate and SIGUSR1 do).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/atomicfile.h"
#include "core/log.h"

static void test_kv_quoting(void **state)
{
	static const struct {
		const char *key, *value, *want;
	} cases[] = {
		{"pid", "812", " pid=812"},
		{"config", "/etc/mailmon/mailmon.conf", " config=/etc/mailmon/mailmon.conf"},
		{"error", "no such file", " error=\"no such file\""},
		{"msg", "say \"hi\"", " msg=\"say \\\"hi\\\"\""},
		{"path", "C:\\x", " path=\"C:\\\\x\""},
		{"empty", "", " empty=\"\""},
		{"none", NULL, " none=-"},
		{"eq", "a=b", " eq=\"a=b\""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[128] = "";
		mm_log_kv(buf, sizeof buf, cases[i].key, cases[i].value);
		assert_string_equal(buf, cases[i].want);
	}
	/* a small buffer cuts, never overflows, and stays terminated */
	char small[12] = "ev";
	mm_log_kv(small, sizeof small, "key", "a long value with blanks");
	assert_true(strlen(small) < sizeof small);
}

static void test_one_line(void **state)
{
	char msg[] = "postfix: exit 1:\nfatal: x\r\tend\x7f";
	mm_log_one_line(msg);
	assert_string_equal(msg, "postfix: exit 1: fatal: x  end ");
}

static char *slurp(const char *path)
{
	size_t len;
	struct mm_err err;
	char *t = mm_file_read_capped(path, 1 << 20, &len, NULL, &err);
	if (!t)
		fail_msg("%s", err.msg);
	return t;
}

static void test_file_and_reopen(void **state)
{
	char dir[] = "/tmp/mailmon-log-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], moved[256];
	snprintf(path, sizeof path, "%s/mailmond.log", dir);
	snprintf(moved, sizeof moved, "%s/mailmond.log.1", dir);
	struct mm_log log;
	memset(&log, 0, sizeof log);
	struct mm_err err;
	assert_int_equal(mm_log_open_file(&log, path, &err), 0);
	mm_log_open(&log, "mailmond", true); /* the file sink stays */
	assert_int_equal(log.sink, MM_LOG_FILE);
	mm_log_event(&log, LOG_NOTICE, "mailmond started", "pid", "42", "config", "/a b", NULL);
	mm_log(&log, LOG_ERR, "two\nlines");
	mm_log(&log, LOG_DEBUG, "below the level: not written");
	assert_int_equal(rename(path, moved), 0);
	mm_log(&log, LOG_INFO, "still to the moved file");
	assert_int_equal(mm_log_reopen(&log, &err), 0);
	mm_log(&log, LOG_WARNING, "to the new file");

	char *old = slurp(moved), *now = slurp(path);
	char pid[32];
	snprintf(pid, sizeof pid, " mailmond[%d]: ", (int)getpid());
	/* three lines, each "TIME mailmond[PID]: LEVEL: EVENT key=value" */
	char *l1 = old, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
	assert_non_null(strstr(l1, pid));
	assert_non_null(strstr(l1, ": notice: mailmond started pid=42 config=\"/a b\"\n"));
	assert_non_null(strstr(l2, ": error: two lines\n"));
	assert_non_null(strstr(l3, ": info: still to the moved file\n"));
	assert_int_equal(strchr(l3, '\n')[1], '\0'); /* the last line */
	assert_null(strstr(old, "below the level"));
	assert_non_null(strstr(now, ": warning: to the new file\n"));
	assert_int_equal(strchr(now, '\n')[1], '\0');
	free(old);
	free(now);

	/* a path that cannot be opened: an error, the old file stays in use */
	free(log.path);
	log.path = strdup("/nonexistent-dir/mailmond.log");
	assert_int_equal(mm_log_reopen(&log, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/mailmond.log"));
	mm_log_close(&log);
	unlink(path);
	unlink(moved);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kv_quoting),
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_file_and_reopen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

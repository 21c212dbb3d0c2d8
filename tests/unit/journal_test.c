/* journal_test: the journal source against a real journal file, written by
 * systemd-journal-remote from export format (LAB-NOTES): line form,
 * identifier prefixes and FIELD=value matches, cursor resume, caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "sources/journal.h"
#include "need.h"

#define REMOTE "/lib/systemd/systemd-journal-remote"

struct got {
	char *line[64];
	size_t n;
};

static void collect(const char *line, size_t len, void *arg)
{
	struct got *g = arg;
	assert_true(g->n < 64);
	assert_int_equal(strlen(line), len); /* NUL-terminated for convenience */
	g->line[g->n++] = xstrndup(line, len);
}

static void got_clear(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->line[i]);
	g->n = 0;
}

static char dir[64], jpath[128];

/* One export entry; binary MESSAGE when msg holds a newline. */
static void entry(FILE *fp, uint64_t usec, const char *ident, const char *pid,
		  const char *msg)
{
	fprintf(fp, "__REALTIME_TIMESTAMP=%llu\n__MONOTONIC_TIMESTAMP=%llu\n"
		    "_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=mx1\n",
		(unsigned long long)usec, (unsigned long long)usec / 1000);
	if (ident)
		fprintf(fp, "SYSLOG_IDENTIFIER=%s\n", ident);
	if (pid)
		fprintf(fp, "%s\n", pid);
	if (strchr(msg, '\n')) {
		uint64_t n = strlen(msg);
		unsigned char le[8];
		for (int i = 0; i < 8; i++)
			le[i] = (unsigned char)(n >> (8 * i));
		fputs("MESSAGE\n", fp);
		fwrite(le, 1, 8, fp);
		fprintf(fp, "%s\n", msg);
	} else {
		fprintf(fp, "MESSAGE=%s\n", msg);
	}
	fputc('\n', fp);
}

static int setup(void **state)
{
	if (access(REMOTE, X_OK) != 0)
		return 0;
	strcpy(dir, "/tmp/mm-journal-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char export[128], cmd[512];
	snprintf(export, sizeof export, "%s/entries.export", dir);
	snprintf(jpath, sizeof jpath, "%s/test.journal", dir);
	FILE *fp = fopen(export, "w");
	assert_non_null(fp);
	uint64_t t0 = 1700000000000000ULL; /* 2023-11-14T22:13:20Z */
	entry(fp, t0, "postfix/smtpd", "SYSLOG_PID=123", "connect from localhost[127.0.0.1]");
	entry(fp, t0 + 1500000, "sshd", "SYSLOG_PID=9", "Accepted publickey");
	entry(fp, t0 + 2000001, "dovecot", "_PID=77", "imap-login: Login: user=<u>");
	entry(fp, t0 + 3000000, "postfix-out/smtp", "SYSLOG_PID=5", "two\nlines");
	entry(fp, t0 + 4000000, "postfix/qmgr", NULL, "ABC: removed");
	entry(fp, t0 + 5000000, NULL, NULL, "no identifier");
	fclose(fp);
	snprintf(cmd, sizeof cmd, "%s --output=%s - < %s 2>/dev/null", REMOTE, jpath, export);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int teardown(void **state)
{
	if (dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
	return 0;
}

static struct mm_journal *open_j(const char *const *match, size_t read_limit, bool at_end)
{
	const char *files[] = {jpath, NULL};
	struct mm_journal_opts o = {.files = files, .match = match, .read_limit = read_limit,
				    .start_at_end = at_end};
	struct mm_err err;
	struct mm_journal *j = mm_journal_open(&o, &err);
	if (!j)
		fail_msg("%s", err.msg);
	return j;
}

static void test_lines_and_filter(void **state)
{
	NEED(dir[0], REMOTE " is not installed (scripts/install-deps installs it)");
	struct mm_journal *j = open_j(NULL, 0, false);
	struct got g = {0};
	struct mm_err err;
	assert_int_equal(mm_journal_read(j, collect, &g, &err), 0);
	static const char *const want[] = {
		"2023-11-14T22:13:20.000000+00:00 mx1 postfix/smtpd[123]: connect from localhost[127.0.0.1]",
		"2023-11-14T22:13:22.000001+00:00 mx1 dovecot[77]: imap-login: Login: user=<u>",
		"2023-11-14T22:13:23.000000+00:00 mx1 postfix-out/smtp[5]: two lines",
		"2023-11-14T22:13:24.000000+00:00 mx1 postfix/qmgr: ABC: removed",
	};
	assert_int_equal(g.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(g.line[i], want[i]);
	const struct mm_journal_stats *st = mm_journal_stats(j);
	assert_int_equal(st->entries, 6);
	assert_int_equal(st->skipped, 2);
	assert_int_equal(st->lines, 4);
	assert_non_null(mm_journal_cursor(j));
	/* Caught up: nothing more. */
	got_clear(&g);
	assert_int_equal(mm_journal_read(j, collect, &g, &err), 0);
	assert_int_equal(g.n, 0);
	mm_journal_free(j);

	/* An exact FIELD=value match instead of prefixes. */
	static const char *const m[] = {"SYSLOG_IDENTIFIER=sshd", NULL};
	j = open_j(m, 0, false);
	assert_int_equal(mm_journal_read(j, collect, &g, &err), 0);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(g.line[0], " sshd[9]: Accepted publickey"));
	got_clear(&g);
	mm_journal_free(j);

	/* start_at_end: everything already there counts as consumed, and
	 * the newest entry's cursor is the position to save. */
	j = open_j(NULL, 0, true);
	assert_int_equal(mm_journal_start(j, NULL, &err), 0);
	assert_non_null(mm_journal_cursor(j));
	assert_int_equal(mm_journal_read(j, collect, &g, &err), 0);
	assert_int_equal(g.n, 0);
	mm_journal_free(j);
}

/* Read one line at a time (read_limit 1), resume from each saved cursor:
 * every line exactly once. */
static void test_cursor_resume(void **state)
{
	NEED(dir[0], REMOTE " is not installed (scripts/install-deps installs it)");
	struct got g = {0};
	struct mm_err err;
	char *cursor = NULL;
	for (int round = 0; round < 10; round++) {
		struct mm_journal *j = open_j(NULL, 1, false);
		assert_int_equal(mm_journal_start(j, cursor, &err), 0);
		int rc = mm_journal_read(j, collect, &g, &err);
		assert_true(rc >= 0);
		free(cursor);
		cursor = mm_journal_cursor(j) ? xstrdup(mm_journal_cursor(j)) : NULL;
		mm_journal_free(j);
		if (rc == 0)
			break;
	}
	assert_int_equal(g.n, 4);
	assert_non_null(strstr(g.line[0], "postfix/smtpd[123]"));
	assert_non_null(strstr(g.line[3], "postfix/qmgr"));
	got_clear(&g);
	free(cursor);

	/* A damaged cursor: a clear error, then the no-cursor start. */
	struct mm_journal *j = open_j(NULL, 0, true);
	assert_int_equal(mm_journal_start(j, "not-a-cursor", &err), -1);
	assert_non_null(strstr(err.msg, "cursor"));
	assert_int_equal(mm_journal_read(j, collect, &g, &err), 0);
	assert_int_equal(g.n, 0);
	mm_journal_free(j);
}

static void test_cap(void **state)
{
	NEED(dir[0], REMOTE " is not installed (scripts/install-deps installs it)");
	const char *files[] = {jpath, NULL};
	struct mm_journal_opts o = {.files = files, .line_max = 50};
	struct mm_err err;
	struct mm_journal *j = mm_journal_open(&o, &err);
	assert_non_null(j);
	struct got g = {0};
	assert_int_equal(mm_journal_read(j, collect, &g, &err), 0);
	assert_int_equal(g.n, 4);
	for (size_t i = 0; i < g.n; i++)
		assert_true(strlen(g.line[i]) <= 50);
	assert_int_equal(mm_journal_stats(j)->capped, 4);
	got_clear(&g);
	mm_journal_free(j);

	/* A missing file is an error with a message, not a crash. */
	const char *none[] = {"/nonexistent/x.journal", NULL};
	o.files = none;
	assert_null(mm_journal_open(&o, &err));
	assert_non_null(strstr(err.msg, "journal"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_and_filter),
		cmocka_unit_test(test_cursor_resume),
		cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* proc_test: process checks on a fake /proc tree (table of processes in,
 * count, workers, RSS, oldest worker out): by name, by name + cmdline
 * regex, by pidfile with children as workers, zombies ignored, and a
 * comm with spaces and parentheses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "services/proc.h"

struct fake {
	int pid, ppid;
	const char *comm, *cmdline;
	char state;
	unsigned long long utime, stime, start, rss_pages;
};

static const struct fake procs[] = {
	{100, 1, "master", "/usr/lib/postfix/sbin/master -w", 'S', 10, 5, 1000, 100},
	{101, 100, "qmgr", "qmgr -l -t unix -u", 'S', 1, 1, 2000, 50},
	{102, 100, "smtpd", "smtpd -n smtp -t inet", 'S', 2, 0, 1500, 60},
	{103, 100, "smtpd", "smtpd -n smtp -t inet", 'Z', 0, 0, 1600, 0},
	{200, 1, "master", "/usr/lib/postfix/sbin/master -c /etc/postfix-out", 'S', 1, 1, 3000, 10},
	{201, 200, "qmgr", "qmgr -l -t unix -u", 'T', 1, 1, 3500, 7},
	{300, 1, "we(ird) name", "x", 'R', 0, 0, 4000, 1},
};

static char root[64];

static void put(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fwrite(text, 1, len, f);
	fclose(f);
}

static int setup(void **state)
{
	strcpy(root, "/tmp/mm_proc_XXXXXX");
	assert_non_null(mkdtemp(root));
	char path[256], buf[512];
	snprintf(path, sizeof path, "%s/uptime", root);
	put(path, "100.00 50.00\n", 13);
	for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++) {
		const struct fake *p = &procs[i];
		snprintf(path, sizeof path, "%s/%d", root, p->pid);
		mkdir(path, 0755);
		snprintf(path, sizeof path, "%s/%d/stat", root, p->pid);
		int n = snprintf(buf, sizeof buf,
				 "%d (%s) %c %d 1 1 0 -1 4194560 10 0 0 0 %llu %llu 0 0 20 0 1 0 %llu "
				 "1000000 %llu 18446744073709551615\n",
				 p->pid, p->comm, p->state, p->ppid, p->utime, p->stime, p->start,
				 p->rss_pages);
		put(path, buf, (size_t)n);
		snprintf(path, sizeof path, "%s/%d/cmdline", root, p->pid);
		/* NUL-separated like the kernel's */
		size_t len = strlen(p->cmdline) + 1;
		char *c = strdup(p->cmdline);
		for (char *q = c; *q; q++)
			if (*q == ' ')
				*q = '\0';
		put(path, c, len);
		free(c);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	return system(cmd);
}

static void test_by_name(void **state)
{
	struct mm_proc_match m;
	struct mm_err err;
	struct mm_proc_stats st;
	long page = sysconf(_SC_PAGESIZE);
	static const struct {
		const char *name, *re;
		int count;
		uint64_t rss_pages;
		int oldest;
	} t[] = {
		{"master", NULL, 2, 110, 100},
		{"master", "-c /etc/postfix-out", 1, 10, 200},
		{"smtpd", NULL, 1, 60, 102}, /* the zombie 103 does not count */
		{"qmgr", NULL, 2, 57, 101},
		{"we(ird) name", NULL, 1, 1, 300},
		{"nothing", NULL, 0, 0, 0},
		{NULL, "postfix-out", 1, 10, 200},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(mm_proc_match_init(&m, NULL, t[i].name, t[i].re, &err), 0);
		mm_proc_scan(&m, root, 1000, &st);
		if (st.count != t[i].count)
			fail_msg("%s/%s: count %d, want %d", t[i].name, t[i].re, st.count, t[i].count);
		assert_int_equal(st.rss_bytes, t[i].rss_pages * (uint64_t)page);
		assert_int_equal(st.oldest_pid, t[i].oldest);
		assert_true(st.cpu_pct < 0); /* first scan: no CPU% yet */
		mm_proc_match_free(&m);
	}
}

/* One instance's qmgr: children of its master named qmgr; the stopped
 * one (kill -STOP) is counted as stopped. */
static void test_parent_and_stopped(void **state)
{
	char pidfile[256];
	snprintf(pidfile, sizeof pidfile, "%s/out.pid", root);
	put(pidfile, "200\n", 4);
	struct mm_proc_match m;
	struct mm_err err;
	struct mm_proc_stats st;
	assert_int_equal(mm_proc_match_init(&m, NULL, "qmgr", NULL, &err), 0);
	mm_proc_match_parent(&m, pidfile);
	mm_proc_scan(&m, root, 1000, &st);
	assert_int_equal(st.count, 1);
	assert_int_equal(st.stopped, 1);
	assert_int_equal(st.stopped_pid, 201);
	put(pidfile, "100\n", 4);
	mm_proc_scan(&m, root, 2000, &st);
	assert_int_equal(st.count, 1);
	assert_int_equal(st.stopped, 0);
	assert_int_equal(st.oldest_pid, 101);
	/* No parent pidfile: nothing matches, and the detail says why. */
	mm_proc_match_parent(&m, "/nonexistent/x.pid");
	mm_proc_scan(&m, root, 3000, &st);
	assert_int_equal(st.count, 0);
	assert_true(st.detail[0] != '\0');
	mm_proc_match_free(&m);
}

static void test_by_pidfile(void **state)
{
	char pidfile[256];
	snprintf(pidfile, sizeof pidfile, "%s/master.pid", root);
	put(pidfile, "         100\n", 13);
	struct mm_proc_match m;
	struct mm_err err;
	struct mm_proc_stats st;
	assert_int_equal(mm_proc_match_init(&m, pidfile, NULL, NULL, &err), 0);
	mm_proc_scan(&m, root, 1000, &st);
	assert_int_equal(st.count, 1);
	assert_int_equal(st.main_pid, 100);
	assert_int_equal(st.workers, 2); /* qmgr and smtpd; the zombie is dead */
	assert_int_equal(st.oldest_pid, 102);
	/* oldest worker started at tick 1500; uptime 100 s */
	long tck = sysconf(_SC_CLK_TCK);
	assert_int_equal(st.oldest_age_s, (int64_t)(100.0 - 1500.0 / (double)tck));
	mm_proc_scan(&m, root, 2000, &st);
	assert_true(st.cpu_pct == 0.0); /* no ticks in between */
	put(pidfile, "4242\n", 5);
	mm_proc_scan(&m, root, 3000, &st);
	assert_int_equal(st.count, 0);
	assert_non_null(strstr(st.detail, "not running"));
	mm_proc_match_free(&m);
	assert_int_equal(mm_proc_match_init(&m, NULL, NULL, "(", &err), -1);
	assert_int_equal(mm_proc_match_init(&m, NULL, NULL, NULL, &err), -1);
}

/* mm_proc_children: one master's live children of a name, with start
 * times; the zombie, the other master's child and other names left out. */
static void test_children(void **state)
{
	(void)state;
	pid_t pids[4];
	uint64_t starts[4];
	assert_int_equal(mm_proc_children(root, 100, "smtpd", pids, starts, 4), 1);
	assert_int_equal(pids[0], 102);
	assert_int_equal(starts[0], 1500);
	assert_int_equal(mm_proc_children(root, 100, "qmgr", pids, starts, 4), 1);
	assert_int_equal(pids[0], 101);
	assert_int_equal(mm_proc_children(root, 200, "smtpd", pids, starts, 4), 0);
	assert_int_equal(mm_proc_children(root, 100, "qmgr", pids, starts, 0), 1);
	assert_int_equal(mm_proc_children("/nonexistent/proc", 100, "qmgr", pids, starts, 4), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_name),
		cmocka_unit_test(test_by_pidfile),
		cmocka_unit_test(test_parent_and_stopped),
		cmocka_unit_test(test_children),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

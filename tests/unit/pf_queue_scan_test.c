/* pf_queue_scan_test: the direct-mode scanner on a queue directory built
 * here from real queue files (tests/fuzz/corpus/fuzz_queue_file): hashed
 * subdirectories, files in progress, garbage, defer logs, and incremental
 * rescans driven by inotify (new, moved, deleted files, a changed defer
 * log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mta/postfix/queue_scan.h"
#include "mta/reason_class.h"

static char root[] = "/tmp/mm-qscan-XXXXXX";
static unsigned char active_file[65536], deferred_file[65536];
static size_t active_len, deferred_len;

static void load(const char *name, unsigned char *buf, size_t *len)
{
	const char *src = getenv("MAILMON_SOURCE_DIR");
	char path[1024];
	snprintf(path, sizeof path, "%s/tests/fuzz/corpus/fuzz_queue_file/%s", src ? src : ".",
		 name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
}

static void put(const char *rel, const void *data, size_t len, mode_t mode)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(data, 1, len, f);
	fclose(f);
	chmod(path, mode);
}

static void mk(const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	mkdir(path, 0700);
}

static const struct mm_qmsg *find(const struct mm_qsnap *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->msgs[i]->id, id) == 0)
			return s->msgs[i];
	return NULL;
}

static void rm_rf(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_scan(void **state)
{
	load("active-3rcpt-1done", active_file, &active_len);
	load("deferred-null-sender", deferred_file, &deferred_len);
	assert_non_null(mkdtemp(root));
	static const char *const dirs[] = {"incoming", "active", "deferred", "deferred/A",
					   "deferred/B", "hold", "defer", "defer/A", "defer/B"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		mk(dirs[i]);
	put("active/AAAAAA0001", active_file, active_len, 0700);
	put("deferred/A/AAAAAA0002", deferred_file, deferred_len, 0700);
	put("deferred/B/BBBBBB0003", deferred_file, deferred_len, 0700);
	put("incoming/CCCCCC0004", active_file, active_len / 2, 0600); /* being written */
	put("deferred/B/BBBBBB0005", "garbage", 7, 0700);
	put("deferred/B/.hidden", "x", 1, 0700);
	put("deferred/B/short", "x", 1, 0700); /* not a queue id */
	static const char dlog[] = "recipient=bounce@dead.test\nstatus=4.4.1\n"
				   "reason=connect to 127.0.0.1[127.0.0.1]:9: Connection refused\n\n";
	put("defer/A/AAAAAA0002", dlog, strlen(dlog), 0600);

	struct mm_pf_scan_opts o = {.reasons = true, .watch = true, .full_every_ms = 3600000};
	struct mm_pf_scanner *s = mm_pf_scanner_new(root, 0, &o);
	struct mm_qsnap snap = {0};
	struct mm_err err;
	assert_int_equal(mm_pf_scanner_scan(s, MM_QMASK_ALL, &snap, &err), 0);
	assert_true(snap.stats.full);
	assert_int_equal(snap.n, 3);
	assert_int_equal(snap.stats.in_progress, 1);
	assert_int_equal(snap.stats.malformed, 1);
	assert_non_null(strstr(snap.stats.first_problem, "BBBBBB0005"));
	const struct mm_qmsg *m = find(&snap, "AAAAAA0002");
	assert_non_null(m);
	assert_int_equal(m->queue, MM_Q_DEFERRED);
	assert_string_equal(m->sender, "");
	assert_int_equal(m->nrcpt, 1);
	assert_int_equal(m->rcpt[0].rclass, MM_RC_REFUSED);
	m = find(&snap, "BBBBBB0003");
	assert_int_equal(m->rcpt[0].rclass, MM_RC_NONE); /* no defer log */
	m = find(&snap, "AAAAAA0001");
	assert_int_equal(m->queue, MM_Q_ACTIVE);
	assert_int_equal(m->nrcpt, 2);
	assert_true(mm_pf_scanner_incremental(s));

	/* Only deferred asked: the others are left out. */
	mm_qsnap_reset(&snap);
	assert_int_equal(mm_pf_scanner_scan(s, MM_QMASK(MM_Q_DEFERRED), &snap, &err), 0);
	assert_int_equal(snap.n, 2);

	/* Changes: one moved to hold, one deleted, one new, a defer log
	 * rewritten, the file in progress completed. */
	char a[512], b[512];
	snprintf(a, sizeof a, "%s/deferred/A/AAAAAA0002", root);
	snprintf(b, sizeof b, "%s/hold/AAAAAA0002", root);
	assert_int_equal(rename(a, b), 0);
	snprintf(a, sizeof a, "%s/deferred/B/BBBBBB0003", root);
	assert_int_equal(unlink(a), 0);
	put("deferred/B/BBBBBB0006", deferred_file, deferred_len, 0700);
	static const char dlog2[] = "recipient=bounce@dead.test\nstatus=4.0.0\n"
				    "reason=delivery temporarily suspended: connect to x: Connection refused\n\n";
	put("defer/B/BBBBBB0006", dlog2, strlen(dlog2), 0600);
	snprintf(a, sizeof a, "%s/incoming/CCCCCC0004", root);
	put("incoming/CCCCCC0004", active_file, active_len, 0700);

	mm_qsnap_reset(&snap);
	assert_int_equal(mm_pf_scanner_scan(s, MM_QMASK_ALL, &snap, &err), 0);
	assert_false(snap.stats.full);
	assert_int_equal(snap.n, 4);
	m = find(&snap, "AAAAAA0002");
	assert_int_equal(m->queue, MM_Q_HOLD);
	assert_null(find(&snap, "BBBBBB0003"));
	m = find(&snap, "BBBBBB0006");
	assert_non_null(m);
	assert_int_equal(m->rcpt[0].rclass, MM_RC_SUSPENDED);
	m = find(&snap, "CCCCCC0004");
	assert_non_null(m);
	assert_int_equal(m->queue, MM_Q_INCOMING);
	assert_int_equal(snap.stats.in_progress, 0);
	assert_int_equal(snap.stats.malformed, 1);

	/* A new hashed subdirectory with a file, then nothing: nothing parsed. */
	mk("deferred/C");
	put("deferred/C/CCCCCC0007", deferred_file, deferred_len, 0700);
	mm_qsnap_reset(&snap);
	assert_int_equal(mm_pf_scanner_scan(s, MM_QMASK_ALL, &snap, &err), 0);
	assert_non_null(find(&snap, "CCCCCC0007"));
	mm_qsnap_reset(&snap);
	assert_int_equal(mm_pf_scanner_scan(s, MM_QMASK_ALL, &snap, &err), 0);
	assert_int_equal(snap.stats.parsed, 0);
	assert_int_equal(snap.n, 5);
	mm_pf_scanner_free(s);

	/* Without watching: a full walk every time, parses reused. */
	o.watch = false;
	s = mm_pf_scanner_new(root, 0, &o);
	mm_qsnap_reset(&snap);
	assert_int_equal(mm_pf_scanner_scan(s, MM_QMASK_ALL, &snap, &err), 0);
	assert_int_equal(snap.n, 5);
	mm_qsnap_reset(&snap);
	assert_int_equal(mm_pf_scanner_scan(s, MM_QMASK_ALL, &snap, &err), 0);
	assert_true(snap.stats.full);
	assert_int_equal(snap.n, 5);
	mm_pf_scanner_free(s);

	/* A queue directory that does not exist reads as empty (Postfix makes
	 * maildrop and corrupt only when needed). */
	char gone[600];
	snprintf(gone, sizeof gone, "%s/nope", root);
	s = mm_pf_scanner_new(gone, 0, &o);
	mm_qsnap_reset(&snap);
	assert_int_equal(mm_pf_scanner_scan(s, MM_QMASK_ALL, &snap, &err), 0);
	assert_int_equal(snap.n, 0);
	mm_pf_scanner_free(s);
	mm_qsnap_free(&snap);
	rm_rf(root);
}

/* What the privileged opener may open below a queue directory. */
static void test_rel_ok(void **state)
{
	(void)state;
	static const struct {
		const char *rel;
		bool ok;
	} t[] = {
		{"deferred", true},
		{"deferred/A/AAAAAA0002", true},
		{"incoming/4Ydx2k1Bc3zJ5", true},
		{"pid/master.pid", true},
		{"pid", false},
		{"pid/inet.127.0.0.1:25", false},
		{"pid/master.pid/x", false},
		{"etc/main.cf", false},
		{"deferred/../pid/master.pid", false},
		{"private/qmgr", false},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (mm_pf_queue_rel_ok(t[i].rel) != t[i].ok)
			fail_msg("row %zu \"%s\": want %d", i, t[i].rel, t[i].ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_scan), cmocka_unit_test(test_rel_ok)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

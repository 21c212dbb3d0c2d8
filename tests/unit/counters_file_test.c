/* counters_file_test: the counters file is created, validated, refused
 * with a clear message when corrupt or foreign, recreated, cleared, kept
 * to one writer, and read without ever seeing a torn group while a
 * writer thread updates it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>


#include "logs/counters_file.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/mm-cfile-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/counters", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	rmdir(dir);
	return 0;
}

static void patch(off_t off, const void *bytes, size_t n)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
	close(fd);
}

static void test_create_open_groups(void **state)
{
	struct mm_err err;
	assert_int_equal(mm_cfile_create(path, 8, &err), 0);
	struct mm_cfile *w = mm_cfile_open(path, true, &err);
	assert_non_null(w);
	/* a second writer is refused; a reader is not */
	struct mm_cfile *w2 = mm_cfile_open(path, true, &err);
	assert_null(w2);
	assert_non_null(strstr(err.msg, "another mailmond"));
	struct mm_cfile *r = mm_cfile_open(path, false, &err);
	assert_non_null(r);
	/* groups: 7 named, then everything goes to "other" */
	char name[16];
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "ch%d", i);
		int g = mm_cfile_group_add(w, name, strlen(name));
		assert_int_equal(g, i < 7 ? i : 7);
		mm_cg_begin(&w->groups[g]);
		mm_cg_add(&w->groups[g], MM_CG_RECEIVED, 1);
		mm_cg_end(&w->groups[g]);
	}
	assert_int_equal(mm_cfile_group_add(w, "ch3", 3), 3);
	assert_int_equal(mm_cfile_ngroups(r), 8);
	struct mm_cg_snapshot s;
	assert_int_equal(mm_cg_read(r, 7, &s), 0);
	assert_string_equal(s.name, MM_CF_OTHER);
	assert_int_equal(s.v[MM_CG_RECEIVED], 3);
	/* -create is refused while the writer holds the file */
	assert_int_equal(mm_cfile_create(path, 8, &err), -1);
	assert_int_equal(mm_cfile_delete(path, &err), -1);
	mm_cfile_close(r);
	mm_cfile_close(w);
	assert_int_equal(mm_cfile_delete(path, &err), 0);
	assert_null(mm_cfile_open(path, false, &err));
	assert_non_null(strstr(err.msg, "-create"));
}

/* Corrupt and foreign files: each gets its own message, and -create
 * (mm_cfile_create) repairs every one of them. */
static void test_corrupt_foreign_recreate(void **state)
{
	static const struct {
		off_t off;
		const char *bytes;
		size_t n;
		const char *want;
	} cases[] = {
		{0, "GARBAGE!", 8, "not a mailmon counters file"},
		{8, "\x01\x02\x03\x04", 4, "byte order"},     /* bom */
		{12, "\x09\x00\x00\x00", 4, "version 9"},       /* version */
		{24, "\x11\x00\x00\x00", 4, "corrupt"},         /* max_groups */
		{32, "\x01\x00\x00\x00\x00\x00\x00\x00", 8, "corrupt"}, /* file_size */
	};
	struct mm_err err;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(mm_cfile_create(path, 16, &err), 0);
		patch(cases[i].off, cases[i].bytes, cases[i].n);
		assert_null(mm_cfile_open(path, false, &err));
		assert_non_null(strstr(err.msg, cases[i].want));
		assert_non_null(strstr(err.msg, "-create"));
		/* open_or_create never overwrites a bad file silently */
		assert_null(mm_cfile_open_or_create(path, 16, &err));
		assert_int_equal(mm_cfile_create(path, 16, &err), 0);
		struct mm_cfile *cf = mm_cfile_open(path, false, &err);
		assert_non_null(cf);
		mm_cfile_close(cf);
	}
	/* a truncated file and a text file */
	assert_int_equal(truncate(path, 100), 0);
	assert_null(mm_cfile_open(path, false, &err));
	assert_non_null(strstr(err.msg, "not a mailmon counters file"));
	FILE *f = fopen(path, "w");
	fputs("hello\n", f);
	fclose(f);
	assert_null(mm_cfile_open(path, false, &err));
	assert_int_equal(mm_cfile_create(path, 16, &err), 0);
}

/* Minimums track the lowest value; clear zeroes values and minimums. A
 * reader's clear with a live writer is served by mm_cfile_service(). */
static void test_minimum_and_clear(void **state)
{
	struct mm_err err;
	assert_int_equal(mm_cfile_create(path, 8, &err), 0);
	struct mm_cfile *w = mm_cfile_open(path, true, &err);
	int g = mm_cfile_group_add(w, "smtp", 4);
	struct mm_cf_group *grp = &w->groups[g];
	static const int64_t deltas[] = {+1, +1, -1, -1, -1, -1, +3};
	static const int64_t want_v[] = {1, 2, 1, 0, -1, -2, 1};
	static const int64_t want_min[] = {0, 0, 0, 0, -1, -2, -2};
	for (size_t i = 0; i < sizeof deltas / sizeof deltas[0]; i++) {
		mm_cg_begin(grp);
		mm_cg_add(grp, MM_CG_STORED, deltas[i]);
		mm_cg_end(grp);
		struct mm_cg_snapshot s;
		assert_int_equal(mm_cg_read(w, (uint32_t)g, &s), 0);
		assert_int_equal(s.v[MM_CG_STORED], want_v[i]);
		assert_int_equal(s.min[MM_CG_STORED], want_min[i]);
	}
	mm_cg_begin(grp);
	mm_cg_set_text(grp->last_reject, "554 Relay access denied", 23);
	mm_cg_end(grp);

	struct mm_cfile *r = mm_cfile_open(path, false, &err);
	/* nobody serves the request: a clear error, no hang */
	assert_int_equal(mm_cfile_clear(r, 50, &err), -1);
	assert_non_null(strstr(err.msg, "did not serve"));
	mm_cfile_service(w); /* the daemon's next heartbeat */
	struct mm_cg_snapshot s;
	assert_int_equal(mm_cg_read(r, (uint32_t)g, &s), 0);
	assert_int_equal(s.v[MM_CG_STORED], 0);
	assert_int_equal(s.min[MM_CG_STORED], 0);
	assert_string_equal(s.last_reject, "");
	assert_string_equal(s.name, "smtp");
	assert_int_equal(atomic_load(&r->hdr->generation), 1);
	mm_cfile_close(w);
	/* no writer: the reader's clear is direct */
	assert_int_equal(mm_cfile_clear(r, 50, &err), 0);
	assert_int_equal(atomic_load(&r->hdr->generation), 2);
	mm_cfile_close(r);
}

static void test_replaced(void **state)
{
	struct mm_err err;
	assert_int_equal(mm_cfile_create(path, 8, &err), 0);
	struct mm_cfile *r = mm_cfile_open(path, false, &err);
	assert_false(mm_cfile_replaced(r));
	assert_int_equal(mm_cfile_create(path, 8, &err), 0); /* no writer: allowed */
	assert_true(mm_cfile_replaced(r));
	mm_cfile_close(r);
}

/* The file truncated under a writer: updates of the lost pages fault
 * (SIGBUS) and are contained, the writer sees it as damaged, and
 * open_or_recreate sets the file aside and makes a fresh one. */
static void test_truncated_under_writer(void **state)
{
	struct mm_err err;
	assert_int_equal(mm_cfile_create(path, 8, &err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	struct mm_cfile *w = mm_cfile_open(path, true, &err);
	assert_non_null(w);
	assert_false(mm_cfile_damaged(w));
	assert_int_equal(truncate(path, 0), 0);
	struct mm_cf_group *g = &w->groups[7];
	mm_cg_begin(g); /* would have been a SIGBUS */
	mm_cg_add(g, MM_CG_RECEIVED, 5);
	mm_cg_end(g);
	atomic_store(&w->hdr->lines, 3);
	assert_true(mm_cfile_damaged(w));
	mm_cfile_close(w);
	/* A reader of the 0-byte file: an error, not a fault. */
	assert_null(mm_cfile_open(path, false, &err));
	char aside[512];
	struct mm_cfile *n = mm_cfile_open_or_recreate(path, 8, aside, sizeof aside, &err);
	assert_non_null(n);
	assert_non_null(strstr(aside, "counters.damaged."));
	assert_false(mm_cfile_damaged(n));
	mm_cfile_close(n);
	char *moved = strndup(aside, (size_t)(strchr(aside, ' ') - aside));
	unlink(moved);
	free(moved);
}

/* No link is followed and no FIFO blocks the open. */
static void test_link_and_fifo(void **state)
{
	struct mm_err err;
	char target[160];
	snprintf(target, sizeof target, "%s/elsewhere", dir);
	assert_int_equal(mm_cfile_create(target, 8, &err), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_null(mm_cfile_open(path, false, &err));
	unlink(path);
	unlink(target);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_null(mm_cfile_open(path, false, &err));
	assert_non_null(strstr(err.msg, "not a regular file"));
	unlink(path);
}

/* The writer keeps an invariant inside each update; a reader thread in
 * another mapping must never see it broken (a torn group). */
static atomic_bool stop;

static void *writer_thread(void *arg)
{
	struct mm_cfile *w = arg;
	struct mm_cf_group *g = &w->groups[0];
	for (int64_t i = 1; !atomic_load(&stop); i++) {
		mm_cg_begin(g);
		mm_cg_add(g, MM_CG_RECEIVED, 1);
		if (i % 2)
			mm_cg_add(g, MM_CG_STORED, 1);
		else
			mm_cg_add(g, MM_CG_DELIVERED, 1);
		mm_cg_set(g, MM_CG_QTIME_COUNT, i * 3);
		char txt[32];
		int n = snprintf(txt, sizeof txt, "reason %lld", (long long)i);
		mm_cg_set_text(g->last_reject, txt, (size_t)n);
		mm_cg_end(g);
		/* like the daemon, not always inside an update */
		for (volatile int spin = 0; spin < 200; spin++)
			;
	}
	return NULL;
}

static void test_concurrent_reader(void **state)
{
	struct mm_err err;
	assert_int_equal(mm_cfile_create(path, 8, &err), 0);
	struct mm_cfile *w = mm_cfile_open(path, true, &err);
	assert_int_equal(mm_cfile_group_add(w, "smtp", 4), 0);
	struct mm_cfile *r = mm_cfile_open(path, false, &err);
	atomic_store(&stop, false);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, writer_thread, w), 0);
	int64_t last = 0, distinct = 0;
	/* until the reader has seen the writer move 200 times, at most ~3 s */
	time_t until = time(NULL) + 3;
	for (int i = 0; distinct < 200 && ((i & 1023) || time(NULL) < until); i++) {
		struct mm_cg_snapshot s;
		if (mm_cg_read(r, 0, &s) < 0)
			continue; /* busy is allowed; torn is not */
		int64_t rcv = s.v[MM_CG_RECEIVED];
		assert_int_equal(rcv, s.v[MM_CG_STORED] + s.v[MM_CG_DELIVERED]);
		assert_int_equal(s.v[MM_CG_QTIME_COUNT], rcv * 3);
		assert_true(s.v[MM_CG_STORED] - s.v[MM_CG_DELIVERED] == (rcv % 2));
		if (rcv) {
			char want[32];
			snprintf(want, sizeof want, "reason %lld", (long long)rcv);
			assert_string_equal(s.last_reject, want);
		}
		assert_true(rcv >= last);
		if (rcv != last)
			distinct++;
		last = rcv;
	}
	atomic_store(&stop, true);
	pthread_join(th, NULL);
	assert_true(distinct > 10); /* the reader did see the writer move */
	mm_cfile_close(r);
	mm_cfile_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_open_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_foreign_recreate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minimum_and_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_under_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_and_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_reader, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

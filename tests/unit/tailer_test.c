/* tailer_test: the file tailer against real files in a temp dir: rotation
 * both ways, replacement while stopped, partial and long lines, NUL and
 * CRLF, bounded reads, and resuming from a saved (and a corrupt) state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "sources/position.h"
#include "sources/tailer.h"

#define MAXL 4096

struct got {
	char *line[MAXL];
	size_t len[MAXL];
	size_t n;
};

static void collect(const char *line, size_t len, void *arg)
{
	struct got *g = arg;
	assert_true(g->n < MAXL);
	g->line[g->n] = xmalloc(len + 1);
	memcpy(g->line[g->n], line, len);
	g->line[g->n][len] = '\0';
	g->len[g->n] = len;
	g->n++;
}

static void got_clear(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->line[i]);
	g->n = 0;
}

/* Asserts the lines got so far are exactly want (NULL-terminated), then
 * clears them. */
static void expect(struct got *g, const char *const *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	if (g->n != n) {
		for (size_t i = 0; i < g->n; i++)
			print_message("got[%zu] = \"%s\"\n", i, g->line[i]);
		fail_msg("got %zu lines, want %zu", g->n, n);
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(g->line[i], want[i]) != 0)
			fail_msg("line %zu: got \"%s\" want \"%s\"", i, g->line[i], want[i]);
	got_clear(g);
}
#define EXPECT(g, ...) expect((g), (const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_NONE(g) expect((g), (const char *const[]){NULL})

struct fx {
	char dir[64];
	char path[128], path1[128];
	struct got g;
};

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/mm-tailer-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/mail.log", f->dir);
	snprintf(f->path1, sizeof f->path1, "%s/mail.log.1", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	got_clear(&f->g);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void put(const char *path, const char *data, size_t len, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	assert_true(fd >= 0);
	if (len == 0)
		len = strlen(data);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}
#define APPEND(p, s) put((p), (s), 0, O_APPEND)
#define CREATE(p, s) put((p), (s), 0, O_TRUNC)

static struct mm_tailer *tailer(const char *path)
{
	struct mm_tailer_opts o = {.chunk = 4096, .read_limit = 1 << 20};
	return mm_tailer_new(path, &o);
}

static void test_partial_line(void **state)
{
	struct fx *f = *state;
	CREATE(f->path, "a\nb");
	struct mm_tailer *t = tailer(f->path);
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "a");
	APPEND(f->path, "c");
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT_NONE(&f->g);
	APPEND(f->path, "\n");
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "bc");
	struct mm_filepos pos;
	mm_tailer_position(t, &pos);
	assert_int_equal(pos.offset, 5);
	assert_int_equal(pos.line_len, 3);
	mm_tailer_free(t);
}

static void test_nul_crlf_utf8(void **state)
{
	struct fx *f = *state;
	put(f->path, "a\0b\r\nc\r\n\xc3\x28 bad\n", 15, O_TRUNC);
	struct mm_tailer *t = tailer(f->path);
	mm_tailer_poll(t, true, collect, &f->g);
	assert_int_equal(f->g.n, 3);
	assert_int_equal(f->g.len[0], 3);
	assert_memory_equal(f->g.line[0], "a\0b", 3);
	assert_string_equal(f->g.line[1], "c");
	assert_string_equal(f->g.line[2], "\xc3\x28 bad");
	got_clear(&f->g);
	mm_tailer_free(t);
}

static void test_long_line(void **state)
{
	struct fx *f = *state;
	size_t big = 100 * 1024;
	char *data = xmalloc(big + 16);
	memset(data, 'x', big);
	memcpy(data + big, "\nshort\n", 7);
	put(f->path, data, big + 7, O_TRUNC);
	struct mm_tailer *t = tailer(f->path);
	mm_tailer_poll(t, true, collect, &f->g);
	assert_int_equal(f->g.n, 2);
	assert_int_equal(f->g.len[0], MM_LINE_MAX_DEFAULT);
	assert_string_equal(f->g.line[1], "short");
	assert_int_equal(mm_tailer_stats(t)->lines.capped, 1);
	got_clear(&f->g);
	/* The position after a capped line resumes cleanly. */
	struct mm_filepos pos;
	mm_tailer_position(t, &pos);
	assert_int_equal(pos.offset, big + 7);
	mm_tailer_free(t);
	APPEND(f->path, "next\n");
	t = tailer(f->path);
	mm_tailer_start(t, &pos);
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "next");
	assert_int_equal(mm_tailer_stats(t)->replaced, 0);
	mm_tailer_free(t);
	free(data);
}

static void test_rename_and_create(void **state)
{
	struct fx *f = *state;
	CREATE(f->path, "1\n2\n3\n");
	struct mm_tailer *t = tailer(f->path);
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "1", "2", "3");
	APPEND(f->path, "4\n5"); /* not read yet, last line unfinished */
	assert_int_equal(rename(f->path, f->path1), 0);
	CREATE(f->path, "6\n7\n");
	/* A poll without the rotation check reads the old file on. */
	mm_tailer_poll(t, false, collect, &f->g);
	EXPECT(&f->g, "4");
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "5", "6", "7");
	assert_int_equal(mm_tailer_stats(t)->rotations, 1);
	assert_int_equal(mm_tailer_stats(t)->lines.unterminated, 1);
	APPEND(f->path, "8\n");
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "8");
	mm_tailer_free(t);
}

static void test_rotation_grace(void **state)
{
	struct fx *f = *state;
	CREATE(f->path, "1\n");
	struct mm_tailer_opts o = {.rotate_grace_ms = 150};
	struct mm_tailer *t = mm_tailer_new(f->path, &o);
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "1");
	assert_int_equal(rename(f->path, f->path1), 0);
	CREATE(f->path, "new\n");
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT_NONE(&f->g);
	assert_string_equal(mm_tailer_state(t), "finishing rotated file");
	APPEND(f->path1, "late\n"); /* the writer had not reopened yet */
	mm_tailer_poll(t, false, collect, &f->g);
	EXPECT(&f->g, "late");
	/* Stopped now, during the grace time: the old file is read to its
	 * end, so the position is the start of the new one. If that is
	 * rotated too before the restart, it is found as PATH.1. */
	struct mm_filepos pos;
	mm_tailer_position(t, &pos);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(pos.ino, st.st_ino);
	assert_int_equal(pos.offset, 0);
	usleep(200 * 1000);
	mm_tailer_poll(t, false, collect, &f->g);
	EXPECT(&f->g, "new");
	assert_string_equal(mm_tailer_state(t), "reading");
	mm_tailer_free(t);

	APPEND(f->path, "new2\n");
	char path2[160];
	snprintf(path2, sizeof path2, "%s.2", f->path);
	assert_int_equal(rename(f->path1, path2), 0);
	assert_int_equal(rename(f->path, f->path1), 0);
	CREATE(f->path, "newest\n");
	t = tailer(f->path);
	mm_tailer_start(t, &pos);
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "new", "new2", "newest");
	mm_tailer_free(t);
}

static void test_copytruncate(void **state)
{
	struct fx *f = *state;
	CREATE(f->path, "1\n2\n3\n");
	struct mm_tailer *t = tailer(f->path);
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "1", "2", "3");
	assert_int_equal(truncate(f->path, 0), 0);
	APPEND(f->path, "4\n");
	mm_tailer_poll(t, false, collect, &f->g);
	EXPECT(&f->g, "4");
	assert_int_equal(mm_tailer_stats(t)->truncations, 1);
	APPEND(f->path, "5\n");
	mm_tailer_poll(t, false, collect, &f->g);
	EXPECT(&f->g, "5");
	mm_tailer_free(t);
}

/* Lines not yet read when logrotate copied and truncated the file are
 * read from the copy (PATH.1), then the truncated file from 0. */
static void test_copytruncate_unread(void **state)
{
	struct fx *f = *state;
	CREATE(f->path, "1\n2\n3\n");
	struct mm_tailer *t = tailer(f->path);
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "1", "2", "3");
	APPEND(f->path, "4\n5");
	mm_tailer_poll(t, false, collect, &f->g);
	EXPECT(&f->g, "4");
	APPEND(f->path, "\n");
	char cmd[400];
	snprintf(cmd, sizeof cmd, "cp %s %s", f->path, f->path1);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(truncate(f->path, 0), 0);
	APPEND(f->path, "6\n");
	mm_tailer_poll(t, false, collect, &f->g);
	EXPECT(&f->g, "5", "6");
	assert_int_equal(mm_tailer_stats(t)->truncations, 1);
	assert_int_equal(mm_tailer_stats(t)->lines.unterminated, 0);
	/* Refilled past the old offset before we looked: the line hash
	 * catches it at the next rotation check. */
	APPEND(f->path, "7\n");
	mm_tailer_poll(t, false, collect, &f->g);
	EXPECT(&f->g, "7");
	unlink(f->path1);
	assert_int_equal(truncate(f->path, 0), 0);
	APPEND(f->path, "a-much-longer-line-8\n");
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "a-much-longer-line-8");
	assert_int_equal(mm_tailer_stats(t)->truncations, 2);
	mm_tailer_free(t);
}

/* Reads, stops (saving the position), lets `offline` change the files,
 * restarts from the saved position and returns the new tailer. */
static struct mm_tailer *restart(struct fx *f, struct mm_tailer *t,
				 void (*offline)(struct fx *f))
{
	struct mm_filepos pos;
	mm_tailer_position(t, &pos);
	mm_tailer_free(t);
	offline(f);
	t = tailer(f->path);
	mm_tailer_start(t, &pos);
	return t;
}

static void off_append(struct fx *f)
{
	APPEND(f->path, "4\n5\n");
}

static void off_rotate(struct fx *f)
{
	APPEND(f->path, "4\n5\n");
	assert_int_equal(rename(f->path, f->path1), 0);
	CREATE(f->path, "6\n");
}

static void off_rotate_delete(struct fx *f)
{
	/* The new file exists before the old one goes, so the filesystem
	 * cannot hand it the old inode number (that case is covered by the
	 * line hash, "same inode, other content"). */
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.new", f->path);
	APPEND(f->path, "4\n5\n");
	CREATE(tmp, "6\n");
	assert_int_equal(rename(tmp, f->path), 0);
}

static void off_copytruncate(struct fx *f)
{
	char cmd[400];
	APPEND(f->path, "4\n5\n");
	snprintf(cmd, sizeof cmd, "cp %s %s", f->path, f->path1);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(truncate(f->path, 0), 0);
	APPEND(f->path, "6\n");
}

static void off_rewrite_same_inode(struct fx *f)
{
	CREATE(f->path, "x\ny\nz\nw\n"); /* O_TRUNC keeps the inode */
}

static void off_truncate(struct fx *f)
{
	CREATE(f->path, "x\n");
}

static void test_restart_cases(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *name;
		void (*offline)(struct fx *f);
		const char *want[6];
		uint64_t rotations, replaced, truncations;
	} cases[] = {
		{"appended while down", off_append, {"4", "5"}, 0, 0, 0},
		{"rotated while down, old is .1", off_rotate, {"4", "5", "6"}, 1, 0, 0},
		{"rotated while down, old deleted", off_rotate_delete, {"6"}, 0, 1, 0},
		{"copytruncate while down", off_copytruncate, {"4", "5", "6"}, 1, 0, 1},
		{"same inode, other content", off_rewrite_same_inode, {"x", "y", "z", "w"}, 0, 1, 0},
		{"truncated while down", off_truncate, {"x"}, 0, 0, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unlink(f->path1);
		CREATE(f->path, "1\n2\n3\n");
		struct mm_tailer *t = tailer(f->path);
		mm_tailer_poll(t, true, collect, &f->g);
		EXPECT(&f->g, "1", "2", "3");
		t = restart(f, t, cases[i].offline);
		mm_tailer_poll(t, true, collect, &f->g);
		print_message("case: %s\n", cases[i].name);
		expect(&f->g, cases[i].want);
		const struct mm_tailer_stats *st = mm_tailer_stats(t);
		assert_int_equal(st->rotations, cases[i].rotations);
		assert_int_equal(st->replaced, cases[i].replaced);
		assert_int_equal(st->truncations, cases[i].truncations);
		APPEND(f->path, "more\n");
		mm_tailer_poll(t, true, collect, &f->g);
		EXPECT(&f->g, "more");
		mm_tailer_free(t);
	}
}

/* Saved position through the state file and back; then a corrupt state
 * file: a clear error, and the safe fallback (start at the end: nothing
 * is counted twice). */
static void test_state_file(void **state)
{
	struct fx *f = *state;
	char spath[160];
	snprintf(spath, sizeof spath, "%s/state", f->dir);
	CREATE(f->path, "1\n2\n3\n");
	struct mm_tailer *t = tailer(f->path);
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "1", "2", "3");
	struct mm_posfile pf;
	mm_posfile_init(&pf);
	struct mm_srcstate *r = mm_posfile_add(&pf, MM_SRCKIND_FILE, f->path);
	mm_tailer_position(t, &r->pos);
	r->lines = 3;
	struct mm_err err;
	assert_int_equal(mm_posfile_save(&pf, spath, &err), 0);
	mm_posfile_free(&pf);
	mm_tailer_free(t);

	APPEND(f->path, "4\n");
	struct mm_posfile back;
	mm_posfile_init(&back);
	assert_int_equal(mm_posfile_load(spath, &back, &err), 0);
	const struct mm_srcstate *rec = mm_posfile_find(&back, MM_SRCKIND_FILE, f->path);
	assert_non_null(rec);
	assert_int_equal(rec->lines, 3);
	t = tailer(f->path);
	mm_tailer_start(t, &rec->pos);
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "4");
	mm_tailer_free(t);
	mm_posfile_free(&back);

	/* Damage one byte of the offset. */
	size_t len;
	FILE *fp = fopen(spath, "r+");
	assert_non_null(fp);
	char text[1024];
	len = fread(text, 1, sizeof text - 1, fp);
	text[len] = '\0';
	char *o = strstr(text, "offset 6");
	assert_non_null(o);
	o[7] = '2';
	rewind(fp);
	fwrite(text, 1, len, fp);
	fclose(fp);
	mm_posfile_init(&back);
	assert_int_equal(mm_posfile_load(spath, &back, &err), -1);
	assert_non_null(strstr(err.msg, spath));
	assert_non_null(strstr(err.msg, "checksum mismatch"));
	assert_int_equal(back.n, 0);
	/* Fallback: no position, start at the end; only new lines come. */
	struct mm_tailer_opts opts = {.start_at_end = true};
	t = mm_tailer_new(f->path, &opts);
	mm_tailer_start(t, NULL);
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT_NONE(&f->g);
	APPEND(f->path, "5\n");
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "5");
	mm_tailer_free(t);

	/* A missing state file is a first start, not an error. */
	unlink(spath);
	assert_int_equal(mm_posfile_load(spath, &back, &err), 1);
}

static void test_start_at_end_partial(void **state)
{
	struct fx *f = *state;
	CREATE(f->path, "1\n2\npart");
	struct mm_tailer_opts opts = {.start_at_end = true};
	struct mm_tailer *t = mm_tailer_new(f->path, &opts);
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT_NONE(&f->g);
	APPEND(f->path, "ial\n3\n");
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "partial", "3");
	mm_tailer_free(t);
}

/* A backlog larger than read_limit comes in slices, each line once. */
static void test_read_limit(void **state)
{
	struct fx *f = *state;
	FILE *fp = fopen(f->path, "w");
	for (int i = 0; i < 3000; i++)
		fprintf(fp, "line %d\n", i);
	fclose(fp);
	struct mm_tailer_opts o = {.chunk = 4096, .read_limit = 4096};
	struct mm_tailer *t = mm_tailer_new(f->path, &o);
	int polls = 0;
	size_t total = 0;
	while (mm_tailer_poll(t, true, collect, &f->g) == 1) {
		polls++;
		assert_true(f->g.n < 4096 / 6);
		for (size_t i = 0; i < f->g.n; i++) {
			char want[32];
			snprintf(want, sizeof want, "line %zu", total + i);
			assert_string_equal(f->g.line[i], want);
		}
		total += f->g.n;
		got_clear(&f->g);
	}
	total += f->g.n;
	got_clear(&f->g);
	assert_int_equal(total, 3000);
	assert_true(polls >= 5);
	mm_tailer_free(t);
}

static void test_missing_then_created(void **state)
{
	struct fx *f = *state;
	struct mm_tailer_opts o = {.start_at_end = true};
	struct mm_tailer *t = mm_tailer_new(f->path, &o);
	mm_tailer_poll(t, true, collect, &f->g);
	assert_string_equal(mm_tailer_state(t), "waiting for file");
	/* Created after the start: every line of it is new, start_at_end or not. */
	CREATE(f->path, "1\n");
	mm_tailer_poll(t, true, collect, &f->g);
	EXPECT(&f->g, "1");
	mm_tailer_free(t);
}

static void write_lines(const char *path, const char *mode, int from, int to)
{
	FILE *fp = fopen(path, mode);
	assert_non_null(fp);
	for (int i = from; i < to; i++)
		fprintf(fp, "L%d\n", i);
	fclose(fp);
}

/* Rotated twice while stopped, the older rotation compressed (logrotate
 * delaycompress): resumes in mail.log.2.gz at the saved offset, reads
 * mail.log.1, then mail.log; and a stop in the middle of that catch-up
 * resumes where it stopped: every line once, in order. */
static void test_backlog_twice_rotated(void **state)
{
	struct fx *f = *state;
	char p2[160], cmd[400];
	snprintf(p2, sizeof p2, "%s.2", f->path);
	write_lines(f->path, "w", 0, 100);
	struct mm_tailer *t = tailer(f->path);
	mm_tailer_poll(t, true, collect, &f->g);
	assert_int_equal(f->g.n, 100);
	got_clear(&f->g);
	struct mm_filepos pos;
	mm_tailer_position(t, &pos);
	mm_tailer_free(t);

	write_lines(f->path, "a", 100, 200); /* after the saved offset */
	assert_int_equal(rename(f->path, f->path1), 0);
	write_lines(f->path, "w", 200, 300);
	assert_int_equal(rename(f->path1, p2), 0);
	assert_int_equal(rename(f->path, f->path1), 0);
	write_lines(f->path, "w", 300, 400);
	snprintf(cmd, sizeof cmd, "gzip -n %s", p2);
	assert_int_equal(system(cmd), 0);

	/* a small read limit: stop after the first poll, mid catch-up */
	struct mm_tailer_opts small = {.chunk = 4096, .read_limit = 64};
	t = mm_tailer_new(f->path, &small);
	mm_tailer_start(t, &pos);
	assert_int_equal(mm_tailer_poll(t, true, collect, &f->g), 1);
	size_t first = f->g.n;
	assert_true(first > 0 && first < 100);
	mm_tailer_position(t, &pos);
	mm_tailer_free(t);

	t = tailer(f->path);
	mm_tailer_start(t, &pos);
	for (int i = 0; i < 10 && mm_tailer_poll(t, true, collect, &f->g) == 1; i++)
		;
	mm_tailer_poll(t, true, collect, &f->g);
	assert_int_equal(f->g.n, 300);
	for (size_t i = 0; i < f->g.n; i++) {
		char want[16];
		snprintf(want, sizeof want, "L%zu", 100 + i);
		assert_string_equal(f->g.line[i], want);
	}
	got_clear(&f->g);
	mm_tailer_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_partial_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_crlf_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_and_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copytruncate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copytruncate_unread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_cases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_at_end_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_then_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_twice_rotated, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* gzreader_test: the one-shot line reader on plain, gzip (one and two
 * members), stdin and damaged input; the same line rules as the tailer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/xalloc.h"
#include "sources/gzreader.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/mm-gzreader-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static char *write_plain(const char *name, const char *data, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
	return path;
}

/* Appends one gzip member holding data to path. */
static void gz_member(const char *path, const char *data, size_t len)
{
	gzFile gz = gzopen(path, "ab");
	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, data, (unsigned)len), (int)len);
	gzclose(gz);
}

/* Reads all of path; returns the lines joined with '|' (NUL shown as '0'). */
static char *read_all(const char *path, int *rc_out, struct mm_line_stats *st)
{
	struct mm_err err;
	struct mm_linereader *r = mm_linereader_open(path, &err);
	if (!r)
		fail_msg("%s", err.msg);
	size_t cap = 1 << 20, used = 0;
	char *out = xmalloc(cap);
	const char *line;
	size_t len;
	int rc;
	while ((rc = mm_linereader_next(r, &line, &len)) > 0) {
		assert_true(used + len + 2 < cap);
		for (size_t i = 0; i < len; i++)
			out[used++] = line[i] ? line[i] : '0';
		out[used++] = '|';
	}
	out[used] = '\0';
	*rc_out = rc;
	*st = *mm_linereader_stats(r);
	if (rc < 0)
		assert_non_null(strstr(mm_linereader_error(r), path));
	mm_linereader_close(r);
	return out;
}

static void test_formats(void **state)
{
	static const char text[] = "a\r\nb\0c\nlast";
	const size_t tlen = sizeof text - 1;
	char *plain = write_plain("m.log", text, tlen);
	char *gz = xasprintf("%s/m.log.gz", dir);
	gz_member(gz, text, 4); /* "a\r\nb" */
	gz_member(gz, text + 4, tlen - 4); /* second member: "\0c\nlast" */
	char *misnamed = xasprintf("%s/gz-without-suffix", dir);
	gz_member(misnamed, text, tlen);
	const char *paths[] = {plain, gz, misnamed};
	for (size_t i = 0; i < 3; i++) {
		int rc;
		struct mm_line_stats st;
		char *got = read_all(paths[i], &rc, &st);
		assert_int_equal(rc, 0);
		assert_string_equal(got, "a|b0c|last|");
		assert_int_equal(st.lines, 3);
		assert_int_equal(st.unterminated, 1);
		assert_int_equal(st.bytes, tlen);
		free(got);
	}
	free(plain);
	free(gz);
	free(misnamed);
}

static void test_long_and_many(void **state)
{
	/* 200,000 lines in a 1 MiB-buffer world, with one 200 KiB line. */
	size_t cap = 8 << 20, used = 0;
	char *data = xmalloc(cap);
	for (int i = 0; i < 100000; i++)
		used += (size_t)sprintf(data + used, "line %d\n", i);
	memset(data + used, 'y', 200 * 1024);
	used += 200 * 1024;
	data[used++] = '\n';
	for (int i = 100000; i < 200000; i++)
		used += (size_t)sprintf(data + used, "line %d\n", i);
	char *plain = write_plain("big.log", data, used);
	char *gz = xasprintf("%s/big.log.gz", dir);
	gz_member(gz, data, used);
	const char *paths[] = {plain, gz};
	for (size_t k = 0; k < 2; k++) {
		struct mm_err err;
		struct mm_linereader *r = mm_linereader_open(paths[k], &err);
		assert_non_null(r);
		const char *line;
		size_t len, n = 0;
		int i = 0;
		while (mm_linereader_next(r, &line, &len) > 0) {
			n++;
			if (len == 64 * 1024)
				continue;
			char want[32];
			int wl = snprintf(want, sizeof want, "line %d", i++);
			assert_int_equal(len, (size_t)wl);
			assert_memory_equal(line, want, len);
		}
		assert_int_equal(n, 200001);
		assert_int_equal(mm_linereader_is_gzip(r), k == 1);
		assert_int_equal(mm_linereader_stats(r)->capped, 1);
		mm_linereader_close(r);
	}
	free(plain);
	free(gz);
	free(data);
}

static void test_errors_and_stdin(void **state)
{
	struct mm_err err;
	assert_null(mm_linereader_open("/nonexistent/mail.log", &err));
	assert_non_null(strstr(err.msg, "/nonexistent/mail.log"));

	/* A gzip file cut short: the complete lines, then an error. */
	char *gz = xasprintf("%s/cut.gz", dir);
	char text[4096];
	size_t n = 0;
	for (int i = 0; i < 300; i++)
		n += (size_t)sprintf(text + n, "l%d\n", i);
	gz_member(gz, text, n);
	FILE *fp = fopen(gz, "r+");
	fseek(fp, 0, SEEK_END);
	long size = ftell(fp);
	fclose(fp);
	assert_int_equal(truncate(gz, size - 12), 0);
	int rc;
	struct mm_line_stats st;
	char *got = read_all(gz, &rc, &st);
	assert_int_equal(rc, -1);
	assert_true(st.lines > 0);
	free(got);

	/* Damaged data in the middle. */
	fp = fopen(gz, "r+");
	fseek(fp, 20, SEEK_SET);
	fwrite("XXXXXXXXXXXX", 1, 12, fp);
	fclose(fp);
	got = read_all(gz, &rc, &st);
	assert_int_equal(rc, -1);
	free(got);
	free(gz);

	/* "-" reads standard input (here a gzip stream). */
	char *in = xasprintf("%s/in.gz", dir);
	gz_member(in, "x\ny\n", 4);
	int fd = open(in, O_RDONLY);
	int saved = dup(0);
	dup2(fd, 0);
	close(fd);
	struct mm_linereader *r = mm_linereader_open("-", &err);
	assert_non_null(r);
	const char *line;
	size_t len;
	assert_int_equal(mm_linereader_next(r, &line, &len), 1);
	assert_memory_equal(line, "x", 1);
	assert_int_equal(mm_linereader_next(r, &line, &len), 1);
	assert_int_equal(mm_linereader_next(r, &line, &len), 0);
	mm_linereader_close(r);
	dup2(saved, 0);
	close(saved);
	assert_true(fcntl(0, F_GETFD) >= 0); /* stdin was not closed by us */
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_long_and_many),
		cmocka_unit_test(test_errors_and_stdin),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

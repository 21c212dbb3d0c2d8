/* pf_queue_file_test: the Postfix queue file record parser, on real queue
 * files from the lab (tests/fuzz/corpus/fuzz_queue_file) and on record
 * streams built here: truncated, garbage, pointer records, caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mta/postfix/queue_file.h"

/* -- a record builder -------------------------------------------------------- */

struct rb {
	unsigned char buf[300000];
	size_t len;
};

static void rec(struct rb *b, int type, const char *data, size_t len)
{
	b->buf[b->len++] = (unsigned char)type;
	size_t l = len;
	do {
		unsigned char c = l & 0x7f;
		l >>= 7;
		if (l)
			c |= 0x80;
		b->buf[b->len++] = c;
	} while (l);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
}

static void recs(struct rb *b, int type, const char *s)
{
	rec(b, type, s, strlen(s));
}

/* A cleanup-style file: C, T, S, recipients, M content X E. */
static void cleanup_file(struct rb *b, const char **rcpts, const char *done)
{
	b->len = 0;
	char content[64];
	struct rb body = {.len = 0};
	recs(&body, 'N', "Subject: x");
	recs(&body, 'N', "");
	recs(&body, 'N', "hello");
	/* 'C' has fixed width in Postfix; the parser only needs field 1. */
	snprintf(content, sizeof content, "%15zu %15d %15d", body.len, 0, 1);
	recs(b, 'C', content);
	recs(b, 'T', "1700000000 123456");
	recs(b, 'A', "rewrite_context=local");
	recs(b, 'S', "alice@example.org");
	for (; *rcpts; rcpts++) {
		recs(b, 'O', *rcpts);
		recs(b, 'R', *rcpts);
	}
	if (done)
		recs(b, 'D', done);
	recs(b, 'M', "");
	memcpy(b->buf + b->len, body.buf, body.len);
	b->len += body.len;
	recs(b, 'X', "");
	recs(b, 'E', "");
}

static enum mm_pf_status parse(const unsigned char *data, size_t len, struct mm_pf_qfile *q)
{
	struct mm_pf_mem mem = {data, len};
	struct mm_pf_src src = {mm_pf_mem_read_at, &mem};
	return mm_pf_qfile_parse(&src, q);
}

static void test_built(void **state)
{
	struct rb *b = calloc(1, sizeof *b);
	struct mm_pf_qfile q = {0};
	const char *r2[] = {"u1@dead.test", "v@Slow.Test", NULL};
	cleanup_file(b, r2, "x@sink.test");
	assert_int_equal(parse(b->buf, b->len, &q), MM_PF_OK);
	assert_int_equal(q.arrival, 1700000000);
	assert_string_equal(mm_pf_qfile_sender(&q), "alice@example.org");
	assert_int_equal(q.nrcpt, 2);
	assert_string_equal(mm_pf_qfile_rcpt(&q, 0), "u1@dead.test");
	assert_string_equal(mm_pf_qfile_rcpt(&q, 1), "v@Slow.Test");
	assert_int_equal(q.done, 1);

	/* Every truncation of a good file is a problem, never a crash. */
	for (size_t cut = 0; cut < b->len; cut++) {
		enum mm_pf_status st = parse(b->buf, cut, &q);
		assert_int_not_equal(st, MM_PF_OK);
	}
	/* A content length pointing past the end. */
	struct rb *c = calloc(1, sizeof *c);
	recs(c, 'C', "         999999               0               1");
	recs(c, 'T', "1700000000 0");
	recs(c, 'S', "a@b");
	recs(c, 'R', "c@d");
	recs(c, 'M', "");
	recs(c, 'N', "x");
	recs(c, 'E', "");
	assert_int_equal(parse(c->buf, c->len, &q), MM_PF_TRUNCATED);
	free(c);
	mm_pf_qfile_free(&q);
	free(b);
}


static void test_table(void **state)
{
	/* Small hand-made files: name, records as "type:data|...", status. */
	static const struct {
		const char *name;
		const char *recs;
		enum mm_pf_status want;
		int nrcpt;
	} cases[] = {
		{"maildrop style, no C", "T:1700000000 0|S:a@b|R:c@d|M:|N:hi|X:|E:", MM_PF_OK, 1},
		{"garbage first record", "Z:junk|E:", MM_PF_MALFORMED, 0},
		{"C without T", "C:5 0 1|S:a@b|E:", MM_PF_MALFORMED, 0},
		{"no sender", "T:1 0|R:c@d|E:", MM_PF_MALFORMED, 0},
		{"no end", "T:1 0|S:a@b|R:c@d", MM_PF_TRUNCATED, 1},
		{"deleted and done", "T:1 0|S:a@b|D:c@d|@:e@f|R:g@h|E:", MM_PF_OK, 1},
		{"null sender", "T:1 0|S:|R:g@h|E:", MM_PF_OK, 1},
		{"content before sender", "T:1 0|M:|E:", MM_PF_MALFORMED, 0},
		{"pointer zero", "T:1 0|S:a@b|p:0|R:g@h|E:", MM_PF_OK, 1},
	};
	struct rb *b = calloc(1, sizeof *b);
	struct mm_pf_qfile q = {0};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		b->len = 0;
		char tmp[256];
		snprintf(tmp, sizeof tmp, "%s", cases[i].recs);
		for (char *tok = strtok(tmp, "|"); tok; tok = strtok(NULL, "|"))
			recs(b, tok[0], tok + 2);
		enum mm_pf_status got = parse(b->buf, b->len, &q);
		if (got != cases[i].want)
			fail_msg("%s: status %d, want %d (%s)", cases[i].name, got, cases[i].want,
				 q.problem);
		if (got == MM_PF_OK)
			assert_int_equal(q.nrcpt, cases[i].nrcpt);
	}
	/* A pointer loop ends as malformed. */
	b->len = 0;
	recs(b, 'T', "1 0");
	recs(b, 'S', "a@b");
	size_t at = b->len;
	char ptr[32];
	snprintf(ptr, sizeof ptr, "%15zu", at);
	recs(b, 'p', ptr);
	assert_int_equal(parse(b->buf, b->len, &q), MM_PF_MALFORMED);
	/* A pointer forward to appended recipients is followed. */
	b->len = 0;
	recs(b, 'T', "1 0");
	recs(b, 'S', "a@b");
	size_t pat = b->len;
	recs(b, 'p', "               0"); /* patched below */
	recs(b, 'E', "");		  /* skipped by the jump */
	size_t target = b->len;
	recs(b, 'R', "late@x.test");
	recs(b, 'E', "");
	snprintf(ptr, sizeof ptr, "%16zu", target);
	memcpy(b->buf + pat + 2, ptr, 16);
	assert_int_equal(parse(b->buf, b->len, &q), MM_PF_OK);
	assert_int_equal(q.nrcpt, 1);
	assert_string_equal(mm_pf_qfile_rcpt(&q, 0), "late@x.test");
	/* An address record over 64 KiB is oversize. */
	b->len = 0;
	recs(b, 'T', "1 0");
	recs(b, 'S', "a@b");
	static char big[MM_PF_MAX_REC + 10];
	memset(big, 'a', sizeof big);
	rec(b, 'R', big, sizeof big);
	recs(b, 'E', "");
	assert_int_equal(parse(b->buf, b->len, &q), MM_PF_OVERSIZE);
	/* A length varint that never ends. */
	b->len = 0;
	recs(b, 'T', "1 0");
	b->buf[b->len++] = 'R';
	for (int k = 0; k < 8; k++)
		b->buf[b->len++] = 0xff;
	assert_int_equal(parse(b->buf, b->len, &q), MM_PF_TRUNCATED);
	mm_pf_qfile_free(&q);
	free(b);
}

static unsigned char *slurp(const char *name, size_t *len)
{
	const char *src = getenv("MAILMON_SOURCE_DIR");
	char path[1024];
	snprintf(path, sizeof path, "%s/tests/fuzz/corpus/fuzz_queue_file/%s", src ? src : ".",
		 name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	static unsigned char buf[65536];
	*len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return buf;
}

/* Real files written by the lab's Postfix 3.7 (see postcat -e of them). */
static void test_real_files(void **state)
{
	struct mm_pf_qfile q = {0};
	size_t len;
	unsigned char *d = slurp("active-3rcpt-1done", &len);
	assert_int_equal(parse(d, len, &q), MM_PF_OK);
	assert_int_equal(q.size, 300);
	assert_string_equal(mm_pf_qfile_sender(&q), "alice@sender.example");
	assert_int_equal(q.nrcpt, 2);
	assert_string_equal(mm_pf_qfile_rcpt(&q, 0), "u1@dead.test");
	assert_string_equal(mm_pf_qfile_rcpt(&q, 1), "v@slow.test");
	assert_int_equal(q.done, 1);
	assert_true(q.arrival > 1700000000);

	d = slurp("deferred-null-sender", &len);
	assert_int_equal(parse(d, len, &q), MM_PF_OK);
	assert_string_equal(mm_pf_qfile_sender(&q), "");
	assert_int_equal(q.nrcpt, 1);
	assert_string_equal(mm_pf_qfile_rcpt(&q, 0), "bounce@dead.test");
	assert_int_equal(q.size, 316);

	/* Written by sendmail/postdrop into maildrop: 'T' first, no 'C'. */
	d = slurp("maildrop-postdrop", &len);
	assert_int_equal(parse(d, len, &q), MM_PF_OK);
	assert_false(q.has_size_rec);
	assert_int_equal(q.arrival, 1795244518);
	assert_string_equal(mm_pf_qfile_sender(&q), "md@sender.test");
	assert_int_equal(q.nrcpt, 2);
	assert_string_equal(mm_pf_qfile_rcpt(&q, 1), "y@slow.test");
	mm_pf_qfile_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_built),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_real_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* position_test: the saved-position encoding: round trip, and a table of
 * damaged or foreign files that must each fail with a clear message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/xalloc.h"
#include "sources/linebuf.h"
#include "sources/position.h"

static struct mm_posfile sample(void)
{
	struct mm_posfile pf;
	mm_posfile_init(&pf);
	struct mm_srcstate *s = mm_posfile_add(&pf, MM_SRCKIND_FILE, "/var/log/mail log%\n.x");
	s->pos = (struct mm_filepos){.dev = 2049, .ino = UINT64_MAX, .offset = 81920,
				     .line_len = 97, .line_hash = 0x8d3a0f0c5ad1f6b2ULL};
	s->lines = 840;
	s = mm_posfile_add(&pf, MM_SRCKIND_JOURNAL, "journal");
	s->cursor = xstrdup("s=0a1b;i=2f;b=ff;m=1;t=2;x=3");
	s->lines = 12;
	mm_posfile_add(&pf, MM_SRCKIND_JOURNAL, "journal2"); /* no cursor yet */
	pf.consumer = xstrdup("received=5 delivered=4\nline two");
	return pf;
}

static void test_round_trip(void **state)
{
	struct mm_posfile pf = sample();
	size_t len;
	char *text = mm_posfile_encode(&pf, &len);
	assert_int_equal(strlen(text), len);
	struct mm_posfile back;
	mm_posfile_init(&back);
	struct mm_err err;
	if (mm_posfile_decode(text, len, &back, &err) < 0)
		fail_msg("%s\n%s", err.msg, text);
	assert_int_equal(back.n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(back.src[i].kind, pf.src[i].kind);
		assert_string_equal(back.src[i].name, pf.src[i].name);
		assert_memory_equal(&back.src[i].pos, &pf.src[i].pos, sizeof pf.src[i].pos);
		assert_int_equal(back.src[i].lines, pf.src[i].lines);
	}
	assert_string_equal(back.src[1].cursor, pf.src[1].cursor);
	assert_null(back.src[2].cursor);
	assert_string_equal(back.consumer, pf.consumer);
	assert_non_null(mm_posfile_find(&back, MM_SRCKIND_JOURNAL, "journal"));
	assert_null(mm_posfile_find(&back, MM_SRCKIND_FILE, "journal"));
	/* Encoding is deterministic: a re-encode is byte-identical. */
	size_t len2;
	char *text2 = mm_posfile_encode(&back, &len2);
	assert_string_equal(text, text2);
	free(text);
	free(text2);
	mm_posfile_free(&pf);
	mm_posfile_free(&back);
}

/* Re-signs body with a correct checksum line, so that a test reaches the
 * check it means to reach. */
static char *signed_text(const char *body)
{
	return xasprintf("%schecksum %016llx\n", body,
			 (unsigned long long)mm_hash64(body, strlen(body)));
}

static void test_bad_files(void **state)
{
	static const struct {
		const char *body;
		int sign;
		const char *msg; /* expected in the error */
	} cases[] = {
		{"", 0, "empty file"},
		{"garbage\n", 0, "not a mailmon positions file"},
		{"mailmon-positions 3\n", 1, "unsupported version"},
		{"mailmon-positions 2\n", 0, "no checksum"},
		{"mailmon-positions 2\nchecksum 0000000000000000\n", 0, "checksum mismatch"},
		{"mailmon-positions 2\nsource file /x\ndev 1\n", 0, "no checksum"},
		{"mailmon-positions 2\nsource file /x\ndev 1", 0, "unterminated"},
		{"mailmon-positions 2\nsource file /x\ndev 1\nend\n", 1, "incomplete"},
		{"mailmon-positions 2\nsource file /x\ndev 1\ndev 1\n", 1, "repeated"},
		{"mailmon-positions 2\nsource file /x\ndev x1\n", 1, "bad"},
		{"mailmon-positions 2\nsource file /x\ndev 99999999999999999999\n", 1, "bad"},
		{"mailmon-positions 2\nsource file /x\ncolour 1\n", 1, "unknown"},
		{"mailmon-positions 2\nsource pipe /x\n", 1, "unknown source kind"},
		{"mailmon-positions 2\nsource file\n", 1, "bad source name"},
		{"mailmon-positions 2\nsource file a%zz\n", 1, "bad source name"},
		{"mailmon-positions 2\nsource file a%00b\n", 1, "bad source name"},
		{"mailmon-positions 2\nsource journal j\ndev 1\n", 1, "bad"},
		{"mailmon-positions 2\nsource journal j\nlines 1\n", 1, "inside a source block"},
		{"mailmon-positions 2\nsource file /x\ndev 1\nino 2\noffset 3\nline_len 4\n"
		 "line_hash 0\nlines 0\nend\n", 1, "line_len beyond offset"},
		{"mailmon-positions 2\nend\n", 1, "misplaced"},
		{"mailmon-positions 2\nlines 3\n", 1, "unexpected"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = cases[i].sign ? signed_text(cases[i].body) : xstrdup(cases[i].body);
		struct mm_posfile pf;
		mm_posfile_init(&pf);
		struct mm_err err = {""};
		int rc = mm_posfile_decode(text, strlen(text), &pf, &err);
		if (rc != -1 || !strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: rc %d, error \"%s\", want \"%s\"", i, rc, err.msg,
				 cases[i].msg);
		assert_int_equal(pf.n, 0);
		free(text);
	}
	/* Data after the checksum line is refused too. */
	char *text = signed_text("mailmon-positions 2\n");
	char *more = xasprintf("%sx\n", text);
	struct mm_posfile pf;
	mm_posfile_init(&pf);
	struct mm_err err;
	assert_int_equal(mm_posfile_decode(more, strlen(more), &pf, &err), -1);
	assert_non_null(strstr(err.msg, "after the checksum"));
	free(text);
	free(more);
}

/* A version-1 file (FNV-1a hashes, written before core/hash.c was the one
 * hash) is still read: its positions are kept, its checksum is not
 * checked, and its line hash is dropped so the tailer never compares it
 * with another function's value. The body below is such a file, as the
 * old encoder wrote it. */
static void test_version1_upgrade(void **state)
{
	static const char v1[] = "mailmon-positions 1\n"
				 "source file /var/log/mail.log\n"
				 "dev 2049\nino 1311\noffset 81920\nline_len 97\n"
				 "line_hash 8d3a0f0c5ad1f6b2\nlines 840\nend\n"
				 "checksum 1f2e3d4c5b6a7988\n";
	struct mm_posfile pf;
	mm_posfile_init(&pf);
	struct mm_err err;
	if (mm_posfile_decode(v1, strlen(v1), &pf, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(pf.n, 1);
	assert_int_equal(pf.src[0].pos.offset, 81920);
	assert_int_equal(pf.src[0].pos.ino, 1311);
	assert_int_equal(pf.src[0].pos.line_len, 0);
	assert_int_equal(pf.src[0].lines, 840);
	/* the next save is version 2 with a checked checksum */
	size_t len;
	char *text = mm_posfile_encode(&pf, &len);
	assert_memory_equal(text, "mailmon-positions 2\n", 20);
	mm_posfile_free(&pf);
	text[len - 2] ^= 1; /* damage the checksum: refused in version 2 */
	mm_posfile_init(&pf);
	assert_int_equal(mm_posfile_decode(text, len, &pf, &err), -1);
	assert_non_null(strstr(err.msg, "checksum mismatch"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_version1_upgrade),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

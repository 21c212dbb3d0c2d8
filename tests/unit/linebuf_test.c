/* linebuf_test: the shared line rules, table-driven: input fed in chunks
 * of every size, lines wanted, lines got. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sources/linebuf.h"

#define LMAX 16

/* Feeds in[0..inlen) in pieces of `piece` bytes, then flushes; returns the
 * lines joined with '|' and the stats. */
static void run(const char *in, size_t inlen, size_t piece, char *out, size_t outcap,
		struct mm_line_stats *st, uint64_t *consumed)
{
	struct mm_linebuf lb;
	mm_linebuf_init(&lb, 4096, LMAX);
	size_t used = 0, pos = 0;
	const char *line;
	size_t len;
	out[0] = '\0';
	while (pos < inlen) {
		char *p;
		size_t n;
		mm_linebuf_space(&lb, &p, &n);
		size_t take = inlen - pos < piece ? inlen - pos : piece;
		if (take > n)
			take = n;
		memcpy(p, in + pos, take);
		mm_linebuf_commit(&lb, take);
		pos += take;
		while (mm_linebuf_next(&lb, &line, &len)) {
			assert_true(used + len + 2 < outcap);
			memcpy(out + used, line, len);
			used += len;
			out[used++] = '|';
			out[used] = '\0';
		}
	}
	if (mm_linebuf_flush(&lb, &line, &len)) {
		memcpy(out + used, line, len);
		used += len;
		out[used++] = '!'; /* marks the unterminated line */
		out[used] = '\0';
	}
	*st = lb.st;
	*consumed = lb.consumed;
	mm_linebuf_free(&lb);
}

static void test_line_rules(void **state)
{
	static const struct {
		const char *in;
		size_t inlen; /* 0: strlen */
		const char *want;
		uint64_t capped, unterminated;
	} cases[] = {
		{"a\nbb\n", 0, "a|bb|", 0, 0},
		{"a\r\nb\r\n", 0, "a|b|", 0, 0},
		{"a\r\r\n", 0, "a\r|", 0, 0},		 /* one CR only */
		{"\n\n", 0, "||", 0, 0},
		{"tail", 0, "tail!", 0, 1},
		{"x\ntail\r", 0, "x|tail!", 0, 1},
		{"0123456789abcdef\n", 0, "0123456789abcdef|", 0, 0},	 /* exactly LMAX */
		{"0123456789abcdef\r\n", 0, "0123456789abcdef|", 0, 0}, /* LMAX + CR */
		{"0123456789abcdefX\n", 0, "0123456789abcdef|", 1, 0},
		{"0123456789abcdefXYZXYZXYZXYZXYZXYZXYZ\nok\n", 0, "0123456789abcdef|ok|", 1, 0},
		{"0123456789abcdefXYZXYZXYZXYZXYZXYZ", 0, "0123456789abcdef!", 1, 1},
		{"n\0l\nz\xff\xfe\n", 8, "n\0l|z\xff\xfe|", 0, 0},
	};
	size_t pieces[] = {1, 2, 3, 7, 4096};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t inlen = cases[i].inlen ? cases[i].inlen : strlen(cases[i].in);
		size_t wantlen = cases[i].inlen ? inlen : strlen(cases[i].want);
		for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
			char got[256];
			struct mm_line_stats st;
			uint64_t consumed;
			run(cases[i].in, inlen, pieces[k], got, sizeof got, &st, &consumed);
			if (memcmp(got, cases[i].want, wantlen) != 0)
				fail_msg("case %zu piece %zu: got \"%s\"", i, pieces[k], got);
			if (st.capped != cases[i].capped)
				fail_msg("case %zu piece %zu: capped %llu", i, pieces[k], (unsigned long long)st.capped);
			assert_int_equal(st.unterminated, cases[i].unterminated);
			assert_int_equal(consumed, inlen); /* every byte accounted for */
			assert_int_equal(st.bytes, inlen);
		}
	}
}

/* The delivered form computed from a raw line equals what next() gave. */
static void test_normalize(void **state)
{
	static const char *raws[] = {
		"abc\n",   "abc\r\n", "abc",	  "\r\n", "\n",
		"0123456789abcdef\r\n", "0123456789abcdefX\n", "0123456789abcdefXYZXYZXYZ\r\n",
	};
	for (size_t i = 0; i < sizeof raws / sizeof raws[0]; i++) {
		struct mm_linebuf lb;
		mm_linebuf_init(&lb, 4096, LMAX);
		char *p;
		size_t n, len, want;
		const char *line;
		mm_linebuf_space(&lb, &p, &n);
		size_t rl = strlen(raws[i]);
		memcpy(p, raws[i], rl);
		mm_linebuf_commit(&lb, rl);
		if (!mm_linebuf_next(&lb, &line, &len))
			assert_true(mm_linebuf_flush(&lb, &line, &len));
		mm_line_normalize(raws[i], rl, LMAX, &want);
		if (want != len)
			fail_msg("raw %zu: normalize %zu, delivered %zu", i, want, len);
		assert_int_equal(lb.last_raw, rl);
		mm_linebuf_free(&lb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_rules),
		cmocka_unit_test(test_normalize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

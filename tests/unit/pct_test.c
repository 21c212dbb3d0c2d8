/* pct_test: the %XX escape round-trips every byte, and the decoder's
 * flags refuse exactly what they say (table: input, flags, want). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/pct.h"

static void test_encode(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		{"plain", "plain"},
		{"a b", "a%20b"},
		{"100%", "100%25"},
		{"tab\there", "tab%09here"},
		{"\x7f\x80\xff", "%7F%80%FF"},
		{"caf\xc3\xa9", "caf%C3%A9"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mm_strbuf b;
		mm_strbuf_init(&b, 0);
		mm_pct_encode(&b, cases[i].in, strlen(cases[i].in));
		assert_string_equal(b.p, cases[i].want);
		mm_strbuf_free(&b);
	}
}

/* A query value keeps only RFC 3986's unreserved bytes. */
static void test_encode_query(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"mailmon_queue_*", "mailmon_queue_%2A"},
		{"q{queue=\"deferred\"}", "q%7Bqueue%3D%22deferred%22%7D"},
		{"a&b c+d#e/f?%~.-_", "a%26b%20c%2Bd%23e%2Ff%3F%25~.-_"},
		{"caf\xc3\xa9", "caf%C3%A9"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mm_strbuf b;
		mm_strbuf_init(&b, 0);
		mm_pct_encode_query(&b, cases[i].in, strlen(cases[i].in));
		assert_string_equal(b.p, cases[i].want);
		mm_strbuf_free(&b);
	}
}

static void test_roundtrip_every_byte(void **state)
{
	char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	struct mm_strbuf b;
	mm_strbuf_init(&b, 0);
	mm_pct_encode(&b, all, sizeof all);
	for (size_t i = 0; i < b.len; i++)
		assert_false(b.p[i] != '%' && mm_pct_needs((unsigned char)b.p[i]));
	char out[257];
	assert_int_equal(mm_pct_decode(b.p, b.len, out, sizeof out, MM_PCT_STRICT), 256);
	assert_memory_equal(out, all, 256);
	/* in place */
	assert_int_equal(mm_pct_decode(b.p, b.len, b.p, b.len + 1, 0), 256);
	assert_memory_equal(b.p, all, 256);
	mm_strbuf_free(&b);
}

static void test_decode_table(void **state)
{
	static const struct {
		const char *in;
		unsigned flags;
		size_t cap;
		long want; /* length, or -1 */
		const char *out;
	} cases[] = {
		{"a%20b", 0, 16, 3, "a b"},
		{"%41%62", 0, 16, 2, "Ab"},
		{"%4", 0, 16, -1, NULL},	       /* cut escape */
		{"%", 0, 16, -1, NULL},
		{"%zz", 0, 16, -1, NULL},	       /* not hex */
		{"a b", 0, 16, 3, "a b"},	       /* raw space: lenient */
		{"a b", MM_PCT_STRICT, 16, -1, NULL},  /* ... refused when strict */
		{"\xc3\xa9", 0, 16, 2, "\xc3\xa9"},    /* raw UTF-8 of older states */
		{"\xc3\xa9", MM_PCT_STRICT, 16, -1, NULL},
		{"x%00y", 0, 16, 3, NULL},	       /* NUL allowed without flag */
		{"x%00y", MM_PCT_NO_NUL, 16, -1, NULL},
		{"p%0Aw", 0, 16, 3, "p\nw"},
		{"p%0Aw", MM_PCT_NO_CTL, 16, -1, NULL}, /* CR/LF injection */
		{"p%7Fw", MM_PCT_NO_CTL, 16, -1, NULL},
		{"p\rw", MM_PCT_NO_CTL, 16, -1, NULL},  /* raw control too */
		{"s%C3%A9cret", MM_PCT_NO_CTL, 16, 7, "s\xc3\xa9" "cret"},
		{"abcd", 0, 5, 4, "abcd"},
		{"abcde", 0, 5, -1, NULL},	       /* no room for the NUL */
		{"", 0, 1, 0, ""},
		{"", 0, 0, -1, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[16];
		memset(out, '#', sizeof out);
		ssize_t got = mm_pct_decode(cases[i].in, strlen(cases[i].in), out, cases[i].cap,
					    cases[i].flags);
		if (got != cases[i].want)
			fail_msg("case %zu (%s): got %zd, want %ld", i, cases[i].in, got,
				 cases[i].want);
		if (cases[i].out)
			assert_string_equal(out, cases[i].out);
		if (cases[i].cap < sizeof out)
			assert_int_equal(out[cases[i].cap], '#'); /* nothing past cap */
	}
}

static void test_hexval(void **state)
{
	assert_int_equal(mm_hexval('0'), 0);
	assert_int_equal(mm_hexval('9'), 9);
	assert_int_equal(mm_hexval('a'), 10);
	assert_int_equal(mm_hexval('F'), 15);
	assert_int_equal(mm_hexval('g'), -1);
	assert_int_equal(mm_hexval('/'), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_encode_query),
		cmocka_unit_test(test_roundtrip_every_byte),
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_hexval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

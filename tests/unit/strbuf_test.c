/* strbuf_test: appends, printf of any length, the cap as a counted cut,
 * fixed buffers reporting the size they needed, steal/free ownership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/strbuf.h"

static void test_grows_without_cap(void **state)
{
	struct mm_strbuf b;
	mm_strbuf_init(&b, 0);
	assert_string_equal(b.p, "");
	for (int i = 0; i < 10000; i++)
		mm_strbuf_printf(&b, "%d,", i % 10);
	assert_int_equal(b.len, 20000);
	assert_int_equal(b.dropped, 0);
	assert_int_equal(strlen(b.p), 20000);
	assert_memory_equal(b.p + 19990, "5,6,7,8,9,", 10);
	mm_strbuf_free(&b);
}

/* A value longer than any scratch buffer the old builders used (64, 128,
 * 256 bytes) must arrive whole. */
static void test_printf_long_value(void **state)
{
	char big[5000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct mm_strbuf b;
	mm_strbuf_init(&b, 0);
	mm_strbuf_adds(&b, "<");
	mm_strbuf_printf(&b, "%s|%d", big, 42);
	mm_strbuf_addc(&b, '>');
	assert_int_equal(b.len, 1 + 4999 + 3 + 1);
	assert_memory_equal(b.p + 1 + 4999, "|42>", 5);
	mm_strbuf_free(&b);
}

static void test_cap_counts_dropped(void **state)
{
	static const struct {
		size_t max;
		const char *parts[4];
		const char *want;
		uint64_t dropped;
	} cases[] = {
		{5, {"abc", "def", NULL}, "abcde", 1},
		{5, {"abcde", "f", "gh", NULL}, "abcde", 3},
		{1, {"", "xy", NULL}, "x", 1},
		{8, {"12345678", NULL}, "12345678", 0},
		{100, {"a", "b", "c", NULL}, "abc", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mm_strbuf b;
		mm_strbuf_init(&b, cases[i].max);
		for (int j = 0; cases[i].parts[j]; j++)
			mm_strbuf_adds(&b, cases[i].parts[j]);
		assert_string_equal(b.p, cases[i].want);
		assert_int_equal(b.len, strlen(cases[i].want));
		assert_int_equal(b.dropped, cases[i].dropped);
		assert_int_equal(mm_strbuf_truncated(&b), cases[i].dropped != 0);
		assert_true(b.cap <= cases[i].max + 1);
		mm_strbuf_free(&b);
	}
	/* printf cut at the cap keeps the head */
	struct mm_strbuf b;
	mm_strbuf_init(&b, 10);
	mm_strbuf_printf(&b, "%s-%d", "abcdefgh", 12345);
	assert_string_equal(b.p, "abcdefgh-1");
	assert_int_equal(b.dropped, 4);
	mm_strbuf_reset(&b);
	assert_string_equal(b.p, "");
	assert_int_equal(b.dropped, 0);
	mm_strbuf_printf(&b, "%d", 7);
	assert_string_equal(b.p, "7");
	mm_strbuf_free(&b);
}

/* A fixed buffer never writes past its size and reports what it needed,
 * as snprintf does. The canaries catch an overrun by one. */
static void test_fixed(void **state)
{
	char mem[12];
	memset(mem, '#', sizeof mem);
	struct mm_strbuf b;
	mm_strbuf_fixed(&b, mem + 1, 8);
	mm_strbuf_adds(&b, "hello");
	mm_strbuf_printf(&b, " %s", "world");
	assert_string_equal(mem + 1, "hello w");
	assert_int_equal(b.len, 7);
	assert_int_equal(b.len + b.dropped, 11);
	assert_int_equal(mem[0], '#');
	assert_int_equal(mem[9], '#');
	char *copy = mm_strbuf_steal(&b, NULL);
	assert_string_equal(copy, "hello w");
	free(copy);
	assert_string_equal(mem + 1, "");

	struct mm_strbuf z;
	mm_strbuf_fixed(&z, NULL, 0);
	mm_strbuf_printf(&z, "%d", 123);
	mm_strbuf_adds(&z, "ab");
	assert_int_equal(z.len, 0);
	assert_int_equal(z.dropped, 5);
}

static void test_binary_and_steal(void **state)
{
	struct mm_strbuf b;
	mm_strbuf_init(&b, 0);
	mm_strbuf_add(&b, "a\0b", 3);
	size_t len;
	char *s = mm_strbuf_steal(&b, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "a\0b", 4);
	free(s);
	assert_null(b.p);
	mm_strbuf_free(&b); /* after steal: harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows_without_cap),
		cmocka_unit_test(test_printf_long_value),
		cmocka_unit_test(test_cap_counts_dropped),
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_binary_and_steal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

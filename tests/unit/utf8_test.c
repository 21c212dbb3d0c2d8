/* utf8_test: the UTF-8 and clean-text checks on a table of hostile byte
 * strings, the lossy JSON conversion, and the repeat limiter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/repeat.h"
#include "core/utf8.h"

static const struct {
	const char *in;
	size_t n;
	bool valid, clean;
} cases[] = {
	{"plain /api/status", 17, true, true},
	{"tab\there", 8, true, true},
	{"caf\xc3\xa9", 5, true, true},
	{"\xe2\x82\xac", 3, true, true},
	{"\xf0\x9f\x93\xab", 4, true, true},
	{"\xff", 1, false, false},
	{"\xc3", 1, false, false},		/* truncated */
	{"\xc0\xaf", 2, false, false},		/* overlong '/' */
	{"\xe0\x80\xaf", 3, false, false},	/* overlong */
	{"\xed\xa0\x80", 3, false, false},	/* surrogate */
	{"\xf4\x90\x80\x80", 4, false, false},	/* past U+10FFFF */
	{"\xf8\x88\x80\x80\x80", 5, false, false},
	{"a\0b", 3, true, false},
	{"line\nbreak", 10, true, false},
	{"cr\r", 3, true, false},
	{"del\x7f", 4, true, false},
	{"esc\x1b[31m", 8, true, false},
};

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(mm_utf8_valid(cases[i].in, cases[i].n), cases[i].valid);
		assert_int_equal(mm_text_clean(cases[i].in, cases[i].n), cases[i].clean);
	}
}

static void test_json_text(void **state)
{
	json_t *j = mm_json_text("ok \xff\xc3 end \xe2\x82\xac");
	assert_non_null(j);
	assert_string_equal(json_string_value(j), "ok \xef\xbf\xbd\xef\xbf\xbd end \xe2\x82\xac");
	char *dump = json_dumps(j, JSON_ENCODE_ANY);
	assert_non_null(dump);
	free(dump);
	json_decref(j);
	j = mm_json_text(NULL);
	assert_true(json_is_null(j));
	json_decref(j);
	/* every single byte value gives a string jansson can dump */
	for (int b = 1; b < 256; b++) {
		char s[2] = {(char)b, 0};
		j = mm_json_text(s);
		dump = json_dumps(j, JSON_ENCODE_ANY);
		assert_non_null(dump);
		free(dump);
		json_decref(j);
	}
}

static void test_repeat(void **state)
{
	struct mm_repeat r = {.window_ms = 1000};
	uint64_t sup = 99;
	assert_true(mm_repeat_due(&r, 5000, &sup));
	assert_int_equal(sup, 0);
	for (int i = 1; i <= 9; i++)
		assert_false(mm_repeat_due(&r, 5000 + i * 100, NULL));
	assert_true(mm_repeat_due(&r, 6000, &sup));
	assert_int_equal(sup, 9);
	assert_int_equal(mm_repeat_clear(&r), 11);
	assert_true(mm_repeat_due(&r, 6001, &sup));
	assert_int_equal(sup, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_json_text),
		cmocka_unit_test(test_repeat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

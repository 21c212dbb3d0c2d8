/* cmdline_test: configured command lines become the argv we expect, with
 * no shell meaning given to ';' and friends; bad lines are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cmdline.h"

static void test_split(void **state)
{
	static const struct {
		const char *line;
		const char *want[5];
	} t[] = {
		{"/usr/sbin/postfix -c /etc/postfix start", {"/usr/sbin/postfix", "-c", "/etc/postfix", "start", NULL}},
		{"  a  'b c'  \"d\\\"e\" ", {"a", "b c", "d\"e", NULL}},
		{"x;rm -rf /", {"x;rm", "-rf", "/", NULL}},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct mm_err err;
		char **argv = mm_cmdline_split(t[i].line, &err);
		assert_non_null(argv);
		size_t j = 0;
		for (; t[i].want[j]; j++) {
			assert_non_null(argv[j]);
			assert_string_equal(argv[j], t[i].want[j]);
		}
		assert_null(argv[j]);
		free(argv);
	}
	struct mm_err err;
	assert_null(mm_cmdline_split("a 'b", &err));
	assert_null(mm_cmdline_split("   ", &err));
}

static void test_shell_form(void **state)
{
	struct mm_err err;
	const char *line = "echo $HOME | wc -c";
	char **argv = mm_cmdline_argv(line, true, &err);
	assert_non_null(argv);
	assert_string_equal(argv[0], "/bin/sh");
	assert_string_equal(argv[1], "-c");
	assert_ptr_equal(argv[2], line);
	assert_null(argv[3]);
	free(argv);
	argv = mm_cmdline_argv(line, false, &err);
	assert_string_equal(argv[1], "$HOME");
	assert_string_equal(argv[2], "|");
	free(argv);
	assert_null(mm_cmdline_argv("", true, &err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_shell_form),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

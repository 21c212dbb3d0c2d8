/* nameidx_test: names map to their rows across growth and reallocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/nameidx.h"

struct row {
	char name[16];
};

static const char *name_of(const void *rows, size_t i)
{
	return ((const struct row *)rows)[i].name;
}

static void test_many_names(void **state)
{
	struct mm_nameidx ix = {0};
	struct row *rows = NULL;
	size_t n = 0;
	/* insert 5000 names (the array moves as it grows), each once */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 5000; i++) {
			char name[16];
			snprintf(name, sizeof name, "d%d.test", i);
			mm_nameidx_reserve(&ix, n + 1, 16, name_of, rows);
			size_t *slot = mm_nameidx_slot(&ix, name, name_of, rows);
			if (pass == 0) {
				assert_int_equal(*slot, 0);
				rows = realloc(rows, (n + 1) * sizeof *rows);
				snprintf(rows[n].name, sizeof rows[n].name, "%s", name);
				*slot = ++n;
			} else {
				assert_int_equal(*slot, (size_t)i + 1);
			}
		}
	assert_int_equal(n, 5000);
	assert_true(ix.nslots >= 2 * n);
	assert_int_equal(*mm_nameidx_slot(&ix, "absent.test", name_of, rows), 0);
	mm_nameidx_free(&ix);
	free(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_many_names)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tally_test: exact counts while the budget lasts; past it, the
 * space-saving bound (count - err <= true <= count, and no missing key
 * above the smallest slot) holds against a brute-force count kept here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/tally.h"

#define NKEYS 20000

/* A skewed stream with a long tail: key i has probability about
 * 1 / (i + 1)^2, so a few keys are heavy and thousands are seen once. */
static unsigned key_of(unsigned step)
{
	unsigned x = step * 2654435761u;
	unsigned u = (x >> 11) % 100000 + 1;
	return (100000 / u - 1) % NKEYS;
}

/* Adds `steps` keys "clientN" of the stream, counting them in truth. */
static void feed(struct mm_tally *t, uint64_t *truth, unsigned steps)
{
	memset(truth, 0, NKEYS * sizeof *truth);
	char k[32];
	for (unsigned s = 0; s < steps; s++) {
		unsigned i = key_of(s);
		truth[i]++;
		int n = snprintf(k, sizeof k, "client%u", i);
		mm_tally_add(t, k, (size_t)n, 1);
	}
}

static void test_exact_within_budget(void **state)
{
	(void)state;
	struct mm_tally_budget b = {.cap = 64 << 20};
	struct mm_tally t;
	mm_tally_init(&t, &b, 64);
	static uint64_t truth[NKEYS];
	feed(&t, truth, 200000);
	assert_true(mm_tally_exact(&t));
	struct mm_tally_row rows[NKEYS];
	size_t got = mm_tally_top(&t, rows, NKEYS);
	size_t distinct = 0;
	for (unsigned i = 0; i < NKEYS; i++)
		distinct += truth[i] != 0;
	assert_int_equal(got, distinct);
	for (size_t r = 0; r < got; r++) {
		unsigned i = (unsigned)strtoul(rows[r].key + 6, NULL, 10);
		assert_int_equal(rows[r].count, truth[i]);
		assert_int_equal(rows[r].err, 0);
		if (r)
			assert_true(rows[r - 1].count >= rows[r].count);
	}
	assert_true(b.used > 0);
	mm_tally_free(&t);
	assert_int_equal(b.used, 0);
}

static void test_bound_past_budget(void **state)
{
	(void)state;
	struct mm_tally_budget b = {.cap = 16384}; /* a few hundred keys */
	struct mm_tally t;
	mm_tally_init(&t, &b, 500);
	static uint64_t truth[NKEYS];
	feed(&t, truth, 300000);
	char k[32];
	assert_false(mm_tally_exact(&t));
	assert_int_equal(b.switched, 1);
	assert_int_equal(t.total, 300000);
	struct mm_tally_row rows[500];
	size_t got = mm_tally_top(&t, rows, 500);
	assert_int_equal(got, 500);
	uint64_t floor = mm_tally_min_bound(&t);
	static char listed[NKEYS];
	memset(listed, 0, sizeof listed);
	for (size_t r = 0; r < got; r++) {
		unsigned i = (unsigned)strtoul(rows[r].key + 6, NULL, 10);
		listed[i] = 1;
		assert_true(rows[r].count >= truth[i]);
		assert_true(rows[r].count - rows[r].err <= truth[i]);
	}
	for (unsigned i = 0; i < NKEYS; i++)
		if (!listed[i])
			assert_true(truth[i] <= floor);
	/* The truly heaviest key is listed, and first. */
	unsigned top = 0;
	for (unsigned i = 1; i < NKEYS; i++)
		if (truth[i] > truth[top])
			top = i;
	assert_true(listed[top]);
	assert_true(truth[top] > floor);
	snprintf(k, sizeof k, "client%u", top);
	assert_string_equal(rows[0].key, k);
	mm_tally_free(&t);
}

static void test_long_keys_cut(void **state)
{
	(void)state;
	struct mm_tally_budget b = {.cap = 1 << 20};
	struct mm_tally t;
	mm_tally_init(&t, &b, 8);
	char big[400];
	memset(big, 'x', sizeof big);
	mm_tally_add(&t, big, sizeof big, 2);
	mm_tally_add(&t, big, MM_TALLY_KEY + 5, 1); /* same first bytes: same key */
	struct mm_tally_row r[2];
	assert_int_equal(mm_tally_top(&t, r, 2), 1);
	assert_int_equal(r[0].len, MM_TALLY_KEY - 1);
	assert_int_equal(r[0].count, 3);
	assert_int_equal(t.truncated, 2);
	mm_tally_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_exact_within_budget),
					   cmocka_unit_test(test_bound_past_budget),
					   cmocka_unit_test(test_long_keys_cut)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

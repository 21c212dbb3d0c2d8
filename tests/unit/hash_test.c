/* hash_test: mm_hash64, the one hash of the tree, reads every byte of
 * every length (each load path: < 4, 4-7, 8+ and the overlapping tail),
 * spreads queue-ID-like keys over the low bits tables use, and its
 * case-insensitive variant ignores ASCII case only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/hash.h"

/* Flipping any one bit of any byte changes the hash, for lengths 1..40. */
static void test_every_byte_counts(void **state)
{
	unsigned char buf[40];
	for (size_t len = 1; len <= sizeof buf; len++) {
		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)(i * 7 + len);
		uint64_t h0 = mm_hash64(buf, len);
		assert_int_equal(h0, mm_hash64(buf, len)); /* deterministic */
		for (size_t i = 0; i < len; i++)
			for (int bit = 0; bit < 8; bit++) {
				buf[i] ^= (unsigned char)(1u << bit);
				if (mm_hash64(buf, len) == h0)
					fail_msg("len %zu: byte %zu bit %d ignored", len, i, bit);
				buf[i] ^= (unsigned char)(1u << bit);
			}
	}
	/* the length is part of the hash: zero bytes of different lengths */
	unsigned char z[16] = {0};
	for (size_t a = 0; a < sizeof z; a++)
		for (size_t b = a + 1; b <= sizeof z; b++)
			assert_int_not_equal(mm_hash64(z, a), mm_hash64(z, b));
}

/* 200,000 Postfix-style queue IDs into 2^16 buckets by the low bits (as
 * every table here indexes): no full collision, and no bucket far above
 * the mean of ~3 (a poor mix puts hundreds in a few). */
static void test_spread(void **state)
{
	enum { N = 200000, BITS = 16 };
	uint32_t *count = calloc(1u << BITS, sizeof *count);
	uint64_t *all = malloc(N * sizeof *all);
	for (int i = 0; i < N; i++) {
		char id[16];
		int n = snprintf(id, sizeof id, "4Q%07X", (unsigned)i * 2654435761u % 0xFFFFFFF);
		uint64_t h = mm_hash64(id, (size_t)n);
		all[i] = h;
		count[h & ((1u << BITS) - 1)]++;
	}
	uint32_t max = 0;
	for (uint32_t b = 0; b < 1u << BITS; b++)
		if (count[b] > max)
			max = count[b];
	assert_true(max < 20);
	/* high bits too (the HyperLogLog uses them) */
	memset(count, 0, (1u << BITS) * sizeof *count);
	for (int i = 0; i < N; i++)
		count[all[i] >> (64 - BITS)]++;
	max = 0;
	for (uint32_t b = 0; b < 1u << BITS; b++)
		if (count[b] > max)
			max = count[b];
	assert_true(max < 20);
	free(count);
	free(all);
}

static void test_lower(void **state)
{
	static const struct {
		const char *a, *b;
		int same;
	} t[] = {
		{"Example.ORG", "example.org", 1},
		{"MX1.LAB.TEST", "mx1.lab.test", 1},
		{"example.org", "example.org.", 0},
		{"\xc3\x89t\xc3\xa9", "\xc3\xa9t\xc3\xa9", 0}, /* not ASCII: kept */
		{"", "", 1},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int same = mm_hash64_lower(t[i].a, strlen(t[i].a)) ==
			   mm_hash64_lower(t[i].b, strlen(t[i].b));
		if (same != t[i].same)
			fail_msg("case %zu: %s vs %s", i, t[i].a, t[i].b);
	}
	/* longer than its 256-byte chunk */
	char up[600], lo[600];
	for (int i = 0; i < 600; i++) {
		lo[i] = (char)('a' + i % 26);
		up[i] = (char)('A' + i % 26);
	}
	assert_int_equal(mm_hash64_lower(up, 600), mm_hash64_lower(lo, 600));
	lo[599] = '!';
	assert_int_not_equal(mm_hash64_lower(up, 600), mm_hash64_lower(lo, 600));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte_counts),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_lower),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

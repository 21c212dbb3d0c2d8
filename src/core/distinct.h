/*
 * distinct: count distinct strings in bounded memory.
 *
 * Exact up to `cap` distinct values: a growable open-addressing set of
 * 64-bit hashes (a false merge needs a 64-bit collision, about 1 in 10^9
 * at 200,000 values). Past the cap it switches, once, to a HyperLogLog
 * sketch of 2^14 registers (16 KiB, standard error about 0.8%), fed with
 * every hash it held, and the set is freed. mm_distinct_exact() says which
 * mode the count came from, so reports can say "about".
 *
 * Ownership: the caller owns the struct; mm_distinct_free() releases its
 * memory. No allocation per value except the set doubling.
 */
#ifndef MAILMON_CORE_DISTINCT_H
#define MAILMON_CORE_DISTINCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mm_distinct {
	uint64_t *set; /* 0 = empty slot; hash 0 is stored as 1 */
	size_t cap_slots, n, cap;
	uint8_t *hll;  /* non-NULL once past cap */
};

void mm_distinct_init(struct mm_distinct *d, size_t cap);
void mm_distinct_free(struct mm_distinct *d);
/* Adds a value by its 64-bit hash (core/hash.h). Returns true when it was
 * new (in HLL mode: always false, the sketch cannot tell). */
bool mm_distinct_add(struct mm_distinct *d, uint64_t h);
/* Hints the cache line mm_distinct_add(d, h) will touch, so a caller can
 * do other work while it loads. */
void mm_distinct_prefetch(const struct mm_distinct *d, uint64_t h);
uint64_t mm_distinct_count(const struct mm_distinct *d);
bool mm_distinct_exact(const struct mm_distinct *d);
/* Exact mode only: whether h was added before (false in HLL mode). */
bool mm_distinct_has(const struct mm_distinct *d, uint64_t h);

#endif

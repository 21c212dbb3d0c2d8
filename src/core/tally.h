/*
 * tally: count how often each string occurs, exactly while a memory
 * budget allows, then approximately with a stated error bound.
 *
 * Exact mode: a hash table of every distinct key (copied into an arena)
 * with its count. Each new key charges its bytes to a struct
 * mm_tally_budget that several tallies may share; when a new key would
 * take the budget past its cap, that tally switches, once, to the
 * space-saving algorithm (Metwally et al. 2005) with `approx_slots`
 * slots, seeded with its largest exact counts, and its exact table is
 * freed (its bytes go back to the budget). From then on every count it
 * reports is an upper bound, at most `err` above the true count, and
 * every key whose true count exceeds the smallest slot's count is kept.
 * The budget is an accounting of this module's own allocations (entries,
 * index, arena, slots); it does not measure malloc overhead.
 *
 * Keys longer than MM_TALLY_KEY - 1 bytes are cut to that length (counted
 * in `truncated`), in both modes, so the two modes group alike.
 *
 * Public: mm_tally_init / mm_tally_free / mm_tally_add / mm_tally_top /
 * mm_tally_exact / mm_tally_min_bound. The caller owns the struct and the
 * budget (which must outlive every tally charged to it); rows returned by
 * mm_tally_top point into the tally and are valid until the next add or
 * free. Out of memory is fatal (xalloc); nothing else fails.
 */
#ifndef MAILMON_CORE_TALLY_H
#define MAILMON_CORE_TALLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MM_TALLY_KEY 160

struct mm_tally_budget {
	size_t used, cap; /* bytes; cap 0 = no exact mode at all */
	uint64_t switched; /* tallies that went approximate */
};

struct mm_tally_ent; /* exact entry (tally.c) */
struct mm_tally_slot; /* approximate slot (tally.c) */

struct mm_tally {
	struct mm_tally_budget *budget;
	uint32_t approx_slots;
	uint64_t total;	    /* sum of all counts added */
	uint64_t truncated; /* keys cut to MM_TALLY_KEY - 1 bytes */
	/* exact mode */
	struct mm_tally_ent *ents;
	size_t n, ents_cap;
	uint32_t *index; /* entry + 1; 0 empty */
	uint32_t imask;
	struct mm_tally_chunk *arena;
	size_t charged; /* bytes charged to the budget */
	/* approximate mode (slots != NULL) */
	struct mm_tally_slot *slots;
	uint32_t nslots;
	uint32_t *heap;	   /* slot indexes, min-heap by count */
	uint32_t *buckets; /* slot + 1, chained through slot.next */
	uint32_t bmask;
};

struct mm_tally_row {
	const char *key;
	size_t len;
	uint64_t count; /* exact, or an upper bound in approximate mode */
	uint64_t err;	/* count - err <= true count <= count; 0 when exact */
};

void mm_tally_init(struct mm_tally *t, struct mm_tally_budget *b, uint32_t approx_slots);
void mm_tally_free(struct mm_tally *t);
void mm_tally_add(struct mm_tally *t, const char *key, size_t len, uint64_t count);
/* The k largest counts, descending (ties by key), into rows[k]; returns
 * how many were written. */
size_t mm_tally_top(const struct mm_tally *t, struct mm_tally_row *rows, size_t k);
bool mm_tally_exact(const struct mm_tally *t);
/* Distinct keys held: all of them in exact mode, the slots in use else. */
size_t mm_tally_size(const struct mm_tally *t);
/* Approximate mode: no key missing from the tally has a true count above
 * this (the smallest slot's count). 0 in exact mode. */
uint64_t mm_tally_min_bound(const struct mm_tally *t);

#endif

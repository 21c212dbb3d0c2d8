/*
 * topk: the most frequent strings of a stream in fixed memory, by the
 * space-saving algorithm (Metwally et al. 2005): k slots; a new string
 * when all are taken replaces the least counted one and inherits its
 * count as error. Every string with a true count above n/k is kept, and
 * each count is an over-estimate by at most its `err`.
 *
 * Keys are copied into fixed slots of MM_TOPK_KEY bytes (longer ones are
 * truncated). The caller owns the struct (mm_topk_init/free).
 */
#ifndef MAILMON_CORE_TOPK_H
#define MAILMON_CORE_TOPK_H

#include <stddef.h>
#include <stdint.h>

#define MM_TOPK_KEY 120

struct mm_topk_item {
	uint64_t hash;
	uint64_t count, err;
	char key[MM_TOPK_KEY];
};

struct mm_topk {
	struct mm_topk_item *items; /* NULL until first add */
	unsigned k, n;
	uint64_t total;
	uint64_t truncated; /* keys cut to MM_TOPK_KEY - 1 bytes */
};

void mm_topk_init(struct mm_topk *t, unsigned k);
void mm_topk_free(struct mm_topk *t);
void mm_topk_add(struct mm_topk *t, const char *key, size_t len, uint64_t count);
/* Sorts items by count, descending (for output). */
void mm_topk_sort(struct mm_topk *t);

#endif

/*
 * topk: space-saving heavy hitters (see topk.h).
 */
#include "core/topk.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/xalloc.h"

void mm_topk_init(struct mm_topk *t, unsigned k)
{
	memset(t, 0, sizeof *t);
	t->k = k ? k : 1;
}

void mm_topk_free(struct mm_topk *t)
{
	free(t->items);
	t->items = NULL;
	t->n = 0;
}

void mm_topk_add(struct mm_topk *t, const char *key, size_t len, uint64_t count)
{
	if (len > MM_TOPK_KEY - 1) {
		len = MM_TOPK_KEY - 1;
		t->truncated++;
	}
	uint64_t h = mm_hash64(key, len);
	t->total += count;
	if (!t->items)
		t->items = xcalloc(t->k, sizeof *t->items);
	unsigned min = 0;
	for (unsigned i = 0; i < t->n; i++) {
		struct mm_topk_item *it = &t->items[i];
		if (it->hash == h && strncmp(it->key, key, len) == 0 && it->key[len] == 0) {
			it->count += count;
			return;
		}
		if (it->count < t->items[min].count)
			min = i;
	}
	struct mm_topk_item *it;
	if (t->n < t->k) {
		it = &t->items[t->n++];
		it->count = count;
		it->err = 0;
	} else {
		it = &t->items[min];
		it->err = it->count;
		it->count += count;
	}
	it->hash = h;
	memcpy(it->key, key, len);
	it->key[len] = 0;
}

static int by_count(const void *a, const void *b)
{
	const struct mm_topk_item *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

void mm_topk_sort(struct mm_topk *t)
{
	if (t->n)
		qsort(t->items, t->n, sizeof *t->items, by_count);
}

/*
 * tally: exact counts within a memory budget, then space-saving (see
 * tally.h for the contract and the error bound).
 */
#include "core/tally.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/xalloc.h"

#define CHUNK_BYTES 65536

struct mm_tally_ent {
	uint64_t hash, count;
	const char *key;
	uint32_t len;
};

struct mm_tally_chunk {
	struct mm_tally_chunk *next;
	size_t used;
	char data[CHUNK_BYTES];
};

struct mm_tally_slot {
	uint64_t hash, count, err;
	uint32_t heap, next; /* position in heap; next slot + 1 in its bucket */
	uint32_t len;
	char key[MM_TALLY_KEY];
};

void mm_tally_init(struct mm_tally *t, struct mm_tally_budget *b, uint32_t approx_slots)
{
	memset(t, 0, sizeof *t);
	t->budget = b;
	t->approx_slots = approx_slots < 4 ? 4 : approx_slots;
}

static void free_exact(struct mm_tally *t)
{
	free(t->ents);
	free(t->index);
	while (t->arena) {
		struct mm_tally_chunk *c = t->arena;
		t->arena = c->next;
		free(c);
	}
	t->ents = NULL;
	t->index = NULL;
	t->n = t->ents_cap = 0;
	t->imask = 0;
	if (t->budget)
		t->budget->used -= t->charged < t->budget->used ? t->charged : t->budget->used;
	t->charged = 0;
}

void mm_tally_free(struct mm_tally *t)
{
	free_exact(t);
	free(t->slots);
	free(t->heap);
	free(t->buckets);
	t->slots = NULL;
	t->heap = t->buckets = NULL;
	t->nslots = 0;
}

bool mm_tally_exact(const struct mm_tally *t)
{
	return t->slots == NULL;
}

size_t mm_tally_size(const struct mm_tally *t)
{
	return t->slots ? t->nslots : t->n;
}

uint64_t mm_tally_min_bound(const struct mm_tally *t)
{
	if (!t->slots || t->nslots < t->approx_slots)
		return 0;
	return t->slots[t->heap[0]].count;
}

/* ---- approximate mode: slots, a min-heap by count, chained buckets ---- */

static void heap_swap(struct mm_tally *t, uint32_t a, uint32_t b)
{
	uint32_t sa = t->heap[a], sb = t->heap[b];
	t->heap[a] = sb;
	t->heap[b] = sa;
	t->slots[sb].heap = a;
	t->slots[sa].heap = b;
}

static void heap_down(struct mm_tally *t, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->nslots && t->slots[t->heap[l]].count < t->slots[t->heap[m]].count)
			m = l;
		if (r < t->nslots && t->slots[t->heap[r]].count < t->slots[t->heap[m]].count)
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

static void heap_up(struct mm_tally *t, uint32_t i)
{
	while (i) {
		uint32_t p = (i - 1) / 2;
		if (t->slots[t->heap[p]].count <= t->slots[t->heap[i]].count)
			return;
		heap_swap(t, i, p);
		i = p;
	}
}

static void bucket_unlink(struct mm_tally *t, uint32_t s)
{
	uint32_t *pp = &t->buckets[t->slots[s].hash & t->bmask];
	while (*pp && *pp != s + 1)
		pp = &t->slots[*pp - 1].next;
	if (*pp)
		*pp = t->slots[s].next;
	t->slots[s].next = 0;
}

static void bucket_link(struct mm_tally *t, uint32_t s)
{
	uint32_t *b = &t->buckets[t->slots[s].hash & t->bmask];
	t->slots[s].next = *b;
	*b = s + 1;
}

static void approx_add(struct mm_tally *t, uint64_t h, const char *key, size_t len, uint64_t cnt)
{
	for (uint32_t i = t->buckets[h & t->bmask]; i; i = t->slots[i - 1].next) {
		struct mm_tally_slot *s = &t->slots[i - 1];
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
			s->count += cnt;
			heap_down(t, s->heap);
			return;
		}
	}
	uint32_t si;
	struct mm_tally_slot *s;
	bool fresh = t->nslots < t->approx_slots;
	if (fresh) {
		si = t->nslots++;
		s = &t->slots[si];
		s->count = cnt;
		s->err = 0;
		s->heap = si;
		t->heap[si] = si;
	} else {
		/* Space-saving: the smallest slot takes the new key and keeps its
		 * count as the new key's possible overcount. */
		si = t->heap[0];
		s = &t->slots[si];
		bucket_unlink(t, si);
		s->err = s->count;
		s->count += cnt;
	}
	s->hash = h;
	s->len = (uint32_t)len;
	memcpy(s->key, key, len);
	s->key[len] = 0;
	bucket_link(t, si);
	if (fresh)
		heap_up(t, si);
	else
		heap_down(t, s->heap);
}

static int ent_by_count(const void *a, const void *b)
{
	const struct mm_tally_ent *x = *(const struct mm_tally_ent *const *)a;
	const struct mm_tally_ent *y = *(const struct mm_tally_ent *const *)b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return 0;
}

/* Exact -> approximate: the largest exact counts seed the slots (err 0);
 * every key left out had a count no larger than the smallest kept, which
 * is the space-saving invariant, so the bound holds from here on. */
static void go_approx(struct mm_tally *t)
{
	uint32_t m = t->approx_slots, nb = 8;
	while (nb < 2 * m)
		nb <<= 1;
	t->slots = xcalloc(m, sizeof *t->slots);
	t->heap = xcalloc(m, sizeof *t->heap);
	t->buckets = xcalloc(nb, sizeof *t->buckets);
	t->bmask = nb - 1;
	t->nslots = 0;
	if (t->n) {
		struct mm_tally_ent **order = xmalloc(t->n * sizeof *order);
		for (size_t i = 0; i < t->n; i++)
			order[i] = &t->ents[i];
		qsort(order, t->n, sizeof *order, ent_by_count);
		size_t keep = t->n < m ? t->n : m;
		for (size_t i = 0; i < keep; i++)
			approx_add(t, order[i]->hash, order[i]->key, order[i]->len,
				   order[i]->count);
		free(order);
	}
	free_exact(t);
	if (t->budget)
		t->budget->switched++;
}

/* ---- exact mode ---- */

static bool charge(struct mm_tally *t, size_t bytes)
{
	struct mm_tally_budget *b = t->budget;
	if (!b)
		return true;
	if (b->used + bytes > b->cap)
		return false;
	b->used += bytes;
	t->charged += bytes;
	return true;
}

static void reindex(struct mm_tally *t, uint32_t slots)
{
	free(t->index);
	t->index = xcalloc(slots, sizeof *t->index);
	t->imask = slots - 1;
	for (size_t i = 0; i < t->n; i++) {
		uint32_t s = (uint32_t)t->ents[i].hash & t->imask;
		while (t->index[s])
			s = (s + 1) & t->imask;
		t->index[s] = (uint32_t)i + 1;
	}
}

/* Returns false when the budget cannot take one more key. */
static bool exact_insert(struct mm_tally *t, uint32_t s, uint64_t h, const char *key, size_t len,
			 uint64_t cnt)
{
	size_t need = 0, want_ents = 0, want_slots = 0;
	if (t->n + 1 > t->ents_cap) {
		want_ents = t->ents_cap ? t->ents_cap * 2 : 16;
		need += (want_ents - t->ents_cap) * sizeof *t->ents;
	}
	if ((t->n + 1) * 2 > (size_t)t->imask + 1) {
		want_slots = ((size_t)t->imask + 1) * 2;
		need += ((size_t)t->imask + 1) * sizeof *t->index;
	}
	bool new_chunk = !t->arena || t->arena->used + len > CHUNK_BYTES;
	if (new_chunk)
		need += sizeof *t->arena;
	if (!charge(t, need))
		return false;
	if (want_ents) {
		t->ents = xrealloc(t->ents, want_ents * sizeof *t->ents);
		t->ents_cap = want_ents;
	}
	if (new_chunk) {
		struct mm_tally_chunk *c = xmalloc(sizeof *c);
		c->next = t->arena;
		c->used = 0;
		t->arena = c;
	}
	char *k = t->arena->data + t->arena->used;
	memcpy(k, key, len);
	t->arena->used += len;
	struct mm_tally_ent *e = &t->ents[t->n++];
	e->hash = h;
	e->count = cnt;
	e->key = k;
	e->len = (uint32_t)len;
	if (want_slots)
		reindex(t, (uint32_t)want_slots);
	else
		t->index[s] = (uint32_t)t->n;
	return true;
}

void mm_tally_add(struct mm_tally *t, const char *key, size_t len, uint64_t cnt)
{
	if (len > MM_TALLY_KEY - 1) {
		len = MM_TALLY_KEY - 1;
		t->truncated++;
	}
	if (!key)
		key = "";
	uint64_t h = mm_hash64(key, len);
	t->total += cnt;
	if (t->slots) {
		approx_add(t, h, key, len, cnt);
		return;
	}
	if (!t->index) {
		if (!charge(t, 16 * sizeof *t->index)) {
			go_approx(t);
			approx_add(t, h, key, len, cnt);
			return;
		}
		t->index = xcalloc(16, sizeof *t->index);
		t->imask = 15;
	}
	uint32_t s = (uint32_t)h & t->imask;
	for (;;) {
		uint32_t i = t->index[s];
		if (!i)
			break;
		struct mm_tally_ent *e = &t->ents[i - 1];
		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0) {
			e->count += cnt;
			return;
		}
		s = (s + 1) & t->imask;
	}
	if (!exact_insert(t, s, h, key, len, cnt)) {
		go_approx(t);
		approx_add(t, h, key, len, cnt);
	}
}

/* ---- output ---- */

static int row_cmp(const struct mm_tally_row *x, const struct mm_tally_row *y)
{
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int row_qsort(const void *a, const void *b)
{
	return row_cmp(a, b);
}

/* Keeps rows[0..k) as the best k seen (a worst-first heap), then sorts. */
static void keep_best(struct mm_tally_row *rows, size_t k, size_t *n, const struct mm_tally_row *r)
{
	if (*n < k) {
		size_t i = (*n)++;
		rows[i] = *r;
		while (i) { /* heap with the worst row at the top */
			size_t p = (i - 1) / 2;
			if (row_cmp(&rows[p], &rows[i]) >= 0)
				break;
			struct mm_tally_row tmp = rows[p];
			rows[p] = rows[i];
			rows[i] = tmp;
			i = p;
		}
		return;
	}
	if (row_cmp(r, &rows[0]) >= 0)
		return;
	rows[0] = *r;
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, rr = l + 1, m = i;
		if (l < k && row_cmp(&rows[l], &rows[m]) > 0)
			m = l;
		if (rr < k && row_cmp(&rows[rr], &rows[m]) > 0)
			m = rr;
		if (m == i)
			break;
		struct mm_tally_row tmp = rows[m];
		rows[m] = rows[i];
		rows[i] = tmp;
		i = m;
	}
}

size_t mm_tally_top(const struct mm_tally *t, struct mm_tally_row *rows, size_t k)
{
	size_t n = 0;
	if (!k)
		return 0;
	if (t->slots) {
		for (uint32_t i = 0; i < t->nslots; i++) {
			const struct mm_tally_slot *s = &t->slots[i];
			struct mm_tally_row r = {s->key, s->len, s->count, s->err};
			keep_best(rows, k, &n, &r);
		}
	} else {
		for (size_t i = 0; i < t->n; i++) {
			const struct mm_tally_ent *e = &t->ents[i];
			struct mm_tally_row r = {e->key, e->len, e->count, 0};
			keep_best(rows, k, &n, &r);
		}
	}
	qsort(rows, n, sizeof *rows, row_qsort);
	return n;
}

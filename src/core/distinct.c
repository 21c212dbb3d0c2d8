/*
 * distinct: exact hash set, then HyperLogLog (see distinct.h).
 */
#include "core/distinct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define HLL_P 14
#define HLL_M (1u << HLL_P)

void mm_distinct_init(struct mm_distinct *d, size_t cap)
{
	memset(d, 0, sizeof *d);
	d->cap = cap < 16 ? 16 : cap;
}

/* Sets of 2 MiB and more come from huge pages (see xcalloc_huge). */
#define HUGE_MIN ((size_t)2 << 20)

static uint64_t *set_alloc(size_t slots)
{
	size_t bytes = slots * sizeof(uint64_t);
	return bytes >= HUGE_MIN ? xcalloc_huge(bytes) : xcalloc(slots, sizeof(uint64_t));
}

static void set_free(uint64_t *set, size_t slots)
{
	size_t bytes = slots * sizeof(uint64_t);
	if (bytes >= HUGE_MIN)
		xfree_huge(set, bytes);
	else
		free(set);
}

void mm_distinct_free(struct mm_distinct *d)
{
	set_free(d->set, d->cap_slots);
	free(d->hll);
	memset(d, 0, sizeof *d);
}

static void hll_add(uint8_t *hll, uint64_t h)
{
	uint32_t idx = (uint32_t)(h >> (64 - HLL_P));
	uint64_t rest = (h << HLL_P) | (1ull << (HLL_P - 1)); /* guard bit */
	uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
	if (rank > hll[idx])
		hll[idx] = rank;
}

static bool set_insert(uint64_t *set, size_t slots, uint64_t h)
{
	size_t i = (size_t)(h ^ (h >> 29)) & (slots - 1);
	while (set[i]) {
		if (set[i] == h)
			return false;
		i = (i + 1) & (slots - 1);
	}
	set[i] = h;
	return true;
}

bool mm_distinct_has(const struct mm_distinct *d, uint64_t h)
{
	if (d->hll || !d->set)
		return false;
	h = h ? h : 1;
	size_t i = (size_t)(h ^ (h >> 29)) & (d->cap_slots - 1);
	while (d->set[i]) {
		if (d->set[i] == h)
			return true;
		i = (i + 1) & (d->cap_slots - 1);
	}
	return false;
}

void mm_distinct_prefetch(const struct mm_distinct *d, uint64_t h)
{
	if (d->set) {
		h = h ? h : 1;
		__builtin_prefetch(&d->set[(size_t)(h ^ (h >> 29)) & (d->cap_slots - 1)]);
	}
}

bool mm_distinct_add(struct mm_distinct *d, uint64_t h)
{
	h = h ? h : 1;
	if (d->hll) {
		hll_add(d->hll, h);
		return false;
	}
	if (!d->set) {
		d->cap_slots = 64;
		d->set = set_alloc(d->cap_slots);
	}
	if (!set_insert(d->set, d->cap_slots, h))
		return false;
	d->n++;
	if (d->n > d->cap) {
		d->hll = xcalloc(HLL_M, 1);
		for (size_t i = 0; i < d->cap_slots; i++)
			if (d->set[i])
				hll_add(d->hll, d->set[i]);
		set_free(d->set, d->cap_slots);
		d->set = NULL;
		return true;
	}
	if (d->n * 2 > d->cap_slots) {
		size_t ns = d->cap_slots * 2;
		uint64_t *nset = set_alloc(ns);
		for (size_t i = 0; i < d->cap_slots; i++)
			if (d->set[i])
				set_insert(nset, ns, d->set[i]);
		set_free(d->set, d->cap_slots);
		d->set = nset;
		d->cap_slots = ns;
	}
	return true;
}

uint64_t mm_distinct_count(const struct mm_distinct *d)
{
	if (!d->hll)
		return d->n;
	double sum = 0;
	unsigned zeros = 0;
	for (uint32_t i = 0; i < HLL_M; i++) {
		sum += ldexp(1.0, -d->hll[i]);
		zeros += d->hll[i] == 0;
	}
	double m = HLL_M;
	double est = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
	if (est <= 2.5 * m && zeros)
		est = m * log(m / zeros); /* linear counting for small ranges */
	return (uint64_t)(est + 0.5);
}

bool mm_distinct_exact(const struct mm_distinct *d)
{
	return d->hll == NULL;
}

/*
 * histo: log-linear buckets (see histo.h).
 */
#include "core/histo.h"

static unsigned bucket_of(uint64_t v)
{
	if (v < 16)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 4 */
	if (e > 35)
		return MM_HISTO_BUCKETS - 1;
	return 16 + (e - 4) * 16 + (unsigned)((v >> (e - 4)) & 15);
}

static uint64_t bucket_lo(unsigned b)
{
	if (b < 16)
		return b;
	unsigned e = (b - 16) / 16 + 4, sub = (b - 16) % 16;
	return ((uint64_t)(16 + sub)) << (e - 4);
}

void mm_histo_add(struct mm_histo *h, uint64_t v)
{
	h->b[bucket_of(v)]++;
	h->n++;
}

uint64_t mm_histo_quantile(const struct mm_histo *h, double q)
{
	if (!h->n)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < MM_HISTO_BUCKETS; b++) {
		seen += h->b[b];
		if (seen >= rank) {
			if (b < 16)
				return b;
			uint64_t lo = bucket_lo(b), hi = bucket_lo(b + 1);
			return lo + (hi - lo) / 2;
		}
	}
	return bucket_lo(MM_HISTO_BUCKETS - 1);
}

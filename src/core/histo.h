/*
 * histo: a fixed-size log-linear histogram for percentiles of
 * non-negative values (delays in ms), in 528 uint32 buckets (2 KiB).
 *
 * Values below 16 have a bucket each; above, every power of two is split
 * into 16 buckets, so a reported percentile is within 1/16 (6.25%) of
 * the true value, up to 2^36. Nothing is stored per value.
 */
#ifndef MAILMON_CORE_HISTO_H
#define MAILMON_CORE_HISTO_H

#include <stdint.h>

#define MM_HISTO_BUCKETS 528

struct mm_histo {
	uint64_t n;
	uint32_t b[MM_HISTO_BUCKETS];
};

void mm_histo_add(struct mm_histo *h, uint64_t v);
/* The q-quantile (0 < q <= 1): the midpoint of the bucket holding it;
 * 0 when empty. */
uint64_t mm_histo_quantile(const struct mm_histo *h, double q);

#endif

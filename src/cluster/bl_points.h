/*
 * bl_points: what the baseline reads, turned into numbers it can use.
 *
 *   mm_bl_points_from(result, per_min, &pts, &n)
 *       the series of one history answer (history/hist_store.h) summed
 *       bucket by bucket into one metric: gauges by their bucket
 *       average, counters by their rate (per_min: times 60). A bucket
 *       without a rate (the first of an answer) adds nothing; a bucket
 *       no series has a value for is left out. Sorted by time.
 *   mm_bl_ring_push / mm_bl_ring_rate
 *       the current rate of a summed counter over a window (the live
 *       value compared with a counter's baseline): a ring of samples, at
 *       most MM_BL_RING of them spread over the window.
 *
 * Pure computation. The caller frees pts; the ring is plain data.
 */
#ifndef MAILMON_CLUSTER_BL_POINTS_H
#define MAILMON_CLUSTER_BL_POINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/baseline.h"
#include "history/hist_store.h"

#define MM_BL_RING 256

void mm_bl_points_from(const struct mm_hist_result *r, bool per_min,
		       struct mm_baseline_point **pts, size_t *n);

struct mm_bl_ring {
	int64_t t_ms[MM_BL_RING];
	double v[MM_BL_RING];
	size_t head, n; /* next slot, samples held */
};

/* Keeps v (the counter sum at t_ms) when the newest sample is at least
 * window_ms / (MM_BL_RING / 2) older, so the ring always spans the
 * window. A value below the newest (a counter reset, a series gone)
 * empties the ring first. */
void mm_bl_ring_push(struct mm_bl_ring *r, int64_t t_ms, double v, int64_t window_ms);
/* Change per minute between the oldest sample inside [now - window, now]
 * and the newest; false while those span less than half the window. */
bool mm_bl_ring_rate(const struct mm_bl_ring *r, int64_t now_ms, int64_t window_ms,
		     double *per_min);

#endif

/*
 * baseline: the expected range of a metric for this hour of the week,
 * from its history (the seed: "record the size of the queues over a
 * two-week period").
 *
 *   mm_baseline_compute(pts, n, now_s, utc_offset_s, out)
 *   mm_baseline_departure(b, value, slack)
 *   mm_baseline_beyond(b, value, slack)
 *
 * pts: the metric's history (any order, any step), for example 1-minute
 * points of the last 14 days from the history store. The slot is chosen
 * by how much history there is (the documented fallback):
 *
 *   >= 13 days   hour of the week: points from the same weekday and hour
 *                (local time: utc_offset_s) of the previous weeks
 *   >= 2 days    hour of the day: points from the same hour of every day
 *   >= 6 hours   all points
 *   less         no baseline (kind NONE): nothing can depart from it
 *
 * The range is the 5th to 95th percentile of the slot's points, by
 * nearest rank (the smallest value with at least p% of the points at or
 * below it); at least MM_BASELINE_MIN_POINTS points, fewer: the next
 * fallback. A value departs when
 * it is above high or below low by more than half the range's width plus
 * slack (an absolute margin, so a flat baseline of 0 does not fire on 1).
 *
 * Pure computation on caller-owned arrays; pts is not modified.
 */
#ifndef MAILMON_CLUSTER_BASELINE_H
#define MAILMON_CLUSTER_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#define MM_BASELINE_MIN_POINTS 6

enum mm_baseline_kind {
	MM_BL_NONE,
	MM_BL_HOUR_OF_WEEK,
	MM_BL_HOUR_OF_DAY,
	MM_BL_ALL,
};

struct mm_baseline_point {
	int64_t t_s;
	double v;
};

struct mm_baseline {
	enum mm_baseline_kind kind;
	double low, high, median;
	size_t points;	  /* in the slot */
	double history_days;
};

const char *mm_baseline_kind_name(enum mm_baseline_kind k);
void mm_baseline_compute(const struct mm_baseline_point *pts, size_t n, int64_t now_s,
			 int64_t utc_offset_s, struct mm_baseline *out);
/* +1 above, -1 below, 0 within (or no baseline). */
int mm_baseline_departure(const struct mm_baseline *b, double value, double slack);
/* How far value lies beyond the departure bound (high or low widened by
 * half the width plus slack): > 0 above, < 0 below, 0 within (or no
 * baseline). The alarm's value. */
double mm_baseline_beyond(const struct mm_baseline *b, double value, double slack);

#endif

/* baseline: see baseline.h. */
#include "cluster/baseline.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static const char *const kind_names[] = {"none", "hour-of-week", "hour-of-day", "all"};

const char *mm_baseline_kind_name(enum mm_baseline_kind k)
{
	return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[n], n > 0: the smallest value
 * with at least p percent of the values at or below it, v[ceil(p*n/100)]
 * counting from 1. */
static double pct(const double *v, size_t n, size_t p)
{
	size_t k = (p * n + 99) / 100; /* integer ceil: no rounding surprise */
	if (k > 0)
		k--;
	return v[k < n ? k : n - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Hour of the week (0..167, Thursday 1970-01-01 00:00 is 0: any fixed
 * origin does) or hour of the day, in local time. */
static int64_t slot_of(int64_t t_s, int64_t off, int64_t period_h)
{
	int64_t h = floor_div(t_s + off, 3600);
	int64_t m = h % period_h;
	return m < 0 ? m + period_h : m;
}

void mm_baseline_compute(const struct mm_baseline_point *pts, size_t n, int64_t now_s,
			 int64_t utc_offset_s, struct mm_baseline *out)
{
	memset(out, 0, sizeof *out);
	int64_t oldest = now_s;
	for (size_t i = 0; i < n; i++)
		if (pts[i].t_s < oldest && pts[i].t_s <= now_s)
			oldest = pts[i].t_s;
	out->history_days = (double)(now_s - oldest) / 86400.0;
	double *v = xmalloc((n ? n : 1) * sizeof *v);
	static const struct {
		enum mm_baseline_kind kind;
		double min_days;
		int64_t period_h; /* 0: every point */
	} tiers[] = {
		{MM_BL_HOUR_OF_WEEK, 13.0, 168},
		{MM_BL_HOUR_OF_DAY, 2.0, 24},
		{MM_BL_ALL, 0.25, 0},
	};
	for (size_t t = 0; t < sizeof tiers / sizeof tiers[0]; t++) {
		if (out->history_days < tiers[t].min_days)
			continue;
		int64_t want = tiers[t].period_h ? slot_of(now_s, utc_offset_s, tiers[t].period_h) : 0;
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (pts[i].t_s > now_s || now_s - pts[i].t_s > 14 * 86400)
				continue;
			if (tiers[t].period_h &&
			    slot_of(pts[i].t_s, utc_offset_s, tiers[t].period_h) != want)
				continue;
			v[k++] = pts[i].v;
		}
		if (k < MM_BASELINE_MIN_POINTS)
			continue;
		qsort(v, k, sizeof *v, cmp_double);
		out->kind = tiers[t].kind;
		out->low = pct(v, k, 5);
		out->high = pct(v, k, 95);
		out->median = pct(v, k, 50);
		out->points = k;
		break;
	}
	free(v);
}

double mm_baseline_beyond(const struct mm_baseline *b, double value, double slack)
{
	if (b->kind == MM_BL_NONE)
		return 0;
	double margin = (b->high - b->low) / 2 + slack;
	if (value > b->high + margin)
		return value - (b->high + margin);
	if (value < b->low - margin)
		return value - (b->low - margin);
	return 0;
}

int mm_baseline_departure(const struct mm_baseline *b, double value, double slack)
{
	double d = mm_baseline_beyond(b, value, slack);
	return (d > 0) - (d < 0);
}

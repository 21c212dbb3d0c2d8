/* bl_points: see bl_points.h. */
#include "cluster/bl_points.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static int cmp_t(const void *a, const void *b)
{
	int64_t x = ((const struct mm_baseline_point *)a)->t_s;
	int64_t y = ((const struct mm_baseline_point *)b)->t_s;
	return (x > y) - (x < y);
}

void mm_bl_points_from(const struct mm_hist_result *r, bool per_min,
		       struct mm_baseline_point **pts, size_t *n)
{
	size_t cap = 0, k = 0;
	for (size_t s = 0; s < r->nseries; s++)
		cap += r->series[s].npts;
	struct mm_baseline_point *p = xmalloc((cap ? cap : 1) * sizeof *p);
	for (size_t s = 0; s < r->nseries; s++) {
		const struct mm_hist_series *se = &r->series[s];
		for (size_t i = 0; i < se->npts; i++) {
			double v = se->counter ? se->pts[i].rate * (per_min ? 60.0 : 1.0)
					       : se->pts[i].avg;
			if (isfinite(v))
				p[k++] = (struct mm_baseline_point){se->pts[i].t, v};
		}
	}
	qsort(p, k, sizeof *p, cmp_t);
	/* one point per bucket: the sum over the series */
	size_t w = 0;
	for (size_t i = 0; i < k; i++) {
		if (w > 0 && p[w - 1].t_s == p[i].t_s)
			p[w - 1].v += p[i].v;
		else
			p[w++] = p[i];
	}
	*pts = p;
	*n = w;
}

static size_t newest(const struct mm_bl_ring *r)
{
	return (r->head + MM_BL_RING - 1) % MM_BL_RING;
}

void mm_bl_ring_push(struct mm_bl_ring *r, int64_t t_ms, double v, int64_t window_ms)
{
	if (r->n > 0) {
		size_t i = newest(r);
		if (v < r->v[i])
			r->n = 0; /* reset: start over */
		else if (t_ms - r->t_ms[i] < window_ms / (MM_BL_RING / 2))
			return;
	}
	r->t_ms[r->head] = t_ms;
	r->v[r->head] = v;
	r->head = (r->head + 1) % MM_BL_RING;
	if (r->n < MM_BL_RING)
		r->n++;
}

bool mm_bl_ring_rate(const struct mm_bl_ring *r, int64_t now_ms, int64_t window_ms,
		     double *per_min)
{
	if (r->n < 2)
		return false;
	size_t last = newest(r), first = last;
	for (size_t k = 1; k < r->n; k++) {
		size_t i = (last + MM_BL_RING - k) % MM_BL_RING;
		if (r->t_ms[i] < now_ms - window_ms)
			break;
		first = i;
	}
	int64_t dt = r->t_ms[last] - r->t_ms[first];
	if (dt <= 0 || dt < window_ms / 2)
		return false;
	*per_min = (r->v[last] - r->v[first]) * 60000.0 / (double)dt;
	return true;
}

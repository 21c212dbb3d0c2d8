/*
 * queue_trend: see queue_trend.h.
 */
#include "mta/queue_trend.h"

#include <math.h>
#include <string.h>

void mm_qtrend_add(struct mm_qtrend *tr, int64_t t_s, const uint64_t sizes[MM_Q_N])
{
	tr->s[tr->head].t_s = t_s;
	memcpy(tr->s[tr->head].size, sizes, sizeof tr->s[tr->head].size);
	tr->head = (tr->head + 1) % MM_QTREND_SAMPLES;
	if (tr->n < MM_QTREND_SAMPLES)
		tr->n++;
}

static uint64_t sum(const uint64_t size[MM_Q_N], unsigned queues)
{
	uint64_t v = 0;
	for (unsigned q = 0; q < MM_Q_N; q++)
		if (queues & MM_QMASK(q))
			v += size[q];
	return v;
}

void mm_qtrend_get(const struct mm_qtrend *tr, unsigned queues, int64_t window_s,
		   struct mm_qtrend_out *out)
{
	memset(out, 0, sizeof *out);
	if (tr->n == 0)
		return;
	unsigned newest = (tr->head + MM_QTREND_SAMPLES - 1) % MM_QTREND_SAMPLES;
	out->size = sum(tr->s[newest].size, queues);
	/* The oldest sample still inside the window. */
	unsigned oldest = newest;
	for (unsigned k = 1; k < tr->n; k++) {
		unsigned i = (newest + MM_QTREND_SAMPLES - k) % MM_QTREND_SAMPLES;
		if (tr->s[newest].t_s - tr->s[i].t_s > window_s)
			break;
		oldest = i;
	}
	int64_t span = tr->s[newest].t_s - tr->s[oldest].t_s;
	if (oldest == newest || span <= 0)
		return;
	out->known = true;
	out->span_s = span;
	double delta = (double)out->size - (double)sum(tr->s[oldest].size, queues);
	out->growth_per_min = delta * 60.0 / (double)span;
	if (out->growth_per_min < 0 && out->size > 0) {
		out->draining = true;
		out->drain_eta_s = (int64_t)ceil((double)out->size / (-out->growth_per_min / 60.0));
	}
}

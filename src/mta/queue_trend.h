/*
 * queue_trend: growth rate and drain-time estimate of queue sizes, from a
 * ring of timed samples.
 *
 *   mm_qtrend_add(tr, t_s, sizes)      one sample per scan (message counts
 *                                      per queue, enum mm_qname order)
 *   mm_qtrend_get(tr, queues, window_s, &out)
 *       for the sum of the queues in mask queues: the growth rate in
 *       messages per minute over the last window_s (oldest sample inside
 *       the window against the newest), and the drain estimate
 *       size / net drain rate when the size is falling; "not draining"
 *       (draining = false) when it is flat or growing.
 *
 * The ring holds MM_QTREND_SAMPLES samples; older ones are overwritten.
 * Ownership: a plain value, no allocation.
 */
#ifndef MAILMON_MTA_QUEUE_TREND_H
#define MAILMON_MTA_QUEUE_TREND_H

#include <stdbool.h>
#include <stdint.h>

#include "mta/mta.h"

#define MM_QTREND_SAMPLES 512

struct mm_qtrend {
	struct {
		int64_t t_s;
		uint64_t size[MM_Q_N];
	} s[MM_QTREND_SAMPLES];
	unsigned head, n;
};

struct mm_qtrend_out {
	bool known;	      /* at least two samples in the window */
	uint64_t size;	      /* newest */
	double growth_per_min; /* messages per minute, negative when draining */
	int64_t span_s;	      /* time between the two samples used */
	bool draining;
	int64_t drain_eta_s;  /* when draining: size / drain rate */
};

void mm_qtrend_add(struct mm_qtrend *tr, int64_t t_s, const uint64_t sizes[MM_Q_N]);
void mm_qtrend_get(const struct mm_qtrend *tr, unsigned queues, int64_t window_s,
		   struct mm_qtrend_out *out);

#endif

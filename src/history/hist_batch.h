/*
 * hist_batch: one sampling of the whole registry, as history samples.
 *
 * mm_hist_batch_fill() runs on the loop thread right after
 * mm_registry_collect(): it copies every series of every family into
 * samples with their own key strings, so the batch can then be handed to
 * the history worker and outlive the registry's snapshot. Counters and
 * gauges give one sample per series; a histogram gives NAME_count and
 * NAME_sum (counters); a state set one gauge per state (0 or 1).
 *
 * Key: `name{label="value",...}` in the family's label order, values
 * escaped as in Prometheus text (\\ \" \n); a family without labels is
 * just its name. metrics/selector.h parses it back.
 *
 * Ownership: the batch owns its samples' strings; mm_hist_batch_free
 * releases them (and leaves an empty batch that can be filled again).
 */
#ifndef MAILMON_HISTORY_HIST_BATCH_H
#define MAILMON_HISTORY_HIST_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "history/hist_store.h"
#include "metrics/registry.h"

struct mm_hist_batch {
	int64_t t; /* unix seconds of the sampling */
	struct mm_hist_sample *s;
	size_t n, cap;
};

/* Appends every series of r, taken at unix time t. */
void mm_hist_batch_fill(struct mm_hist_batch *b, const struct mm_registry *r, int64_t t);
/* Appends one sample (copies key and name). */
void mm_hist_batch_add(struct mm_hist_batch *b, const char *key, const char *name, double v,
		       bool counter);
void mm_hist_batch_free(struct mm_hist_batch *b);

#endif

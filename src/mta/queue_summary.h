/*
 * queue_summary: what the daemon keeps about the queue, computed from a
 * snapshot: per queue the messages, recipients, bytes, oldest arrival and
 * delay-reason class mix, and the same per destination domain (top N by
 * messages, the rest summed as "other").
 *
 *   mm_qsummary_build(snap, top, sum)   top = 0 keeps every destination
 *   mm_qsummary_json(sum, now_s)        the /api/queue "queues" object
 *
 * A message counts once per destination it has pending recipients for;
 * recipients and the reason mix count per recipient. Destinations are
 * domains as qshape writes them (mm_qshape_domain).
 *
 * Ownership: the summary owns its arrays (mm_qsummary_free); it keeps no
 * pointer into the snapshot, so it outlives the scan that made it.
 */
#ifndef MAILMON_MTA_QUEUE_SUMMARY_H
#define MAILMON_MTA_QUEUE_SUMMARY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mta/mta.h"

struct mm_qsum_dest {
	char *name;
	uint64_t msgs, rcpts, bytes;
	int64_t oldest; /* arrival, INT64_MAX when empty */
	uint64_t rclass[MM_RC_N];
	uint64_t last_msg; /* build-time: message sequence last counted */
};

struct mm_qsum_queue {
	uint64_t msgs, rcpts, bytes;
	int64_t oldest;
	uint64_t rclass[MM_RC_N];      /* per pending recipient */
	uint64_t rclass_msgs[MM_RC_N]; /* messages with a recipient of the class */
	struct mm_qsum_dest *dests; /* sorted by msgs, then name */
	size_t ndests;
	struct mm_qsum_dest other; /* destinations beyond top, summed */
	size_t other_dests;
};

struct mm_qsummary {
	int64_t taken_s;
	struct mm_qsum_queue q[MM_Q_N];
	struct mm_qscan_stats stats;
};

void mm_qsummary_build(const struct mm_qsnap *snap, size_t top, struct mm_qsummary *sum);
json_t *mm_qsummary_json(const struct mm_qsummary *sum, int64_t now_s);
void mm_qsummary_free(struct mm_qsummary *sum);
/* JSON object {"refused": n, ...} of the non-zero classes. */
json_t *mm_rclass_mix_json(const uint64_t mix[MM_RC_N]);

#endif

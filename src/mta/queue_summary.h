/*
 * queue_summary: what the daemon keeps about the queue, computed from a
 * snapshot: per queue the messages, recipients, bytes, oldest arrival and
 * delay-reason class mix, and the same per destination domain (top N by
 * messages, the rest summed as "other"). Per destination the suspended
 * recipients are also split by the class of the cause Postfix quoted
 * (so a dead destination's class survives its suspension).
 *
 *   mm_qsummary_build(snap, top, sum)   top = 0 keeps every destination
 *   mm_qsummary_json(sum, now_s)        the /api/queue "queues" object
 *
 * Each top destination also gets its messages by qshape age bucket and up
 * to MM_QSUM_SAMPLES example messages (the oldest, with a delay reason).
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

/* qshape's default age columns, by upper bound in minutes: under 5,
 * 5-10, ..., 640-1280, and 1280 or more (upper bound 0). */
#define MM_QSUM_AGES 10
extern const int mm_qsum_age_upper[MM_QSUM_AGES];
/* Messages kept as examples per destination (the dashboard's "why"). */
#define MM_QSUM_SAMPLES 5

struct mm_qsum_msg {
	char id[32];
	int64_t arrival;
	uint64_t size;
	char reason[200]; /* the delay reason of its first recipient there */
};

struct mm_qsum_dest {
	char *name;
	uint64_t ages[MM_QSUM_AGES]; /* messages by age bucket (qshape) */
	struct mm_qsum_msg *samples; /* the oldest few, top destinations only */
	size_t nsamples;
	uint64_t msgs, rcpts, bytes;
	int64_t oldest; /* arrival, INT64_MAX when empty */
	uint64_t rclass[MM_RC_N];
	/* The rclass[MM_RC_SUSPENDED] recipients by the class of the cause
	 * quoted after "delivery temporarily suspended" (none: no cause). */
	uint64_t suspended_cause[MM_RC_N];
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

/* One instance's share of the queues (the messages whose mm_qmsg.instance
 * is its index). The name is not set by mm_qsummary_build: the daemon
 * copies the backend's instance names (mm_mta_instance_name). */
#define MM_QSUM_INST_NAME_MAX 64
struct mm_qsum_inst {
	char name[MM_QSUM_INST_NAME_MAX];
	uint64_t msgs[MM_Q_N];
	int64_t oldest[MM_Q_N]; /* arrival, INT64_MAX when empty */
};

struct mm_qsummary {
	int64_t taken_s;
	struct mm_qsum_queue q[MM_Q_N];
	struct mm_qscan_stats stats;
	/* Per instance (index = mm_qmsg.instance); ninst is 0 after build,
	 * set with the names by whoever knows them. */
	struct mm_qsum_inst inst[MM_MTA_MAX_INSTANCES];
	size_t ninst;
};

void mm_qsummary_build(const struct mm_qsnap *snap, size_t top, struct mm_qsummary *sum);
json_t *mm_qsummary_json(const struct mm_qsummary *sum, int64_t now_s);
void mm_qsummary_free(struct mm_qsummary *sum);
/* JSON object {"refused": n, ...} of the non-zero classes. */
json_t *mm_rclass_mix_json(const uint64_t mix[MM_RC_N]);

#endif

/*
 * verdict: is this mail node healthy, degraded, stalled or down, and why.
 *
 * The outage of seeds/001: one node of a cluster kept accepting mail and
 * stopped delivering it. This engine tells that node (stalled) apart from
 * one whose destinations fail (degraded: attempts happen and fail) and
 * from one that is off (down). It knows nothing of the registry or the
 * daemon: it is fed samples (struct mm_vsample, see vsample.h for how
 * the daemon takes them from the metric registry) and keeps a ring of
 * them covering the window.
 *
 *   mm_verdict_init(v, conf)        empty engine
 *   mm_verdict_push(v, sample)      add the newest sample (copied)
 *   mm_verdict_eval(v, out)         the verdict at the newest sample
 *
 * Rules, first match wins (all over [now - window, now]):
 *   down     the MTA master has no process, or smtpd fails its probe
 *   stalled  accepting (inflow > 0), or incoming+active waiting longer
 *            than the window, while there was no delivery attempt of any
 *            outcome, incoming+active did not shrink, and its oldest
 *            message aged half a window (a lone message that arrived just
 *            before a sample is not a stall); or accepting while every
 *            deferral in the window was "mail transport unavailable" (no
 *            attempt made) and there was no real attempt. The visible
 *            cause is named last: qmgr stopped (state T), qmgr missing, a
 *            transport with no process, or qmgr not logging.
 *   degraded attempts happen and fail (deferred+bounced share of the
 *            attempts at or above conf.fail_ratio), or a destination is
 *            flooded (flood.h), or mail is deferred because a transport
 *            has no process, or a disk partition is locked; the failing
 *            destinations, transport or partition are named
 *   healthy  otherwise (a quiet night with nothing to do is healthy)
 * "mail transport unavailable" deferrals are not delivery attempts: they
 * count neither as attempts nor as failures.
 * A locked partition (mailmon_disk_locked) is named in every state, and
 * asks the HAProxy agent to drain the node (agent.h).
 * A counter that goes down (mailmond or the MTA restarted) counts from
 * zero. With less than half a window of samples the engine stays at its
 * previous state (or healthy) and says it is warming up: a restart of
 * mailmond never reads as a stall.
 *
 * Ownership: the engine is a plain struct with fixed arrays, no heap.
 */
#ifndef MAILMON_CLUSTER_VERDICT_H
#define MAILMON_CLUSTER_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/flood.h"
#include "cluster/vsample.h"

enum mm_vstate { MM_V_HEALTHY, MM_V_DEGRADED, MM_V_STALLED, MM_V_DOWN, MM_V_N };

const char *mm_vstate_name(enum mm_vstate s);

struct mm_verdict_conf {
	int64_t window_ms;	/* stall window */
	double fail_ratio;	/* failed share of attempts that makes degraded */
	uint64_t min_attempts;	/* fewer attempts in the window never degrade */
	struct mm_flood_conf flood;
};

#define MM_VERDICT_RING 256
#define MM_VERDICT_REASONS 8
#define MM_VERDICT_REASON_MAX 200

struct mm_verdict {
	enum mm_vstate state;
	int64_t since_ms; /* wall ms of the sample where state began */
	size_t nreasons;
	char reasons[MM_VERDICT_REASONS][MM_VERDICT_REASON_MAX];
	bool warming_up;
	size_t cause; /* the reason the agent gives (down, stalled, drain) */
	bool drain;   /* not stalled or down, but drain the node: a partition
			 is locked */
	/* Figures behind it, over the window. */
	double inflow, attempts, failed;
	double unavailable; /* deferrals "mail transport unavailable" */
	double backlog; /* incoming + active + deferred now */
	struct mm_floods floods;
};

struct mm_verdict_engine {
	struct mm_verdict_conf conf;
	struct mm_vsample ring[MM_VERDICT_RING];
	size_t head, n; /* ring[head] is the oldest */
	enum mm_vstate state;
	int64_t since_ms;
	bool have_state;
};

void mm_verdict_init(struct mm_verdict_engine *v, const struct mm_verdict_conf *conf);
/* Samples must come in time order; an older one replaces nothing and is
 * dropped. When the ring is full the oldest is dropped. */
void mm_verdict_push(struct mm_verdict_engine *v, const struct mm_vsample *s);
/* The verdict at the newest sample; also moves the engine's state and
 * since. With no sample: healthy, warming up. */
void mm_verdict_eval(struct mm_verdict_engine *v, struct mm_verdict *out);
/* "stalled (reason; reason)" into buf. */
void mm_verdict_line(const struct mm_verdict *out, char *buf, size_t cap);

#endif

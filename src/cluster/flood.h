/*
 * flood: the flooded destination of seeds/001 ("a flood of emails
 * destined to an external mail server that was not accepting
 * connections, which in turn backed up our mail queues").
 *
 *   mm_flood_detect(conf, then, now, out)
 *
 * A destination is flooded when it holds at least conf.min_messages
 * queued messages and either its share of the queue (incoming + active
 * + deferred) is at least conf.share, or its backlog grew fastest of
 * all destinations between the two samples (and grew); and its pending
 * recipients with a known delay reason have one dominant class (at least
 * conf.dominant of them): refused, timeout, 4xx, tls, dns or suspended.
 * "suspended" (Postfix marked the destination dead and deferred the
 * rest) counts as the class of the cause it quotes ("delivery
 * temporarily suspended: connect to ...: Connection refused" is refused;
 * the queue scanner splits them, mm_vdest.suspended_cause); with no
 * cause quoted it is folded into the class of the rest when one
 * dominates, and the class is "suspended" only when nothing else is known.
 * Messages being delivered (reason none) do not vote; a backlog with no
 * known reason yet is not flagged by its reasons.
 *
 * Unanswered (a tarpit found before its first failure): a destination
 * that passes the size and share tests but has no dominant class is
 * flagged with class timeout and unanswered set when, with
 * conf.unanswered_after > 0 and `ago` a sample at least that much older
 * than now: it had mail in the active queue in both samples, its oldest
 * active message is at least unanswered_after old (the age counts from
 * the message's arrival, not from its entry into active), and the log's
 * delivery tally (logs/progstat.h) shows no delivery to it after ago:
 * its last delivery number (mm_vdest.last_delivery_no) is at most the
 * deliveries counted at ago (tally_no), or, with no row in the tally,
 * so is the last delivery of any domain that left it (tally_evicted_no;
 * otherwise it is unknown, and not flagged). A busy destination that
 * delivers, or a slow one that delivered anything in that time, is
 * never flagged; neither is one with no tally (no log pipeline).
 *
 * Output: up to MM_FLOOD_MAX destinations, largest first, each with its
 * count, share, growth per minute and class.
 */
#ifndef MAILMON_CLUSTER_FLOOD_H
#define MAILMON_CLUSTER_FLOOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mm_vsample;

#define MM_FLOOD_MAX 4

struct mm_flood_conf {
	uint64_t min_messages;
	double share;	 /* 0..1 */
	double dominant; /* 0..1 */
	int64_t unanswered_after_ms; /* 0: the unanswered rule is off */
};

struct mm_flood {
	char dest[128];
	double msgs, share, growth_per_min;
	const char *rclass; /* static name: "refused", "timeout", ... */
	bool unanswered;    /* flagged by the unanswered rule (rclass timeout) */
	double active_msgs, active_oldest_s, quiet_s; /* its figures then */
};

struct mm_floods {
	size_t n;
	struct mm_flood v[MM_FLOOD_MAX];
};

/* then may be NULL (no growth known); ago may be NULL (no sample
 * unanswered_after old yet: the unanswered rule does not apply). */
void mm_flood_detect(const struct mm_flood_conf *conf, const struct mm_vsample *then,
		     const struct mm_vsample *ago, const struct mm_vsample *now,
		     struct mm_floods *out);

#endif

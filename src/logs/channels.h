/*
 * channels: RFC 2789 (mtaGroupTable) / imsimta-counters style counters per
 * channel group, kept in a counters table (counters_file.h).
 *
 * A group is a Postfix transport ("smtp", "lmtp", "relay", "postfix-out/smtp"
 * as the parser names it) or a Messaging Server channel; the inbound
 * services (smtpd, postscreen, pickup) are groups of their own. The
 * counters (enum mm_cg_field) mean:
 *
 *   Received     messages enqueued to the channel: the first delivery event
 *                of a message on this channel (Postfix logs no per-transport
 *                enqueue, so the first attempt stands for it)
 *   Stored       gauge: Received minus messages removed from the queue that
 *                went through the channel; negative after -clear while
 *                messages were queued (the seed's negative minimums)
 *   Delivered    messages with a first successful delivery on the channel;
 *                (first) those with no earlier deferral on it
 *   Submitted    messages enqueued by the channel: smtpd "client=", pickup
 *   Attempted    temporary failures (status=deferred events)
 *   Rejected     rejected enqueue attempts (NOQUEUE/QID reject lines)
 *   Failed       messages with a permanent failure on the channel
 *                (bounced, expired)
 *   Queue time   average delay= of Delivered messages; first-attempt ones
 *   associations inbound: connect/disconnect (current, total), rejected at
 *                connect (postscreen rejects, "CONNECT" stage rejects);
 *                outbound: delivery attempts (total) and connect failures;
 *                the current outbound gauge stays 0 for Postfix, whose smtp
 *                client does not log connects
 *   last activity wall ms of the last inbound / outbound event; last
 *                rejection reason, last connect-failure reason
 *
 * Ids: channels gives each name a stable private id (the lifecycle stores
 * these) and maps it to a group slot of the current table, so the table
 * can be swapped (mm_channels_rebind after `counters -create`).
 *
 * Ownership: struct mm_channels owns its name index, not the table.
 */
#ifndef MAILMON_LOGS_CHANNELS_H
#define MAILMON_LOGS_CHANNELS_H

#include <stddef.h>
#include <stdint.h>

#include "logs/counters_file.h"
#include "logs/lifecycle.h"
#include "parsers/logevent.h"

#define MM_CHAN_MAX_IDS 4096 /* distinct names remembered; beyond: "other" */

struct mm_channels;

struct mm_channels *mm_channels_new(struct mm_cfile *cf);
void mm_channels_free(struct mm_channels *ch);
/* Points the channels at another table (after the file was recreated). */
void mm_channels_rebind(struct mm_channels *ch, struct mm_cfile *cf);
/* The id of channel name[0..len) (created on first use). */
uint16_t mm_channels_id(struct mm_channels *ch, const char *name, size_t len);
/* Ids handed out so far (0..count-1), and the name of one. */
uint32_t mm_channels_count(const struct mm_channels *ch);
const char *mm_channels_name(const struct mm_channels *ch, uint16_t id);
/* The channel id an event belongs to: the event's channel, else its
 * service; MM_LC_NO_CHAN when it names neither. */
uint16_t mm_channels_id_for(struct mm_channels *ch, const struct mm_log_event *ev);
/* Channel names and reason texts cut to their slots so far. */
uint64_t mm_channels_truncated(const struct mm_channels *ch);
/* One message the queue scanner found, reduced to what the stored gauges
 * need. */
struct mm_stored_msg {
	char qid[MM_LC_QID_MAX];
	uint32_t nrcpt;	   /* pending recipients */
	uint64_t size;	   /* bytes */
	int64_t arrival_s; /* wall seconds */
};

#define MM_CHAN_UNATTEMPTED "unattempted"

/* Sets every channel's queue gauges (MM_CG_QSTORED_*, MM_CG_QOLDEST_S)
 * from one queue scan. A queue file does not name its transport, so each
 * message is given to the channel of its latest delivery attempt that
 * the lifecycle saw in the logs; a message with none yet counts under
 * the group "unattempted". Channels with nothing queued are set to 0. */
void mm_channels_set_stored(struct mm_channels *ch, const struct mm_lifecycle *lc,
			    const struct mm_stored_msg *msgs, size_t n, int64_t now_s);

/* Updates the counters for one event, given what the lifecycle made of
 * it. id: mm_channels_id_for(ev). */
void mm_channels_apply(struct mm_channels *ch, const struct mm_log_event *ev, uint16_t id,
		       const struct mm_lc_change *lcc);

#endif

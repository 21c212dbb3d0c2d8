/*
 * lifecycle: in-flight message tracking by queue ID.
 *
 * From the typed log events (parsers/logevent.h) this module keeps, per
 * queue ID: arrival time, size, sender, recipient count, the channels the
 * message was delivered through, and each recipient's outcome with its
 * delays and relay. It tells the caller what one event changed (struct
 * mm_lc_change) so that channel counters (channels.h) count a message
 * once per channel, know first-attempt deliveries and dequeue (Stored)
 * on removal.
 *
 * Bounds: at most max_inflight messages and max_rcpts recipient records,
 * both preallocated slabs (calloc: untouched pages cost no memory), so no
 * event allocates. A message idle for longer than max_age (log time) is
 * expired; when the table is full the least recently active message is
 * evicted. Both are counted. Text fields are copied into fixed-size slots
 * and truncation is counted. So memory is bounded on a log that never
 * completes its messages.
 *
 * Ownership: struct mm_lifecycle owns its slabs; pointers it returns are
 * valid until the next mm_lc_event() or mm_lc_free(). Not thread-safe.
 */
#ifndef MAILMON_LOGS_LIFECYCLE_H
#define MAILMON_LOGS_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "parsers/logevent.h"

#define MM_LC_QID_MAX 24    /* queue IDs longer than this are not tracked */
#define MM_LC_ADDR_MAX 64   /* sender / recipient slot, NUL included */
#define MM_LC_RELAY_MAX 64
#define MM_LC_MAX_CHAN 4    /* channels remembered per message */
#define MM_LC_NO_CHAN 0xffff

enum mm_lc_flag {
	MM_LCF_SMTPD = 1 << 0,	  /* received by smtpd (client= seen) */
	MM_LCF_PICKUP = 1 << 1,	  /* received by pickup */
	MM_LCF_QUEUED = 1 << 2,	  /* qmgr from=/size= seen */
	MM_LCF_DEFERRED = 1 << 3, /* at least one deferral */
	MM_LCF_UNSEEN = 1 << 4,	  /* first seen mid-life (arrival not in the log) */
	MM_LCF_EXPIRED = 1 << 5,
	MM_LCF_HELD = 1 << 6,
	MM_LCF_TRUNC = 1 << 7,	  /* a text field was truncated */
};

/* Per channel of a message. */
enum mm_lc_chflag {
	MM_LCC_SENT = 1 << 0,
	MM_LCC_FAILED = 1 << 1,
	MM_LCC_DEFERRED = 1 << 2,
	MM_LCC_RETRY = 1 << 3, /* the next event on it starts a new attempt */
};

struct mm_lc_rcpt {
	char addr[MM_LC_ADDR_MAX];
	char relay[MM_LC_RELAY_MAX];
	int64_t time_ms;
	float delay;	 /* seconds */
	float delays[4]; /* a/b/c/d, negative when absent */
	uint16_t chan;
	uint8_t status;	 /* enum mm_dstatus */
	uint32_t next;	 /* internal: slab index + 1, 0 = end */
};

struct mm_lc_msg {
	/* hot: what every lookup and event touches, in the first cache line */
	uint32_t hash;	    /* internal: of qid, to skip compares and rehashing */
	uint8_t qid_len;
	uint8_t nchan;
	uint16_t flags;	    /* enum mm_lc_flag */
	char qid[MM_LC_QID_MAX];
	uint16_t chan[MM_LC_MAX_CHAN];
	uint8_t chflags[MM_LC_MAX_CHAN];
	int16_t inbound;    /* channel id that received it, -1 unknown */
	uint64_t size;
	int64_t last_ms;    /* last event seen */
	/* internal */
	uint32_t prev, next;	       /* activity list, slab index + 1 */
	uint32_t hslot;		       /* 0 when free */
	uint32_t rcpt_head, rcpt_tail; /* slab index + 1 */
	/* colder */
	int64_t arrival_ms; /* first event seen */
	uint32_t nrcpt;	    /* from qmgr nrcpt= */
	uint32_t nsent, nfailed, ndeferrals;
	char sender[MM_LC_ADDR_MAX];
};

/* What one event changed; filled by mm_lc_event(). */
struct mm_lc_change {
	const struct mm_lc_msg *msg; /* NULL: the event names no tracked message */
	bool msg_new;		 /* this event created the entry */
	bool queued_first;	 /* first qmgr from=/size= of the message */
	bool chan_new;		 /* first event of the message on this channel */
	bool attempt_new;	 /* first event of a delivery attempt on it */
	bool chan_first_sent;	 /* first successful delivery on this channel */
	bool chan_first_failed;	 /* first permanent failure on this channel */
	bool first_attempt;	 /* no earlier deferral on this channel (and arrival seen) */
	bool msg_first_deferral; /* first deferral of the message */
	uint64_t size;		 /* message size when known, else 0 */
	/* REMOVED: the message left the queue; EXPIRED: channels without a
	 * final outcome. Channel ids to dequeue / fail. */
	uint16_t done_chan[MM_LC_MAX_CHAN];
	uint8_t ndone;
	uint8_t done_flags[MM_LC_MAX_CHAN];
};

struct mm_lc_limits {
	uint32_t max_inflight; /* messages, >= 16 */
	uint32_t max_rcpts;    /* recipient records kept; 0 = keep none */
	int64_t max_age_ms;    /* idle time before expiry; 0 = no age limit */
};

struct mm_lc_stats {
	uint64_t inflight, peak_inflight;
	uint64_t created, completed;
	uint64_t evicted_full, evicted_age; /* evictions */
	uint64_t rcpts_kept, rcpts_dropped; /* recipient records cap */
	uint64_t qid_too_long, truncated, chan_overflow;
};

struct mm_lifecycle;

struct mm_lifecycle *mm_lc_new(const struct mm_lc_limits *lim);
void mm_lc_free(struct mm_lifecycle *lc);
/* Applies ev. chan: channel id of the delivering (DELIVERY, CONN_FAIL)
 * channel or MM_LC_NO_CHAN; inbound: channel id of the receiving service
 * (CLIENT, PICKUP) or MM_LC_NO_CHAN. Ids are the caller's (channels.h). */
void mm_lc_event(struct mm_lifecycle *lc, const struct mm_log_event *ev, uint16_t chan,
		 uint16_t inbound, struct mm_lc_change *out);
/* Expires messages idle since before now_ms - max_age (also done on every
 * event with the newest log time seen). */
void mm_lc_expire(struct mm_lifecycle *lc, int64_t now_ms);
/* The newest log time seen (ms), 0 before the first timed event. */
int64_t mm_lc_now(const struct mm_lifecycle *lc);
const struct mm_lc_msg *mm_lc_find(const struct mm_lifecycle *lc, const char *qid,
				   size_t len);
/* Recipient records of msg, in log order: first, then next until NULL. */
const struct mm_lc_rcpt *mm_lc_rcpt_first(const struct mm_lifecycle *lc,
					  const struct mm_lc_msg *msg);
const struct mm_lc_rcpt *mm_lc_rcpt_next(const struct mm_lifecycle *lc,
					 const struct mm_lc_rcpt *r);
void mm_lc_get_stats(const struct mm_lifecycle *lc, struct mm_lc_stats *out);

/* Saved state (logpipe_state.c): calls fn for every tracked message, least
 * recently active first; and puts a message back from its saved fields
 * (qid, qid_len, flags, inbound, chan/chflags/nchan, times, counts, sender;
 * the internal fields are ignored). Restoring an existing queue ID
 * replaces it; recipient records are not part of the saved state. */
void mm_lc_each(const struct mm_lifecycle *lc,
		void (*fn)(const struct mm_lc_msg *m, void *arg), void *arg);
void mm_lc_restore(struct mm_lifecycle *lc, const struct mm_lc_msg *saved);

#endif

/*
 * filterhop: recognises content-filter hops in a Postfix log, so that a
 * message passed through a filter (amavis, a milter-less proxy: Postfix's
 * FILTER_README "after-queue" setup) counts once as received and once as
 * delivered.
 *
 * The shape: the message is received (QID1), delivered by smtp/lmtp to
 * the filter on this host, which re-injects it into a second smtpd
 * (often `postfix/10025/smtpd`) from a loopback client, where it gets a
 * new queue ID (QID2), and only then answers the first delivery with
 * "250 ... queued as QID2". So a hop is a sent delivery whose text says
 * "queued as QID2" where QID2 was received by smtpd from a loopback
 * client (127.0.0.0/8, ::1) shortly before. mm_filterhop_received() is
 * told every smtpd arrival from loopback (with its time and, later, its
 * size); mm_filterhop_match() finds the re-injection a delivery text
 * names and forgets it (each re-injection matches once).
 *
 * Bounded: a ring of the last MM_FILTERHOP_RING loopback arrivals (with an
 * open-addressing index); older ones are forgotten, counted in
 * `forgotten`. Ownership: the caller owns the struct (init/free).
 */
#ifndef MAILMON_LOGS_FILTERHOP_H
#define MAILMON_LOGS_FILTERHOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parsers/logevent.h"

#define MM_FILTERHOP_RING 65536

struct mm_filterhop_ent {
	uint64_t hash; /* of the queue ID; 0 = empty */
	int64_t time_ms;
	uint64_t size;
};

struct mm_filterhop {
	struct mm_filterhop_ent *ring;
	uint32_t *index; /* ring slot + 1 */
	uint32_t next;	 /* next ring slot to use */
	uint64_t forgotten;
};

void mm_filterhop_init(struct mm_filterhop *f);
void mm_filterhop_free(struct mm_filterhop *f);
/* Whether an IP text is loopback: 127.x.y.z or ::1. */
bool mm_filterhop_loopback(struct mm_sv ip);
/* An smtpd arrival (QID: client=... from loopback). */
void mm_filterhop_received(struct mm_filterhop *f, struct mm_sv qid, int64_t time_ms);
/* The qmgr size of a message, when it was such an arrival. */
void mm_filterhop_size(struct mm_filterhop *f, struct mm_sv qid, uint64_t size);
/* A sent delivery's text ("... queued as QID2)"): true, with the
 * re-injection's arrival time and size, when QID2 is a remembered
 * loopback arrival (which is then forgotten). */
bool mm_filterhop_match(struct mm_filterhop *f, struct mm_sv text, int64_t *time_ms,
			uint64_t *size);

#endif

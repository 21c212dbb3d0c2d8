/*
 * box: the state of a mailbox task (probe.h, struct mm_probe_box) shared
 * by its IMAP and POP3 halves (internal to src/probes). Allocated when
 * the task starts, freed with the probe.
 */
#ifndef MAILMON_PROBES_BOX_H
#define MAILMON_PROBES_BOX_H

#include <stdbool.h>
#include <stdint.h>

#include "probes/imap_fetch.h"

#define BOX_MAX_IDS 64

struct mm_box_state {
	/* IMAP */
	bool idle_cap, uidplus, done_sent;
	uint32_t seen_max;		 /* highest UID looked at */
	uint32_t scan[BOX_MAX_IDS];	 /* UIDs to look at this round */
	size_t nscan;
	struct mm_imap_item item;
	/* POP3 */
	uint32_t count, next;		 /* messages in the maildrop, next to look at */
	/* both */
	uint32_t own;			 /* UID / message number of ours; 0: not yet */
	uint32_t del[BOX_MAX_IDS];	 /* to delete with it */
	size_t ndel;
};

#endif

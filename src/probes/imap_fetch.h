/*
 * imap_fetch: the items of an IMAP FETCH response, line by line.
 *
 * The probe engine hands each line of a reply to mm_imap_reply_feed
 * (reply.h), which counts literal bytes; mm_imap_item_feed then takes the
 * same line with that verdict and collects, per "* N FETCH (...)"
 * response, the UID, the INTERNALDATE and the literal text (a header
 * section or a whole message: the first MM_IMAP_ITEM_TEXT bytes, lines
 * joined by '\n'). It returns true when a response is complete; the item
 * is then valid until the next call.
 *
 * Pure and bounded: no allocation, reads only the bytes given (fuzzed by
 * tests/fuzz/fuzz_imap_fetch.c).
 */
#ifndef MAILMON_PROBES_IMAP_FETCH_H
#define MAILMON_PROBES_IMAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probes/reply.h"

#define MM_IMAP_ITEM_TEXT 8192

struct mm_imap_item {
	bool open;
	uint32_t uid;
	bool have_internal;
	int64_t internal_ms;
	char text[MM_IMAP_ITEM_TEXT + 1];
	size_t len;
	bool cut; /* the literal was longer than the buffer */
};

bool mm_imap_item_feed(struct mm_imap_item *it, const struct mm_reply_state *st,
		       const char *line, size_t len);

/* Appends the UIDs of "* SEARCH n n n" lines in reply (lines joined by
 * '\n') that are above after, up to max; returns how many. */
size_t mm_imap_search_uids(const char *reply, size_t len, uint32_t after, uint32_t *out,
			   size_t max);

#endif

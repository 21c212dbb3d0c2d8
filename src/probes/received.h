/*
 * received: a message's Received: chain and its header fields, parsed
 * from a header section as the end-to-end probe fetched it.
 *
 * mm_header_field() finds a field by name (case-insensitive) and returns
 * its value with folded lines joined. mm_received_parse() returns the
 * Received: fields oldest first (a header lists them newest first), each
 * with the receiving host ("by"), the protocol ("with") and the time
 * after its last ';' (RFC 5321 4.4, RFC 5322 3.6.7). A field without a
 * readable date is kept with have_time false; the caller skips it when
 * it computes per-hop delays.
 *
 * Pure functions: they read only the len bytes given (lines may end in
 * LF or CRLF), write only into the caller's arrays, allocate nothing, and
 * treat every byte as hostile (fuzz target tests/fuzz/fuzz_received.c).
 */
#ifndef MAILMON_PROBES_RECEIVED_H
#define MAILMON_PROBES_RECEIVED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MM_RECEIVED_MAX 16

struct mm_received_hop {
	char by[64];	/* the host that added the field, "" if absent */
	char with[16];	/* its protocol: ESMTP, ESMTPSA, LMTP, ..., "" if absent */
	bool have_time;
	int64_t wall_ms;
};

/* Copies the first field called name into out (cap > 0, NUL-ended, cut;
 * control characters become spaces, runs of blanks collapse). Returns
 * true when found. */
bool mm_header_field(const char *hdr, size_t len, const char *name, char *out, size_t cap);

/* Fills hops (at most max) oldest first; returns how many. */
size_t mm_received_parse(const char *hdr, size_t len, struct mm_received_hop *hops, size_t max);

#endif

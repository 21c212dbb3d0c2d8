/*
 * maildate: the two date formats a mail probe reads, as pure functions.
 *
 *   mm_maildate_rfc5322  "Mon, 7 Dec 2026 17:13:03 +0000 (UTC)" (the date
 *                        of a Received field, RFC 5322 3.3, with the
 *                        obsolete zone names UT, GMT, UTC, Z, EST..PDT)
 *   mm_maildate_imap     "07-Dec-2026 17:13:03 +0000" (IMAP INTERNALDATE,
 *                        RFC 3501 9, the day may be space-padded)
 *
 * Both return 0 and set *wall_ms (milliseconds since the epoch, UTC), or
 * -1 for anything malformed or out of range (years 1970..9999). They read
 * only the len bytes given and allocate nothing (fuzzed through
 * tests/fuzz/fuzz_received.c).
 */
#ifndef MAILMON_PROBES_MAILDATE_H
#define MAILMON_PROBES_MAILDATE_H

#include <stddef.h>
#include <stdint.h>

int mm_maildate_rfc5322(const char *s, size_t len, int64_t *wall_ms);
int mm_maildate_imap(const char *s, size_t len, int64_t *wall_ms);

#endif

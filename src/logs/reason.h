/*
 * reason: the group key of a reject, bounce or deferral text, the way a
 * postmaster reads a report: what went wrong, without who it happened to.
 *
 * mm_reason_group() copies `in` to `out` with these taken out (the rules
 * are listed in docs/logstat.md, "How reasons are grouped"):
 *   - a leading refused address `<a@b>: ` (Postfix puts it before the text);
 *   - `... blocked using ZONE; anything` becomes `blocked using ZONE`, so
 *     one DNSBL is one row whatever the client and the list's own text;
 *   - `<...>` holding an address (or empty) becomes `<*>`, a bare address
 *     `user@domain` becomes `*`;
 *   - `[...]` holding an IP address becomes `[*]`, a bare IPv4 `*`;
 *   - words of 6 or more letters and digits with a digit in them (queue
 *     IDs, message IDs, list entry IDs) become `#`;
 *   - every other run of digits becomes `#`, except an SMTP reply code
 *     (`[245]NN` at the start, after `said: ` or before an enhanced
 *     status code) and an enhanced status code (`[245].N.N`), which say
 *     what kind of failure it was.
 * The result is cut to fit `cap` (always NUL-terminated); the return
 * value is its length. Pure function: no allocation, no state.
 */
#ifndef MAILMON_LOGS_REASON_H
#define MAILMON_LOGS_REASON_H

#include <stddef.h>

size_t mm_reason_group(const char *in, size_t len, char *out, size_t cap);

#endif

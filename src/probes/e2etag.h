/*
 * e2etag: the header that marks an end-to-end probe message.
 *
 *   X-Mailmon-Probe: mailmon-e2e NAME SENT_MS NONCE
 *
 * NAME is the probe's name ([e2e.NAME], or the CLI's --name), SENT_MS the
 * wall time of submission in ms since the epoch, NONCE 16 hex digits from
 * getrandom: every message of every run is unique, so concurrent probes
 * on one mailbox find only their own, and a later run can tell the age
 * of a leftover from its header alone.
 *
 * mm_e2e_tag_parse is a parser of outside input (any header value):
 * bounded, no allocation.
 */
#ifndef MAILMON_PROBES_E2ETAG_H
#define MAILMON_PROBES_E2ETAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MM_E2E_HEADER "X-Mailmon-Probe"
#define MM_E2E_MAGIC "mailmon-e2e"
#define MM_E2E_NAME_MAX 64

/* Writes the tag; name must be 1..63 bytes of [A-Za-z0-9._-] (checked
 * by mm_e2e_name_ok). Returns -1 if out is too small. */
int mm_e2e_tag_make(const char *name, int64_t sent_ms, uint64_t nonce, char *out, size_t cap);
bool mm_e2e_name_ok(const char *name);
/* Parses a header value; false unless it is a well-formed tag. name may
 * be NULL. */
bool mm_e2e_tag_parse(const char *value, char *name, size_t name_cap, int64_t *sent_ms);
/* "mailmon-e2e NAME " for a claim prefix (earlier runs of NAME). */
int mm_e2e_tag_prefix(const char *name, char *out, size_t cap);

#endif

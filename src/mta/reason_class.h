/*
 * reason_class: sorts a delay reason into a class (enum mm_rclass in
 * mta.h), so that "why is this queued" can be counted per destination.
 *
 *   mm_rclass_of(reason, status, &code)
 *       reason: the text (Postfix defer log reason=, postqueue's
 *       delay_reason, an Exim retry message); status: the enhanced status
 *       code when known ("4.4.1") or NULL. Returns the class; code gets the
 *       three-digit SMTP reply for MM_RC_4XX, else 0.
 *   mm_rclass_cause(reason, status, &code)
 *       For a "delivery temporarily suspended: CAUSE" reason (class
 *       MM_RC_SUSPENDED), the class of CAUSE, the failure that made
 *       Postfix mark the destination dead (refused, timeout, ...);
 *       MM_RC_NONE when no cause is quoted or the reason is not a
 *       suspension. status is the cause's (Postfix keeps it).
 *
 * Rules are a table (first match wins); matching is case-insensitive on
 * substrings, so they hold for any MTA that words its reasons like
 * Postfix's smtp client. "delivery temporarily suspended" is checked
 * first because Postfix appends the original cause to it; that cause is
 * classified separately by mm_rclass_cause.
 * No allocation, no state.
 */
#ifndef MAILMON_MTA_REASON_CLASS_H
#define MAILMON_MTA_REASON_CLASS_H

#include <stdint.h>

#include "mta/mta.h"

enum mm_rclass mm_rclass_of(const char *reason, const char *status, uint16_t *code);
enum mm_rclass mm_rclass_cause(const char *reason, const char *status, uint16_t *code);
/* "refused", "timeout", "tls", "dns", "4xx", "suspended", "other", "none". */
const char *mm_rclass_name(unsigned rclass);
/* Label for display: "4xx" classes with a code print as "451". */
void mm_rclass_label(unsigned rclass, uint16_t code, char *buf, unsigned cap);

#endif

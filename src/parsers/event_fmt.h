/*
 * event_fmt: helpers around struct mm_log_event that every grammar and
 * every test needs: reset to "nothing known", type and status names, and
 * a one-line text rendering (the golden .ref format, also handy for
 * debugging a consumer).
 *
 * The rendering is "TYPE key=value key=value ..." with only the fields
 * that are set, in a fixed order; bytes outside printable ASCII and the
 * characters '\\' and '"' are escaped as \xNN, and values with spaces are
 * quoted, so one event is always one line. Nothing allocates.
 */
#ifndef MAILMON_PARSERS_EVENT_FMT_H
#define MAILMON_PARSERS_EVENT_FMT_H

#include <stddef.h>

#include "parsers/logevent.h"

/* Zeroes ev and marks delays[] absent (-1). */
void mm_ev_reset(struct mm_log_event *ev);

/* "DELIVERY", "UNPARSED", ...; "?" for an out-of-range value. */
const char *mm_ev_type_name(enum mm_ev_type t);
/* "sent", "deferred", ...; "" for MM_DS_NONE. */
const char *mm_dstatus_name(enum mm_dstatus s);

/* Writes the one-line form of ev into buf (always NUL-terminated, cut
 * at cap-1 bytes). Returns the length it needed without the cut. */
size_t mm_ev_format(const struct mm_log_event *ev, char *buf, size_t cap);

#endif

/*
 * exim: the grammar of Exim's main log (Exim 4, spec chapter "Log
 * files"), in the forms it is written:
 *
 *   mainlog:      "2026-12-07 17:17:19 1xacL1-0003OG-2F <= a@b H=(helo) [ip] P=esmtp S=238"
 *   with +pid:    "2026-12-07 17:17:19 [13036] 1xacL1-0003OG-2F <= ..."
 *   also          ".123" subseconds (+millisec) and " +0100" (log_timezone)
 *   syslog:       "Dec  7 17:17:19 mx exim[13036]: 2026-12-07 17:17:19 1xacL1-... <= ..."
 *                 (syslog_timestamp, the default) or without Exim's own stamp
 *
 * Message IDs: the 4.96 form (6-6-2 base 62 characters, 16 bytes) and the
 * 4.97+ form (6-11-4, 23 bytes). docs/parsers.md lists the lines and the
 * events they become; the channel of a delivery is its transport (T=),
 * else its router (R=); an arrival's channel is "smtp" or "local" from P=.
 *
 * mm_exim_parse() never fails (UNPARSED with program set when the header
 * was readable); mm_exim_looks_like() tells "auto" that a line is Exim's
 * mainlog form (a stamp followed by a [pid], a message ID or a known
 * Exim text). No allocation; views into the line, except the few names
 * of mm_exim_is_static().
 */
#ifndef MAILMON_PARSERS_EXIM_H
#define MAILMON_PARSERS_EXIM_H

#include <stdbool.h>
#include <stddef.h>

#include "parsers/logevent.h"
#include "parsers/syslog_header.h"

void mm_exim_parse(const char *line, size_t len, int year_hint, struct mm_log_event *ev);

/* True when line[0..len) starts with Exim's own stamp and looks like its
 * main log (see above). */
bool mm_exim_looks_like(const char *line, size_t len);

/* The message part for a syslog header already parsed into h whose
 * program is Exim's ("exim", "exim4"); ev holds the header fields. */
void mm_exim_parse_msg(const char *line, size_t len, const struct mm_syslog_hdr *h,
		       struct mm_log_event *ev);

/* True when p points into this grammar's static names: the few views it
 * gives that are not in the line ("exim" as the program of a mainlog line,
 * channels "smtp"/"local", stages such as "CONNECT"). */
bool mm_exim_is_static(const char *p);

/* True when a syslog tag is Exim's: "exim" or "exim4". */
bool mm_exim_is_program(struct mm_sv program);

#endif

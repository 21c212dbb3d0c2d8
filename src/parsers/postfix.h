/*
 * postfix: the grammar of the lines Postfix writes in normal operation
 * (smtpd, postscreen, cleanup, qmgr, the delivery agents smtp, lmtp,
 * local, virtual, pipe, error, retry, discard, bounce, pickup, postsuper,
 * master, and warning/error/fatal/panic lines of any of them).
 *
 * One forward scan per line, no allocation: every text field of the event
 * is a view into the line. A line this grammar does not know becomes
 * MM_EV_UNPARSED with program set. docs/parsers.md lists the lines and
 * the event each one gives.
 *
 * channel: the transport as far as the syslog name shows it. With
 * "postfix/relay/smtp" (syslog_name=postfix/relay) it is "relay", with
 * "postfix/smtp" it is "smtp": Postfix logs the program name, not the
 * master.cf service name, so a transport "slowsmtp" running the smtp
 * program logs as "postfix/smtp" unless its master.cf line sets
 * -o syslog_name=postfix/slowsmtp (checked with Postfix 3.7.11).
 * qmgr lines carry no channel.
 */
#ifndef MAILMON_PARSERS_POSTFIX_H
#define MAILMON_PARSERS_POSTFIX_H

#include <stdbool.h>
#include <stddef.h>

#include "parsers/logevent.h"
#include "parsers/syslog_header.h"

/* The mm_parser entry point: header and message. */
void mm_postfix_parse(const char *line, size_t len, int year_hint, struct mm_log_event *ev);

/* The message part only, for a header already parsed into h (the auto
 * dispatcher uses this). ev must hold the header fields already. */
void mm_postfix_parse_msg(const char *line, size_t len, const struct mm_syslog_hdr *h,
			  struct mm_log_event *ev);

/* True when a syslog service name is a Postfix daemon or command
 * ("smtpd", "qmgr", "postsuper", ...). */
bool mm_postfix_is_service(struct mm_sv service);

#endif

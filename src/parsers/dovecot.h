/*
 * dovecot: the grammar of Dovecot's login, auth, LMTP and session lines
 * (Dovecot 2.2/2.3), in both of the forms Dovecot writes:
 *
 *   log_path:  "Nov 21 06:01:34 imap-login: Info: Login: user=<bob>, ..."
 *              "Nov 21 06:01:31 lmtp(bob)<13802><sess>: Info: msgid=<..>: saved mail to INBOX"
 *   syslog:    "Nov 21 06:01:34 host dovecot[812]: imap-login: Login: user=<bob>, ..."
 *
 * The Dovecot prefix "name(user-or-pid)<pid><session>" gives service
 * (name), addr (the user) and pid; channel is the protocol ("imap",
 * "pop3", "lmtp", "submission", "managesieve"): the login process name
 * without "-login". docs/parsers.md lists the lines and their events.
 * No allocation; views into the line.
 */
#ifndef MAILMON_PARSERS_DOVECOT_H
#define MAILMON_PARSERS_DOVECOT_H

#include <stdbool.h>
#include <stddef.h>

#include "parsers/logevent.h"
#include "parsers/syslog_header.h"

void mm_dovecot_parse(const char *line, size_t len, int year_hint, struct mm_log_event *ev);

/* The message part for a header already parsed into h (ev holds the
 * header fields). */
void mm_dovecot_parse_msg(const char *line, size_t len, const struct mm_syslog_hdr *h,
			  struct mm_log_event *ev);

/* True when a syslog tag is Dovecot's: "dovecot", or a log_path prefix
 * such as "imap-login", "auth", "lmtp(bob)<1><s>", "master". */
bool mm_dovecot_is_program(struct mm_sv program);

#endif

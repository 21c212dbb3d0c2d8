/*
 * syslog_header: the header in front of a log message, and the wall-clock
 * conversions the log grammars share.
 *
 * Recognised headers (an optional "<PRI>" in front of any of them is
 * skipped):
 *   RFC 3164     "Nov 21 05:59:09 host prog[pid]: msg"   (also "Nov  1")
 *   RFC 3339     "2026-11-21T05:59:09.123456+00:00 host prog[pid]: msg"
 *                (also with a space for the T, and without a zone: local)
 *   Postfix maillog_file (postlogd): the RFC 3164 form with the local
 *                host name, e.g. "Nov 21 06:01:31 mail postfix/smtpd[13788]: "
 *   hostless     "Nov 21 06:01:02 imap-login: Info: msg" (Dovecot log_path)
 *                and "Nov 21 06:01:02 prog[pid]: msg"
 * The tag is split on '/': instance = first component, service = last
 * ("postfix-out/smtp", "postfix/submission/smtpd"); a tag without '/' has
 * no instance and is its own service.
 *
 * Time: RFC 3164 stamps carry no year and no zone; they are local time in
 * year_hint (the current year when year_hint <= 0). RFC 3339 stamps with
 * an offset are converted with integer arithmetic. Local times go through
 * a one-entry per-thread memo of the last local hour (one mktime per hour
 * of log, not per line); the memo is pure caching, never state a caller
 * can observe other than speed.
 *
 * Nothing allocates; every view points into the caller's line.
 */
#ifndef MAILMON_PARSERS_SYSLOG_HEADER_H
#define MAILMON_PARSERS_SYSLOG_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "parsers/logevent.h"

struct mm_syslog_hdr {
	int64_t time_ms; /* 0 when the stamp was unreadable */
	struct mm_sv host; /* absent in the hostless form */
	struct mm_sv program;
	struct mm_sv instance;
	struct mm_sv service;
	uint32_t pid; /* 0 when absent */
	size_t msg_off; /* offset of the message text in the line */
};

/* Parses the header of line[0..len). Returns 0 and fills h, or -1 when
 * the line does not start with a recognised header (h is then zeroed,
 * with msg_off 0). */
int mm_syslog_parse(const char *line, size_t len, int year_hint, struct mm_syslog_hdr *h);

/* Copies the header fields (time, host, program, instance, service, pid)
 * into ev. */
void mm_ev_set_header(struct mm_log_event *ev, const struct mm_syslog_hdr *h);

/* Splits a tag ("postfix-out/smtp") into instance and service. */
void mm_syslog_split_tag(struct mm_sv program, struct mm_sv *instance, struct mm_sv *service);

/* Milliseconds since the epoch of a local wall time (month 1-12); uses
 * the per-thread hour memo. Returns 0 for out-of-range fields. */
int64_t mm_local_time_ms(int year, int mon, int day, int hour, int min, int sec, int ms);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
int64_t mm_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Month number 1-12 from a three-letter English abbreviation, 0 if none. */
int mm_month_from_abbr(const char *p);

#endif

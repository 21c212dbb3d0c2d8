/*
 * progstat: what the node verdict needs to know from the log beyond the
 * channel counters: how many lines each program wrote (is qmgr still
 * logging?), and the signs of a delivery transport with no process.
 *
 * A transport whose service is missing from master.cf (or commented
 * out, or whose socket is gone) shows in a Postfix log as, checked live
 * on Postfix 3.7:
 *   postfix/qmgr[..]: warning: connect to transport private/NAME: No such file or directory
 *   postfix/error[..]: QID: to=<..>, relay=none, ..., dsn=4.3.0, status=deferred (mail transport unavailable)
 * The warning comes once per qmgr attempt to use the transport (about
 * once a minute while mail waits for it); every message for it is then
 * deferred at once without any delivery attempt.
 *
 *   mm_progstat_init(ps)          empty tables
 *   mm_progstat_event(ps, ev)     counts one parsed line
 *
 * The same per Postfix instance (ps->inst[], for a verdict per instance):
 * a Postfix line's instance is its syslog_name, the tag before the first
 * "/" ("postfix-out/qmgr" -> "postfix-out"). Per instance: the lines per
 * program, the transports qmgr could not connect to, the "mail transport
 * unavailable" deferrals, and the message outcomes the verdict reads:
 * submitted (smtpd "client=" and pickup lines, as the channel counters
 * count inflow), and delivered, deferred, bounced (delivery lines by
 * status; bounced includes expired). At most MM_PROGSTAT_INST_MAX
 * instances; lines of later ones are counted in inst_dropped only.
 *   mm_progstat_program(ps, i, &name, &lines)   walk the programs
 *   mm_progstat_transport(ps, i, &name, &count) walk the transports
 *
 * Delivered per recipient domain (for the flood detector's "nothing
 * delivered to it", cluster/flood.h): each status=sent line counts one
 * for the domain of its to=, normalized as the queue scanner names
 * destinations (mm_qshape_domain: lower case), and numbers the delivery
 * (dest_tick: 1, 2, ...; a row's last is the number of its domain's last
 * delivery). The table holds the MM_PROGSTAT_DEST_MAX domains delivered
 * to most recently: a new domain takes the row of the one delivered to
 * least recently, and counts from 1 (the evicted domain, if it comes
 * back, from 1 too); dest_evicted_last is the largest last of an evicted
 * row. So "no delivery to D after delivery number N" is certain when D's
 * row has last <= N, or D has no row and dest_evicted_last <= N. Domains
 * are cut to MM_PROGSTAT_DEST_NAME_MAX-1 bytes.
 *
 * Programs are the event's service ("qmgr", "smtpd", "imap-login");
 * transports the NAME of "private/NAME". Each table holds at most
 * MM_PROGSTAT_MAX names; later names count under "other". Names are cut
 * to MM_PROGSTAT_NAME_MAX-1 bytes. No heap: a plain struct.
 */
#ifndef MAILMON_LOGS_PROGSTAT_H
#define MAILMON_LOGS_PROGSTAT_H

#include <stddef.h>
#include <stdint.h>

#include "parsers/logevent.h"

#define MM_PROGSTAT_MAX 32
#define MM_PROGSTAT_NAME_MAX 48

struct mm_progstat_row {
	char name[MM_PROGSTAT_NAME_MAX];
	uint64_t n;
};

struct mm_progstat_table {
	size_t n;
	struct mm_progstat_row v[MM_PROGSTAT_MAX];
};

#define MM_PROGSTAT_INST_MAX 16

struct mm_progstat_inst {
	char name[MM_PROGSTAT_NAME_MAX]; /* syslog_name */
	struct mm_progstat_table programs, transports;
	uint64_t unavailable_deferred;
	uint64_t submitted, delivered, deferred, bounced;
};

#define MM_PROGSTAT_DEST_MAX 64
#define MM_PROGSTAT_DEST_NAME_MAX 128

struct mm_progstat_dest {
	char name[MM_PROGSTAT_DEST_NAME_MAX];
	uint64_t delivered;
	uint64_t last; /* ps->dest_tick at its last delivery */
};

struct mm_progstat {
	struct mm_progstat_table programs;   /* lines per program */
	struct mm_progstat_table transports; /* "connect to transport" warnings */
	uint64_t unavailable_deferred;	     /* "mail transport unavailable" deferrals */
	size_t ninst;			     /* Postfix instances seen */
	struct mm_progstat_inst inst[MM_PROGSTAT_INST_MAX];
	uint64_t inst_dropped; /* lines of instances beyond the table */
	size_t ndests;	       /* delivered per recipient domain */
	struct mm_progstat_dest dests[MM_PROGSTAT_DEST_MAX];
	uint64_t dest_tick;    /* deliveries counted in dests[] */
	uint64_t dest_evicted; /* rows given to another domain */
	uint64_t dest_evicted_last; /* largest last of an evicted row, 0: none */
};

void mm_progstat_init(struct mm_progstat *ps);
void mm_progstat_event(struct mm_progstat *ps, const struct mm_log_event *ev);

#endif

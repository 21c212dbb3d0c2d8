/*
 * alarm_mail: the text of alarm notices: postmaster mail (one change, or
 * a digest of many), and the likely cause and next command for each kind
 * of alarm, kept in one table (alarm_mail.c) so every channel says the
 * same thing.
 *
 *   subject  ALARM: <description> of "<instance>" is <value>
 *            CLEARED: <description> of "<instance>" is <value>
 *   body     the seed's fields (server instance, alarm id, instance,
 *            description, current value with its time, lowest and
 *            highest recorded, monitoring interval, threshold with
 *            direction, times over threshold), the state, then the
 *            likely cause and the next command to run; or, with a
 *            template, the template with ${field} replaced.
 *
 *   mm_alarm_hint(ev, reg, cause, ccap, cmd, kcap)  cause and command;
 *            reg (may be NULL) adds context such as the top deferred
 *            destinations or a partition's lock state
 *   mm_alarm_mail_compose(ctx, evs, n, out)  one message (n == 1) or a
 *            digest (n > 1), headers included, lines ending in \n
 *   mm_alarm_subject(ev, buf, cap)
 *   mm_alarm_smtp_data(text, len)  the message as the SMTP probe sends it
 *            after DATA: CRLF lines, leading dots doubled, no final "."
 *            (heap string, caller frees)
 *
 * Ownership: out is the caller's strbuf; nothing else is kept.
 */
#ifndef MAILMON_ALARM_ALARM_MAIL_H
#define MAILMON_ALARM_ALARM_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "alarm/alarm.h"
#include "core/strbuf.h"
#include "metrics/registry.h"

struct mm_alarm_mail_ctx {
	const char *node;	/* server instance */
	const char *from, *to;	/* addresses */
	const char *template_text; /* NULL: the built-in body */
	const struct mm_registry *reg; /* for hints; may be NULL */
	int64_t now;		/* Unix seconds, for Date: */
	uint64_t seq;		/* for Message-ID */
};

const char *mm_alarm_kind_name(enum mm_alarm_kind k);
void mm_alarm_format_value(double v, char *buf, size_t cap);
void mm_alarm_subject(const struct mm_alarm_event *ev, char *buf, size_t cap);
void mm_alarm_hint(const struct mm_alarm_event *ev, const struct mm_registry *reg, char *cause,
		   size_t ccap, char *cmd, size_t kcap);
void mm_alarm_mail_compose(const struct mm_alarm_mail_ctx *ctx, const struct mm_alarm_event *evs,
			   size_t n, struct mm_strbuf *out);

char *mm_alarm_smtp_data(const char *text, size_t len);

#endif

/*
 * mastercf: a parser for Postfix's master.cf, for `mailmon init`: which
 * services listen on the network, with which command and -o overrides.
 *
 *   mm_mastercf_parse(text, len, &entries, &n, err)
 *   mm_mastercf_listener(entry, &listener)   classify an inet smtpd entry
 *   mm_mastercf_free(entries, n)
 *
 * An entry is the eight fields "service type private unpriv chroot wakeup
 * maxproc command" followed by the command's arguments; lines starting
 * with a blank continue the previous entry, '#' lines are comments.
 *
 * Errors: -1 with err naming the line of the first malformed entry (fewer
 * than eight fields, too many entries or arguments). Ownership: the
 * entries array and its -o lists belong to the caller.
 */
#ifndef MAILMON_DISCOVER_MASTERCF_H
#define MAILMON_DISCOVER_MASTERCF_H

#include <stddef.h>

#include "core/err.h"
#include "core/kvlist.h"

#define MM_MASTERCF_MAX_ENTRIES 1024

struct mm_master_entry {
	char service[128]; /* "smtp", "127.0.0.1:2525", "[::1]:submission" */
	char type[16];	   /* inet, unix, unix-dgram, fifo, pass */
	char command[64];  /* smtpd, postscreen, ... (first word of the command) */
	int line;	   /* where the entry starts */
	struct mm_kvlist opts; /* -o name=value, in order */
};

/* What an inet smtpd/postscreen entry offers a client. */
enum mm_smtp_kind { MM_SMTP_NONE, MM_SMTP_SMTP, MM_SMTP_SUBMISSION, MM_SMTP_SMTPS };

struct mm_master_listener {
	enum mm_smtp_kind kind;
	char host[64]; /* as written before the last ':', "" when none */
	int port;      /* 0 when the service name is not one we know */
	char port_name[64];
};

int mm_mastercf_parse(const char *text, size_t len, struct mm_master_entry **out,
		      size_t *n, struct mm_err *err);
/* Classifies e; kind MM_SMTP_NONE when it is no SMTP listener. */
void mm_mastercf_listener(const struct mm_master_entry *e, struct mm_master_listener *l);
void mm_mastercf_free(struct mm_master_entry *entries, size_t n);

#endif

/*
 * parser: the table of log grammars, chosen by name ("postfix", "msgsrv",
 * "dovecot", "exim", "auto"), and the per-program count of lines nobody
 * understood.
 *
 * "auto" reads the header once and dispatches: a mail.log date stamp
 * ("06-Oct-2003 ...") goes to msgsrv; a syslog tag whose first component
 * starts with "postfix" or whose service is a Postfix daemon goes to
 * postfix; "dovecot" and Dovecot's own log_path prefixes ("imap-login",
 * "auth", "lmtp(u)<pid><s>") go to dovecot; Exim's own stamp followed by
 * a [pid], a message ID or an Exim text, or a syslog tag "exim"/"exim4",
 * go to exim. Anything else is UNPARSED
 * with its program set.
 *
 * struct mm_unparsed is a fixed-size, caller-owned table (no allocation):
 * at most MM_UNPARSED_PROGRAMS distinct programs, each name cut at
 * MM_UNPARSED_NAME-1 bytes; lines from further programs, and lines
 * without a readable header, are counted under "(other)" / "(no header)".
 */
#ifndef MAILMON_PARSERS_PARSER_H
#define MAILMON_PARSERS_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "parsers/logevent.h"

/* The grammar table, NULL-name terminated; see mm_parser_find. */
extern const struct mm_parser mm_parsers[];

/* The parser called name, or NULL. */
const struct mm_parser *mm_parser_find(const char *name);

/* The "auto" entry point (also in the table). */
void mm_auto_parse(const char *line, size_t len, int year_hint, struct mm_log_event *ev);

#define MM_UNPARSED_PROGRAMS 32
#define MM_UNPARSED_NAME 48

struct mm_unparsed {
	struct {
		char name[MM_UNPARSED_NAME];
		uint64_t count;
	} prog[MM_UNPARSED_PROGRAMS];
	unsigned nprog;
	uint64_t other;	    /* programs beyond the table */
	uint64_t no_header; /* lines without a readable header */
	uint64_t total;
};

/* Counts ev when it is MM_EV_UNPARSED; other events are ignored. */
void mm_unparsed_count(struct mm_unparsed *u, const struct mm_log_event *ev);

#endif

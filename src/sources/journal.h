/*
 * journal: the systemd journal as a log source, through libsystemd's
 * sd_journal. Many Debian hosts have no syslog file at all.
 *
 * Each matching entry becomes one line in the syslog form the parsers
 * read (RFC 3339 timestamp in UTC from __REALTIME_TIMESTAMP):
 *
 *     2026-11-21T06:05:00.123456+00:00 mx1 postfix/smtpd[123]: connect from ...
 *
 * host from _HOSTNAME ("-" when absent), pid from SYSLOG_PID or _PID.
 * Newlines inside MESSAGE become spaces; a line longer than line_max is
 * cut and counted (the line rules of linebuf.h).
 *
 * Filter: each `match` item is either a SYSLOG_IDENTIFIER prefix
 * ("postfix" takes postfix/smtpd and postfix-out/smtp) or, when it holds
 * '=', an exact journal match FIELD=value (sd_journal_add_match, ORed).
 * Entries that fail the filter are skipped and counted.
 *
 * Position: the cursor of the last entry consumed (delivered or skipped).
 * A saved cursor resumes after that entry; when the entry has been
 * vacuumed away the journal continues at the next one that exists.
 *
 * Reads are bounded (read_limit bytes of lines per call) and never block.
 * The daemon may watch mm_journal_fd() and call mm_journal_process()
 * when it is readable; polling mm_journal_read() on a timer also works.
 *
 * Ownership: struct mm_journal owns the sd_journal handle and its cursor
 * string. Errors go to struct mm_err; nothing is printed.
 */
#ifndef MAILMON_SOURCES_JOURNAL_H
#define MAILMON_SOURCES_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "sources/tailer.h" /* mm_line_fn */

struct mm_journal_opts {
	const char *const *files; /* NULL-terminated journal files; NULL: none */
	const char *directory;	  /* a journal directory; NULL: none */
	/* neither files nor directory: the local system journal */
	const char *const *match; /* NULL-terminated; NULL: "postfix", "dovecot" */
	size_t line_max;	  /* 0: MM_LINE_MAX_DEFAULT */
	size_t read_limit;	  /* bytes of lines per read; 0: 4 MiB */
	bool start_at_end;	  /* no cursor: begin after the newest entry */
};

struct mm_journal_stats {
	uint64_t entries; /* entries looked at */
	uint64_t lines;	  /* delivered */
	uint64_t skipped; /* filtered out */
	uint64_t capped;  /* cut to line_max */
	uint64_t errors;  /* entries that could not be read */
	int64_t last_read_ms;
};

struct mm_journal;

struct mm_journal *mm_journal_open(const struct mm_journal_opts *opts, struct mm_err *err);
void mm_journal_free(struct mm_journal *j);

/* Positions the reader after the saved cursor (NULL: none). Returns 0, or
 * -1 with err when the cursor is unusable; reading then starts as if
 * there were none (opts.start_at_end). */
int mm_journal_start(struct mm_journal *j, const char *cursor, struct mm_err *err);

/* Delivers new matching entries. Returns 1 when read_limit stopped it,
 * 0 when caught up, -1 with err on a journal error. */
int mm_journal_read(struct mm_journal *j, mm_line_fn *fn, void *arg, struct mm_err *err);

/* The cursor of the last consumed entry, or NULL before any. */
const char *mm_journal_cursor(const struct mm_journal *j);
const struct mm_journal_stats *mm_journal_stats(const struct mm_journal *j);

/* A file descriptor that becomes readable on journal changes, or -1. */
int mm_journal_fd(struct mm_journal *j);
/* Call when mm_journal_fd() is readable. */
void mm_journal_process(struct mm_journal *j);

#endif

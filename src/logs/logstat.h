/*
 * logstat: the one-shot report over past mail logs behind `mailmon
 * logstat`, with pflogsumm's Grand Totals under pflogsumm's names (every
 * figure is defined in docs/logstat.md, with where and why it differs).
 *
 * Feed it lines (mm_logstat_line: parse + account) or already parsed
 * events (mm_logstat_event), then render it as text or JSON.
 *
 * Memory is bounded whatever the input: the in-flight message table
 * (lifecycle.h) has a cap, distinct senders/recipients/hosts are exact up
 * to a cap and then HyperLogLog (core/distinct.h), deferred messages are
 * an exact set of queue-ID hashes up to a cap, destinations are capped
 * (then "(other)"), reasons and clients are counted exactly within a
 * shared memory budget and approximately past it (core/tally.h), and delay
 * percentiles come from fixed histograms (core/histo.h).
 *
 * Ownership: struct mm_logstat owns everything it holds; the JSON returned
 * by mm_logstat_json belongs to the caller (json_decref).
 */
#ifndef MAILMON_LOGS_LOGSTAT_H
#define MAILMON_LOGS_LOGSTAT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parsers/logevent.h"

struct mm_logstat_opts {
	const struct mm_parser *parser; /* grammar for mm_logstat_line */
	int year_hint;			/* RFC 3164 stamps; <= 0: this year */
	uint32_t max_inflight;		/* 0: 262144 */
	uint32_t max_destinations;	/* 0: 4096 */
	uint32_t distinct_cap;		/* exact distinct values; 0: 1,000,000 */
	unsigned top;			/* rows per top table; 0: 10 */
	size_t top_memory;		/* bytes for exact top tables; 0: 64 MiB */
};

struct mm_logstat;

struct mm_logstat *mm_logstat_new(const struct mm_logstat_opts *opts);
void mm_logstat_free(struct mm_logstat *ls);
/* One log line without its newline. Never fails: a line the parser does
 * not know is counted in unparsed_lines. */
void mm_logstat_line(struct mm_logstat *ls, const char *line, size_t len);
/* One parsed event (counts a line too). */
void mm_logstat_event(struct mm_logstat *ls, const struct mm_log_event *ev);
/* Counts input trouble that the report should show (capped lines). */
void mm_logstat_note_capped(struct mm_logstat *ls, uint64_t n);

json_t *mm_logstat_json(struct mm_logstat *ls);
void mm_logstat_text(struct mm_logstat *ls, FILE *out);

/* The grand totals, for tests and the CLI. */
struct mm_logstat_totals {
	uint64_t received, delivered, forwarded, deferred, deferrals, bounced, rejected,
		reject_warnings, held, discarded, expired, bytes_received, bytes_delivered,
		senders, sending_hosts, recipients, recipient_hosts, auth_failures, filter_hops,
		lines, unparsed_lines;
};
void mm_logstat_get_totals(const struct mm_logstat *ls, struct mm_logstat_totals *out);

#endif

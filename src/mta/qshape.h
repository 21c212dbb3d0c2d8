/*
 * qshape: the table of Postfix's qshape(1), computed from a queue
 * snapshot, plus mailmon's extra columns.
 *
 * Rows are destination domains (recipients) or sender domains (-s), with
 * a TOTAL row; cells count recipients (senders with -s) per age bucket.
 * Every rule follows /usr/sbin/qshape so the output matches cell for cell:
 *   - the domain is the address lowercased, up to the last '@' removed,
 *     ".." squeezed, one leading and one trailing dot removed; the null
 *     sender is MAILER-DAEMON;
 *   - bucket 1 is age < T minutes, then [T,2T), [2T,4T), ... (or linear
 *     with -l), the last bucket takes everything older; column 0 is the
 *     total;
 *   - -p also counts each parent domain (".example.com") and shows it when
 *     at least min_subdomains distinct children were counted;
 *   - rows sort by total (descending), then name length; equal rows sort
 *     by name (qshape leaves them in Perl hash order);
 *   - only messages with pending recipients are counted.
 * Extras: the oldest arrival and the delay-reason mix per row.
 *
 * Ownership: struct mm_qshape owns its rows; free with mm_qshape_free().
 */
#ifndef MAILMON_MTA_QSHAPE_H
#define MAILMON_MTA_QSHAPE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mta/mta.h"

struct mm_qshape_opts {
	bool senders;	  /* -s */
	bool parents;	  /* -p */
	bool linear;	  /* -l */
	int tick;	  /* -t minutes, default 5 */
	int nbuckets;	  /* -b, default 10 */
	int minsub;	  /* -m, default 5 */
	int width;	  /* terminal width, default 80 */
	size_t top;	  /* rows to show, TOTAL included (qshape -n); 0 = all */
	int64_t now_s;	  /* reference time */
};

struct mm_qshape_reason {
	uint8_t rclass;
	uint16_t code;
	uint64_t count;
};

struct mm_qshape_row {
	char *name;
	uint64_t *cells; /* nbuckets + 1: total, then buckets 1..nbuckets */
	int64_t oldest;	 /* arrival of the oldest message, INT64_MAX if none */
	uint64_t sub;	 /* -p: distinct children counted */
	struct mm_qshape_reason *reasons;
	size_t nreasons;
	bool shown;
};

struct mm_qshape {
	struct mm_qshape_opts opts;
	struct mm_qshape_row *rows; /* sorted; hidden parents have shown = false */
	size_t n, cap;
	void *index; /* build-time hash */
};

void mm_qshape_opts_default(struct mm_qshape_opts *o);
/* Counts the messages of snap in the queues of qmask. */
void mm_qshape_build(const struct mm_qsnap *snap, unsigned qmask, const struct mm_qshape_opts *o,
		     struct mm_qshape *out);
/* Prints qshape's table; extras add columns on the right. prev, when not
 * NULL, adds the change of each row's total since that table (-w). */
#define MM_QSHAPE_OLDEST 1u
#define MM_QSHAPE_REASONS 2u
void mm_qshape_print(FILE *out, const struct mm_qshape *t, unsigned extras,
		     const struct mm_qshape *prev);
json_t *mm_qshape_json(const struct mm_qshape *t);
/* The row called name, or NULL. */
const struct mm_qshape_row *mm_qshape_find(const struct mm_qshape *t, const char *name);
void mm_qshape_free(struct mm_qshape *t);

/* qshape's domain of an address, into buf. */
void mm_qshape_domain(const char *addr, char *buf, size_t cap);
/* qshape's bucket (1..nbuckets) for a message of that arrival. */
int mm_qshape_bucket(const struct mm_qshape_opts *o, int64_t arrival);
/* Formats an age in seconds as "3d4h", "2h13m", "5m12s", "40s". */
void mm_format_age(int64_t secs, char *buf, size_t cap);

#endif

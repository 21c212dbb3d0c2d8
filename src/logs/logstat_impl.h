/*
 * logstat_impl: the report's private state, shared by logstat.c (the
 * accounting: every event counted as pflogsumm counts it), logstat_json.c
 * and logstat_text.c (the two renderings). Nothing else includes it.
 *
 * Ownership: struct mm_logstat owns every table below (see logstat.h);
 * the renderers only read it, apart from mm_logstat_sort_dests.
 */
#ifndef MAILMON_LOGS_LOGSTAT_IMPL_H
#define MAILMON_LOGS_LOGSTAT_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/distinct.h"
#include "core/histo.h"
#include "core/tally.h"
#include "logs/filterhop.h"
#include "logs/logstat.h"

#define DEST_NAME_MAX 64
#define MAX_DAYS 3660
#define TOP_PER_DEST 5
#define APPROX_SLOTS 16384	  /* space-saving slots of a report-wide table */
#define APPROX_SLOTS_PER_DEST 32  /* ... of a per-destination reasons table */

enum { R_RCV, R_DLV, R_DFR, R_BNC, R_REJ, R__N }; /* per-day / per-hour columns */

struct dest {
	char name[DEST_NAME_MAX];
	uint64_t hash;
	uint64_t delivered, bytes, deferrals, bounced;
	double delay_sum, delay_max;
	struct mm_histo histo; /* delivered delays, ms */
	struct mm_tally defer_reasons, bounce_reasons;
};

#define REASON_MEMO 64	    /* remembered raw reason -> group key, a power of 2 */
#define REASON_MEMO_RAW 240 /* longer raw texts are grouped every time */

struct reason_memo {
	uint64_t hash;
	uint16_t raw_len, key_len;
	bool used;
	char raw[REASON_MEMO_RAW];
	char key[MM_TALLY_KEY];
};

struct day {
	int32_t ymd;
	uint64_t c[R__N];
};

struct mm_logstat {
	struct mm_logstat_opts o;
	struct mm_logpipe *pipe;
	struct mm_logstat_totals t;
	struct mm_distinct senders, sending_hosts, recipients, recipient_hosts, deferred_qids;
	/* destinations: open addressing over dests */
	struct dest *dests;
	size_t ndests, dests_cap;
	uint32_t *dindex; /* dest index + 1 */
	uint32_t dmask;
	uint64_t dests_overflow;
	struct day *days;
	size_t ndays, days_cap;
	size_t day_cur;
	uint64_t hours[24][R__N];
	int64_t hour_lo, hour_hi; /* cached local hour [lo, hi) */
	int cur_hour;
	int32_t cur_ymd;
	struct mm_tally_budget budget; /* every tally's exact-mode memory */
	struct reason_memo memo[REASON_MEMO];
	struct mm_filterhop hops; /* re-injections from a content filter */
	const char *nohdr_cause;  /* why the current line had no header (static text) */
	struct mm_tally reject_reasons, reject_clients, warnings, unparsed_programs, auth_clients;
	struct mm_tally postscreen; /* verdicts (PASS NEW, PREGREET, DNSBL rank, ...) */
	/* Dovecot: logins and failures as the login processes report them */
	struct {
		uint64_t logins, failed_attempts, failed_connections, aborted, lmtp_saved,
			lmtp_failed;
		struct mm_tally by_protocol, failed_users, failed_ips;
	} dv;
	uint64_t capped_lines;
	uint64_t domains_cut; /* domains longer than a destination name slot */
	int64_t first_ms, last_ms;
};

/* Orders the destinations by volume (delivered + deferrals + bounced,
 * then name) for the renderings, and rebuilds the index that the move
 * invalidates. */
void mm_logstat_sort_dests(struct mm_logstat *ls);

#endif

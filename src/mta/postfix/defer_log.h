/*
 * defer_log: parser for Postfix's per-message delay logs (QUEUE/defer/ID).
 *
 * The bounce daemon appends one entry per delayed recipient, as
 * "name=value" lines ended by an empty line:
 *     recipient=u1@dead.test
 *     offset=641
 *     dsn_orig_rcpt=rfc822;u1@dead.test
 *     status=4.4.1
 *     action=delayed
 *     reason=connect to 127.0.0.1[127.0.0.1]:58235: Connection refused
 * Old logs (Postfix < 2.3) have "<rcpt>: reason" lines instead; both are
 * read. A later entry for the same recipient supersedes an earlier one.
 *
 *   mm_pf_defer_parse(text, len, d)   fills d; never fails on input: lines
 *                                     over MM_PF_DEFER_MAX_LINE are counted
 *                                     in d->oversize and skipped
 *   mm_pf_defer_find(d, rcpt)         the newest entry for rcpt (exact, then
 *                                     case-insensitive), or NULL
 *
 * Ownership: d owns a copy of the text; reuse it (parse resets) and free
 * with mm_pf_defer_free(). Callers cap len (the scanner reads at most
 * MM_PF_DEFER_MAX_BYTES).
 */
#ifndef MAILMON_MTA_POSTFIX_DEFER_LOG_H
#define MAILMON_MTA_POSTFIX_DEFER_LOG_H

#include <stddef.h>
#include <stdint.h>

#define MM_PF_DEFER_MAX_LINE 8192
#define MM_PF_DEFER_MAX_BYTES (1024 * 1024)

struct mm_pf_defer_ent {
	const char *rcpt;
	const char *status; /* "4.4.1" or NULL */
	const char *reason; /* NULL when the entry had none */
};

struct mm_pf_defer {
	struct mm_pf_defer_ent *e;
	size_t n, cap;
	char *text;
	size_t tcap;
	uint64_t oversize;
};

void mm_pf_defer_parse(const char *text, size_t len, struct mm_pf_defer *d);
const struct mm_pf_defer_ent *mm_pf_defer_find(const struct mm_pf_defer *d, const char *rcpt);
void mm_pf_defer_free(struct mm_pf_defer *d);

#endif

/*
 * repeat: log a repeating error once, then once per window with a count.
 *
 * An error that recurs every cycle ("positions not saved", accept failing
 * with EMFILE) must not fill the log. The caller keeps one struct
 * mm_repeat per error kind, asks mm_repeat_due() each time the error
 * happens, and logs only when it says so, adding the number of times the
 * error was suppressed since the last report. mm_repeat_clear() is called
 * when the error stops, so the next occurrence is reported at once and
 * the recovery can be logged. No allocation; no clock of its own.
 */
#ifndef MAILMON_CORE_REPEAT_H
#define MAILMON_CORE_REPEAT_H

#include <stdbool.h>
#include <stdint.h>

struct mm_repeat {
	int64_t window_ms;   /* least time between two reports (0: 60 s) */
	int64_t last_ms;     /* when last reported; 0: never */
	uint64_t suppressed; /* occurrences since then, not reported */
	uint64_t total;      /* occurrences since the last clear */
};

/* Records one occurrence at now_ms. Returns true when it should be
 * reported now; then *suppressed (if not NULL) is the number of
 * occurrences dropped since the previous report, and the count restarts. */
bool mm_repeat_due(struct mm_repeat *r, int64_t now_ms, uint64_t *suppressed);
/* The error stopped. Returns the number of occurrences since it started
 * (0: it was not active), for a "recovered after N failures" line. */
uint64_t mm_repeat_clear(struct mm_repeat *r);

#endif

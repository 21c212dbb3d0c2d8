/*
 * consumer: the narrow interface through which the daemon's log sources
 * hand lines to whatever consumes them (parser -> lifecycle -> counters),
 * and the contract that keeps "nothing counted twice, nothing skipped".
 *
 * The daemon (src/daemon/logwatch.c) reads lines from every source and
 * calls line() for each, in order per source. About once a second, and
 * at a clean stop, it saves the source positions; before that it calls
 * flush(), which must make the effect of every line delivered so far
 * durable (e.g. msync the counters file). If flush() fails, positions are
 * not saved this time, so a crash re-delivers rather than skips.
 *
 * After a clean stop nothing is delivered twice. After a crash (kill -9)
 * the lines between the last saved position and the crash are delivered
 * again; a consumer whose state lives outside the state file (a counters
 * file updated in place) would count them twice. To be exact across a
 * crash too, a consumer implements checkpoint()/restore(): checkpoint()
 * returns a text snapshot of its state that is written in the same
 * atomic rename as the positions, and restore() gets the last saved one
 * back at start, before the first line, so state and positions always
 * match. (The daemon's own per-source line counts work this way.)
 *
 * Ownership: the consumer owns arg; logwatch calls free(arg) once at
 * stop. checkpoint() returns a heap string that logwatch frees.
 */
#ifndef MAILMON_SOURCES_CONSUMER_H
#define MAILMON_SOURCES_CONSUMER_H

#include <stddef.h>

#include "core/err.h"

struct mm_line_consumer {
	const char *name; /* for /api/logs: "count", "counters", ... */
	/* One complete line (no newline, not NUL-terminated) from source
	 * number src, in the order of [log] sources. Never fails: a line the
	 * consumer cannot use is counted by it. */
	void (*line)(void *arg, unsigned src, const char *line, size_t len);
	/* Optional: make the effect of every delivered line durable. */
	int (*flush)(void *arg, struct mm_err *err);
	/* Optional: a snapshot saved atomically with the positions (text
	 * without NUL; any bytes otherwise). NULL: nothing to save. */
	char *(*checkpoint)(void *arg);
	/* Optional: the last saved snapshot, once, before any line. */
	int (*restore)(void *arg, const char *text, struct mm_err *err);
	/* Optional: release arg. */
	void (*free)(void *arg);
	void *arg;
};

#endif

/*
 * runcmd: run a program as an argv (no shell), stream its standard output
 * to a callback, and bound it in time and in bytes.
 *
 *   mm_runcmd(argv, timeout_ms, max_bytes, on_data, arg, &res, err)
 *
 * The child gets /dev/null as stdin; its stderr is kept (first 1 KiB) for
 * the error message. When the deadline passes or more than max_bytes
 * arrive, the child is killed (SIGKILL) and the result says why; the
 * bytes already delivered stay delivered.
 *
 * Errors: -1 with err when the program cannot be started, timed out, was
 * cut at max_bytes, died of a signal or exited non-zero (err then carries
 * its stderr). The callback may stop the run by returning -1.
 * Ownership: nothing is kept after return.
 */
#ifndef MAILMON_CORE_RUNCMD_H
#define MAILMON_CORE_RUNCMD_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct mm_runcmd_result {
	int exit_status;	/* exit code, or -1 when killed */
	int term_signal;	/* signal that ended it, or 0 */
	int timed_out;
	int capped;		/* output exceeded max_bytes */
	uint64_t bytes;		/* stdout bytes delivered to on_data */
	int64_t elapsed_ms;
};

typedef int mm_runcmd_data_fn(void *arg, const char *buf, size_t len);

int mm_runcmd(char *const argv[], int64_t timeout_ms, uint64_t max_bytes,
	      mm_runcmd_data_fn *on_data, void *arg, struct mm_runcmd_result *res,
	      struct mm_err *err);

#endif

/*
 * command: run a service's restart/start/stop command without blocking
 * the loop.
 *
 * The command line is split into argv on blanks, with '...' and "..."
 * grouping and backslash escapes, and executed directly (execvp): no
 * shell, so no expansion or injection, unless the caller asks for
 * /bin/sh -c explicitly. The child runs in its own session with stdin,
 * stdout and stderr on /dev/null and no inherited descriptors. It is
 * reaped from the loop (a short poll timer with waitpid WNOHANG); past
 * its timeout its process group gets SIGKILL. Daemons it starts leave the
 * group by themselves (setsid) and are not touched.
 *
 * Ownership: the runner owns the struct mm_cmd and frees it after calling
 * the callback, which is called exactly once, from the loop.
 * mm_cmd_cancel() kills the child's group, reaps later, and never calls
 * the callback.
 */
#ifndef MAILMON_SERVICES_COMMAND_H
#define MAILMON_SERVICES_COMMAND_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct event_base;
struct mm_cmd;

struct mm_cmd_result {
	int exit_code;	/* -1 if killed by a signal */
	int signal;
	bool timed_out;
	int64_t ms;
};

typedef void mm_cmd_fn(const struct mm_cmd_result *res, void *arg);

/* Splits line into a NULL-terminated argv (one heap block; free(argv)). */
char **mm_cmd_split(const char *line, struct mm_err *err);
struct mm_cmd *mm_cmd_run(struct event_base *base, const char *line, bool shell,
			  int64_t timeout_ms, mm_cmd_fn *cb, void *arg, struct mm_err *err);
void mm_cmd_cancel(struct mm_cmd *c);
/* "exit 0", "exit 3", "killed by signal 9", "timed out after 60000 ms". */
void mm_cmd_describe(const struct mm_cmd_result *res, char *buf, unsigned cap);

#endif

/*
 * childproc: the one way mailmon runs another program. An argv (no
 * shell), an environment, a timeout, a cap on the output, the exit
 * status, and a completion callback called from the libevent loop:
 * service restart commands, `postqueue -j`, `postconf`, and the alarm
 * exec and partition-lock hooks all go through here.
 *
 *   mm_child_start(base, params, done, arg, err)
 *       spawns the program and returns at once; done(res, arg) is called
 *       exactly once, from the loop, when the child has exited and its
 *       output is read. NULL with err when it cannot be started (no such
 *       program, not executable, no pipes or processes left).
 *   mm_child_cancel(c)
 *       kills the child's process group, reaps it, never calls done.
 *   mm_child_run(params, res, err)
 *       the same, blocking, on a private event base: for the CLI and for
 *       the queue-scan worker thread. -1 with err unless the program ran
 *       to exit status 0 (err then says: timed out, output over the cap,
 *       stopped by the reader, killed by a signal, exit status N, with
 *       the first line(s) of its stderr).
 *   mm_child_describe(res, buf, cap)
 *       "exit 0 after 12 ms", "exit 3 after 40 ms: no such unit",
 *       "timed out after 5000 ms, killed", "killed by signal 9".
 *
 * The child: posix_spawnp (argv[0] without a '/' is looked up in PATH),
 * its own session and process group (so a timeout kills what it forked;
 * a daemon it starts leaves the group by itself and is not touched),
 * every signal at its default and none blocked, stdin on /dev/null, no
 * descriptor but 0-2 inherited. stdout goes to on_data (streamed), to
 * res->out (kept, with capture), or to /dev/null; stderr is kept (first
 * MM_CHILD_STDERR_KEEP bytes) only with keep_stderr, else /dev/null, so a
 * daemon started by a restart command never writes into a closed pipe.
 *
 * Bounds: past timeout_ms the group gets SIGKILL (res->timed_out); more
 * than max_output stdout bytes kill it too (res->capped), as does
 * on_data returning -1 (res->stopped). The exit is seen through a pidfd
 * (no SIGCHLD handler, any number of event bases), checked again every
 * 250 ms in case the loop lost that fd's registration; what the child wrote
 * before it exited is read to the end, and output a grandchild keeps
 * writing after that is not waited for.
 *
 * Ownership: the params (argv, envp) are used only during the call that
 * takes them. The runner owns the struct mm_child and frees it after
 * done returns; res and its out/err strings are valid only inside done.
 * done may start other children but must not cancel its own.
 */
#ifndef MAILMON_CORE_CHILDPROC_H
#define MAILMON_CORE_CHILDPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MM_CHILD_STDERR_KEEP 1024

struct event_base;
struct mm_child;

/* Streams stdout; return -1 to stop the child (it is killed). */
typedef int mm_child_data_fn(void *arg, const char *buf, size_t len);

struct mm_child_params {
	char *const *argv;	   /* argv[0]: a path, or a name looked up in PATH */
	char *const *envp;	   /* NULL: the caller's environment */
	int64_t timeout_ms;	   /* <= 0: 60 s */
	uint64_t max_output;	   /* stdout bytes before the child is killed; 0: 1 MiB */
	bool capture;		   /* keep stdout in res->out */
	bool keep_stderr;	   /* keep the head of stderr in res->err */
	mm_child_data_fn *on_data; /* or stream stdout here */
	void *data_arg;
};

struct mm_child_result {
	int exit_code;	     /* exit status, or -1 when a signal ended it */
	int signal;	     /* the signal that ended it, or 0 */
	bool timed_out;	     /* killed at the deadline */
	bool capped;	     /* killed for writing more than max_output */
	bool stopped;	     /* killed because on_data returned -1 */
	int64_t ms;	     /* from spawn to exit */
	uint64_t out_bytes;  /* stdout bytes read (delivered or kept) */
	const char *out;     /* with capture: stdout, NUL-terminated; else "" */
	size_t out_len;
	const char *err;     /* with keep_stderr: its head, newlines folded; else "" */
};

typedef void mm_child_done_fn(const struct mm_child_result *res, void *arg);

struct mm_child *mm_child_start(struct event_base *base, const struct mm_child_params *p,
				mm_child_done_fn *done, void *arg, struct mm_err *err);
void mm_child_cancel(struct mm_child *c);
int mm_child_run(const struct mm_child_params *p, struct mm_child_result *res,
		 struct mm_err *err);
void mm_child_describe(const struct mm_child_result *res, char *buf, size_t cap);

#endif

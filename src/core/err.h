/*
 * err: the small error value every fallible mailmon function fills in.
 *
 * Functions return -1 (or NULL) and describe the problem in a caller-owned
 * struct mm_err; only the program edges (CLI, daemon log) print it. The
 * message is complete on its own: it names the file, line, key or peer.
 */
#ifndef MAILMON_CORE_ERR_H
#define MAILMON_CORE_ERR_H

#define MM_ERR_MAX 512

struct mm_err {
	char msg[MM_ERR_MAX];
};

/* Formats into err (if not NULL) and returns -1, so callers can write
 * `return mm_err_set(err, "...")`. */
int mm_err_set(struct mm_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Like mm_err_set, appending ": strerror(errno_value)". */
int mm_err_sys(struct mm_err *err, int errno_value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* True for an errno that means this process ran out of something (file
 * descriptors, memory, buffers): EMFILE, ENFILE, ENOMEM, ENOBUFS. Such a
 * failure says nothing about the file, peer or process being looked at,
 * and must never be blamed on it. */
#include <stdbool.h>
bool mm_errno_exhausted(int e);
/* True when this process cannot open one more file right now (a probe of
 * /dev/null failing with one of the errors above). */
bool mm_fds_exhausted(void);

#endif

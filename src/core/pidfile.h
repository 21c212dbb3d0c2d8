/*
 * pidfile: write, check and remove a daemon pid file.
 *
 * The file is created with O_EXCL after checking that any existing file
 * names a dead process, so two mailmond instances cannot share one file.
 */
#ifndef MAILMON_CORE_PIDFILE_H
#define MAILMON_CORE_PIDFILE_H

#include <sys/types.h>

#include "core/err.h"

/* Writes our pid to path. Fails if a live process holds it. */
int mm_pidfile_write(const char *path, struct mm_err *err);
/* Reads the pid in path; returns 0 and sets *pid, or -1 with err. */
int mm_pidfile_read(const char *path, pid_t *pid, struct mm_err *err);
/* True if pid is a running (not zombie) process. */
int mm_pid_alive(pid_t pid);
void mm_pidfile_remove(const char *path);

#endif

/*
 * isolate_rewrite: has this Postfix instance's trivial-rewrite picked up
 * mailmond's rebuilt transport map? (daemon/isolate.c, docs/cluster.md
 * "Isolation".) trivial-rewrite reopens a changed map by restarting, but
 * only when it next accepts a client; so mailmond looks whether every
 * trivial-rewrite child of the instance's master started after the map
 * was rebuilt.
 *
 *   mm_isolate_boot_ticks()
 *       now, in clock ticks since boot (the unit of the start time in
 *       /proc/PID/stat)
 *   mm_isolate_rewrite_check(d, qdir, since, out, err)
 *       0 with out filled: total trivial-rewrite children of the master
 *       whose pid is in QDIR/pid/master.pid, stale of them started before
 *       since, and the oldest stale one (pid, seconds it has run, seconds
 *       it started before since); -1 with err when the master cannot be
 *       found. Separated, the pid file (root's, mode 0600) is read through
 *       the root opener (privsep.h), which knows the queue directory
 *       itself; qdir may then be NULL.
 *
 * Reads /proc and one pid file; keeps nothing.
 */
#ifndef MAILMON_DAEMON_ISOLATE_REWRITE_H
#define MAILMON_DAEMON_ISOLATE_REWRITE_H

#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

struct mm_daemon;

struct mm_rewrite_check {
	pid_t master;
	int total, stale;
	pid_t pid;	  /* the oldest stale one */
	int64_t age_s;	  /* how long it has run */
	int64_t before_s; /* how long before the map change it started */
};

uint64_t mm_isolate_boot_ticks(void);
int mm_isolate_rewrite_check(struct mm_daemon *d, const char *qdir, uint64_t since,
			     struct mm_rewrite_check *out, struct mm_err *err);

#endif

/*
 * proc: process checks from /proc, for the service watcher.
 *
 * A service's processes are found by pidfile (that pid, plus its children
 * as workers) or by name (/proc/PID/comm) with an optional extended regex
 * on the command line. A zombie (state Z or X in /proc/PID/stat) is dead:
 * exited daemons stay visible for a moment until they are reaped.
 *
 * A name match can be limited to the children of the pid in a parent
 * pidfile (mm_proc_match_parent): Postfix's qmgr of one instance is the
 * master's child named "qmgr", and every instance's qmgr has that name.
 *
 * Per scan: the count of matching processes, how many of them are
 * stopped (state T or t: kill -STOP, a debugger), the first such pid, their summed RSS, CPU% since
 * the previous scan of the same match (utime+stime deltas), and the age
 * of the oldest worker (the seed's MAX_LIFE_TIME concern).
 *
 * Races are normal: a process gone between readdir and open is skipped.
 * Ownership: struct mm_proc_match owns its compiled regex; free it with
 * mm_proc_match_free().
 */
#ifndef MAILMON_SERVICES_PROC_H
#define MAILMON_SERVICES_PROC_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

struct mm_proc_match {
	char pidfile[512];
	char name[32];
	bool has_re;
	regex_t re;
	char re_src[256]; /* the regex as configured, for status */
	char parent_pidfile[512]; /* name matches: only this pid's children */
	/* previous scan, for CPU% */
	uint64_t prev_ticks;
	int64_t prev_mono_ms;
};

struct mm_proc_stats {
	int count;		 /* matching processes (pidfile: 0 or 1) */
	pid_t main_pid;		 /* pidfile's pid or the oldest match */
	int workers;		 /* children of the pidfile's process */
	uint64_t rss_bytes;	 /* summed over matches and workers */
	double cpu_pct;		 /* of one core, since the previous scan; -1 first time */
	int64_t oldest_age_s;	 /* oldest worker (pidfile) or match (name) */
	pid_t oldest_pid;
	int stopped;		 /* matches in state T or t */
	pid_t stopped_pid;	 /* one of them */
	char detail[600];	 /* "pid 123 from X is not running" */
	bool exhausted;		 /* the scan itself failed for lack of fds or
				    memory: count and detail mean nothing */
};

/* name and cmdline_re may be NULL/empty; pidfile takes precedence for
 * the count. Returns -1 with err on a bad regex or an empty match. */
int mm_proc_match_init(struct mm_proc_match *m, const char *pidfile, const char *name,
		       const char *cmdline_re, struct mm_err *err);
void mm_proc_match_free(struct mm_proc_match *m);
/* Limits name/cmdline matches to children of the pid in parent_pidfile
 * (NULL or "": no limit). Without a readable parent nothing matches. */
void mm_proc_match_parent(struct mm_proc_match *m, const char *parent_pidfile);
/* Scans proc_root ("/proc", or a test tree). Never fails: what cannot be
 * read is skipped, except when reading failed for lack of fds or memory
 * on our side: then out->exhausted is set, so a process is never taken
 * for gone because mailmond could not look. */
void mm_proc_scan(struct mm_proc_match *m, const char *proc_root, int64_t mono_ms,
		  struct mm_proc_stats *out);

/* /proc/PID/stat fields we use; false when gone or unparsable. */
struct mm_proc_stat {
	char state;
	pid_t ppid;
	uint64_t utime, stime, starttime; /* clock ticks */
	uint64_t rss_pages;
	char comm[32];
};
bool mm_proc_read_stat(const char *proc_root, pid_t pid, struct mm_proc_stat *st);

/* The live children of parent whose comm is name: at most cap of them
 * into pids/starts (start time in clock ticks since boot, as in
 * /proc/PID/stat); returns how many there are (may exceed cap), or -1
 * when proc_root cannot be listed (errno set). */
int mm_proc_children(const char *proc_root, pid_t parent, const char *name, pid_t *pids,
		     uint64_t *starts, size_t cap);

#endif

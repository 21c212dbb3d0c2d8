/*
 * disk: free space of the mail partitions, measured off the event loop,
 * and the rules that decide how often to look and when to lock a
 * partition (the seed's store daemon, Messaging Server 27.3.2).
 *
 *   mm_disk_stat_start(path)       runs statvfs(path) in a detached
 *                                  thread; returns a job the loop polls
 *   mm_disk_stat_poll(job, &res)   1 when the answer is there
 *   mm_disk_stat_drop(job)         the loop's reference goes; a thread
 *                                  stuck in statvfs (a hung NFS mount)
 *                                  frees the job when it returns, so the
 *                                  loop never waits for it
 *
 *   mm_disk_interval(used, near, min, max)
 *       the adaptive check interval: max (the seed's 100 minutes) when
 *       use is 30 points or more below `near`, min (a minute) at or past
 *       it, linear in between
 *   mm_disk_lock_decide(locked, used, threshold, hysteresis)
 *       MM_DISK_LOCK when unlocked and used >= threshold, MM_DISK_UNLOCK
 *       when locked and used < threshold - hysteresis, else MM_DISK_KEEP
 *
 * Percentages are of the space an unprivileged writer can use
 * (f_bavail), as df shows them.
 * Ownership: a job is shared by the loop and its thread (reference
 * counted); each side drops its own reference.
 */
#ifndef MAILMON_HOST_DISK_H
#define MAILMON_HOST_DISK_H

#include <stdbool.h>
#include <stdint.h>

struct mm_disk_stat {
	int err;		/* errno of statvfs, 0 when it worked */
	uint64_t size_bytes;	/* f_blocks * f_frsize */
	uint64_t avail_bytes;	/* f_bavail * f_frsize */
	uint64_t inodes, inodes_avail;
	double avail_percent;	/* avail / (used + avail), as df */
	double used_percent;
	double inodes_avail_percent;
};

struct mm_disk_job;

struct mm_disk_job *mm_disk_stat_start(const char *path);
int mm_disk_stat_poll(struct mm_disk_job *job, struct mm_disk_stat *out);
void mm_disk_stat_drop(struct mm_disk_job *job);

int64_t mm_disk_interval(double used_percent, double near_percent, int64_t min_ms,
			 int64_t max_ms);

enum mm_disk_lock_action { MM_DISK_KEEP, MM_DISK_LOCK, MM_DISK_UNLOCK };
enum mm_disk_lock_action mm_disk_lock_decide(bool locked, double used_percent,
					     double threshold, double hysteresis);

#endif

/*
 * disk: statvfs in a thread, the adaptive interval and the lock rule
 * (see disk.h).
 */
#include "host/disk.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "core/xalloc.h"

struct mm_disk_job {
	pthread_mutex_t mu;
	int refs;
	bool done;
	struct mm_disk_stat res;
	char path[];
};

static void job_unref(struct mm_disk_job *j)
{
	pthread_mutex_lock(&j->mu);
	int left = --j->refs;
	pthread_mutex_unlock(&j->mu);
	if (left == 0) {
		pthread_mutex_destroy(&j->mu);
		free(j);
	}
}

static void fill(struct mm_disk_stat *r, const struct statvfs *st)
{
	uint64_t fr = st->f_frsize ? st->f_frsize : st->f_bsize;
	r->size_bytes = (uint64_t)st->f_blocks * fr;
	r->avail_bytes = (uint64_t)st->f_bavail * fr;
	uint64_t used = (uint64_t)(st->f_blocks - st->f_bfree) * fr;
	uint64_t usable = used + r->avail_bytes;
	r->avail_percent = usable ? 100.0 * (double)r->avail_bytes / (double)usable : 100.0;
	r->used_percent = 100.0 - r->avail_percent;
	r->inodes = st->f_files;
	r->inodes_avail = st->f_favail;
	r->inodes_avail_percent =
		st->f_files ? 100.0 * (double)st->f_favail / (double)st->f_files : 100.0;
}

static void *run(void *arg)
{
	struct mm_disk_job *j = arg;
	struct statvfs st;
	struct mm_disk_stat r;
	memset(&r, 0, sizeof r);
	if (statvfs(j->path, &st) < 0)
		r.err = errno ? errno : EIO;
	else
		fill(&r, &st);
	pthread_mutex_lock(&j->mu);
	j->res = r;
	j->done = true;
	pthread_mutex_unlock(&j->mu);
	job_unref(j);
	return NULL;
}

struct mm_disk_job *mm_disk_stat_start(const char *path)
{
	size_t n = strlen(path) + 1;
	struct mm_disk_job *j = xcalloc(1, sizeof *j + n);
	memcpy(j->path, path, n);
	pthread_mutex_init(&j->mu, NULL);
	j->refs = 2;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 << 10);
	pthread_t t;
	int rc = pthread_create(&t, &attr, run, j);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		j->res.err = rc;
		j->done = true;
		j->refs = 1;
	}
	return j;
}

int mm_disk_stat_poll(struct mm_disk_job *j, struct mm_disk_stat *out)
{
	pthread_mutex_lock(&j->mu);
	bool done = j->done;
	if (done)
		*out = j->res;
	pthread_mutex_unlock(&j->mu);
	return done ? 1 : 0;
}

void mm_disk_stat_drop(struct mm_disk_job *j)
{
	if (j)
		job_unref(j);
}

int64_t mm_disk_interval(double used, double near, int64_t min_ms, int64_t max_ms)
{
	double gap = near - used;
	if (gap <= 0)
		return min_ms;
	if (gap >= 30)
		return max_ms;
	return min_ms + (int64_t)((double)(max_ms - min_ms) * gap / 30.0);
}

enum mm_disk_lock_action mm_disk_lock_decide(bool locked, double used, double threshold,
					     double hysteresis)
{
	if (!locked && used >= threshold)
		return MM_DISK_LOCK;
	if (locked && used < threshold - hysteresis)
		return MM_DISK_UNLOCK;
	return MM_DISK_KEEP;
}

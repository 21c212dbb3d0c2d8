/*
 * counters_file: the memory-mapped channel counters (see counters_file.h).
 *
 * Creation writes a fresh file beside the target and renames it over, so a
 * reader maps either the old file or the complete new one. The writer's
 * flock keeps two writers apart; readers only mmap and read.
 *
 * Others may share the run directory, so: the temporary file is created
 * with O_EXCL|O_NOFOLLOW (no planted link is followed), the file is 0640
 * (reject texts and addresses: group readers only), its space is
 * reserved with posix_fallocate before anything maps it (a full
 * filesystem is an error at creation, not a SIGBUS later), opening does
 * not follow a link nor hang on a FIFO, and every mapping is guarded
 * (core/mapguard): a file truncated under us reads as zeros until the
 * writer notices (mm_cfile_damaged) and replaces it.
 */
#include "logs/counters_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/mapguard.h"
#include "core/xalloc.h"

const char *const mm_cg_field_names[MM_CG__COUNT] = {
	[MM_CG_RECEIVED] = "received",
	[MM_CG_REJECTED] = "rejected",
	[MM_CG_STORED] = "stored",
	[MM_CG_DELIVERED] = "delivered",
	[MM_CG_DELIVERED_FIRST] = "delivered_first",
	[MM_CG_SUBMITTED] = "submitted",
	[MM_CG_ATTEMPTED] = "attempted",
	[MM_CG_FAILED] = "failed",
	[MM_CG_RCPT_DELIVERED] = "recipients_delivered",
	[MM_CG_RCPT_FAILED] = "recipients_failed",
	[MM_CG_VOLUME_RECEIVED] = "volume_received",
	[MM_CG_VOLUME_DELIVERED] = "volume_delivered",
	[MM_CG_QTIME_SUM_MS] = "queue_time_sum_ms",
	[MM_CG_QTIME_COUNT] = "queue_time_count",
	[MM_CG_QFIRST_SUM_MS] = "queue_first_time_sum_ms",
	[MM_CG_QFIRST_COUNT] = "queue_first_time_count",
	[MM_CG_IN_ASSOC] = "inbound_associations",
	[MM_CG_IN_ASSOC_TOTAL] = "inbound_associations_total",
	[MM_CG_IN_ASSOC_REJECTED] = "inbound_associations_rejected",
	[MM_CG_OUT_ASSOC] = "outbound_associations",
	[MM_CG_OUT_ASSOC_TOTAL] = "outbound_associations_total",
	[MM_CG_OUT_ASSOC_FAILED] = "outbound_associations_failed",
	[MM_CG_LAST_IN_MS] = "last_inbound_ms",
	[MM_CG_LAST_OUT_MS] = "last_outbound_ms",
	[MM_CG_QSTORED_MSGS] = "queue_stored_messages",
	[MM_CG_QSTORED_RCPTS] = "queue_stored_recipients",
	[MM_CG_QSTORED_VOLUME] = "queue_stored_volume",
	[MM_CG_QOLDEST_S] = "queue_oldest_s",
	[MM_CG_LOGINS_GOOD] = "logins_good",
	[MM_CG_LOGINS_FAILED] = "logins_failed",
	[MM_CG_LOGIN_CONNS] = "login_connections",
};

char *mm_cfile_path_from_config(const struct mm_config *conf)
{
	const char *f = mm_config_get(conf, "counters", "file");
	if (f && *f)
		return xstrdup(f);
	const char *run = mm_config_get(conf, "daemon", "run_directory");
	return xasprintf("%s/counters", run ? run : "/run/mailmon");
}

static size_t file_size_for(uint32_t max_groups)
{
	return sizeof(struct mm_cf_header) + (size_t)max_groups * sizeof(struct mm_cf_group);
}

static void init_header(struct mm_cf_header *h, uint32_t max_groups)
{
	memset(h, 0, sizeof *h);
	memcpy(h->magic, MM_CF_MAGIC, 8);
	h->bom = MM_CF_BOM;
	h->version = MM_CF_VERSION;
	h->header_size = sizeof(struct mm_cf_header);
	h->group_size = sizeof(struct mm_cf_group);
	h->max_groups = max_groups;
	h->nfields = MM_CF_NFIELDS;
	h->file_size = file_size_for(max_groups);
	h->created_ms = mm_wall_ms();
	atomic_store(&h->cleared_ms, h->created_ms);
}

/* Checks a mapped header against the file size; the message says what is
 * wrong and how to fix it. */
static int check_header(const struct mm_cf_header *h, size_t size, const char *path,
			struct mm_err *err)
{
	if (size < sizeof *h || memcmp(h->magic, MM_CF_MAGIC, 8) != 0)
		return mm_err_set(err, "%s: not a mailmon counters file (bad magic); "
				       "recreate it with mailmon counters -create", path);
	if (h->bom != MM_CF_BOM)
		return mm_err_set(err, "%s: counters file from a machine of another byte "
				       "order; recreate it with mailmon counters -create", path);
	if (h->version != MM_CF_VERSION)
		return mm_err_set(err, "%s: counters file version %u, this mailmon reads "
				       "version %u; recreate it with mailmon counters -create",
				  path, h->version, MM_CF_VERSION);
	if (h->header_size != sizeof *h || h->group_size != sizeof(struct mm_cf_group) ||
	    h->nfields != MM_CF_NFIELDS || h->max_groups == 0 ||
	    h->max_groups > MM_CF_MAX_GROUPS || h->file_size != file_size_for(h->max_groups) ||
	    h->file_size != size || atomic_load(&h->ngroups) > h->max_groups)
		return mm_err_set(err, "%s: corrupt counters file (inconsistent sizes); "
				       "recreate it with mailmon counters -create", path);
	return 0;
}

int mm_cfile_create(const char *path, uint32_t max_groups, struct mm_err *err)
{
	if (max_groups < 2 || max_groups > MM_CF_MAX_GROUPS)
		return mm_err_set(err, "%s: group count %u out of range 2..%u", path, max_groups,
				  MM_CF_MAX_GROUPS);
	/* Refuse while a writer holds the current file. */
	int old = open(path, O_RDONLY | O_CLOEXEC);
	if (old >= 0) {
		if (flock(old, LOCK_EX | LOCK_NB) < 0) {
			close(old);
			return mm_err_set(err, "%s: in use by a running mailmond; stop it, or use "
					       "-clear to zero the counters", path);
		}
		close(old);
	}
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int rc = -1;
	const int flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	unlink(tmp); /* our own leftover; never a link's target */
	int fd = open(tmp, flags, 0640);
	if (fd < 0 && errno == ENOENT) {
		/* The run directory (/run/mailmon) is a tmpfs dir: make it. */
		char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			if (mkdir(dir, 0750) == 0)
				fd = open(tmp, flags, 0640);
		}
		free(dir);
	}
	if (fd < 0) {
		mm_err_sys(err, errno, "%s: cannot create", tmp);
		goto out;
	}
	size_t size = file_size_for(max_groups);
	struct mm_cf_header h;
	init_header(&h, max_groups);
	int e = fchmod(fd, 0640) < 0 ? errno : posix_fallocate(fd, 0, (off_t)size);
	if (e) {
		mm_err_sys(err, e, "%s: cannot reserve %zu bytes", tmp, size);
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
		mm_err_sys(err, errno, "%s: cannot write", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		mm_err_sys(err, errno, "%s: cannot rename into place", path);
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	return rc;
}

/* Opens and validates; *corrupt (if not NULL) tells a damaged or foreign
 * file apart from one that cannot be opened or is locked. */
static struct mm_cfile *open_file(const char *path, bool writer, bool *corrupt,
				  struct mm_err *err)
{
	bool dummy;
	if (!corrupt)
		corrupt = &dummy;
	*corrupt = false;
	int fd = open(path, (writer ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
				    O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			mm_err_set(err, "%s: no counters file; create it with mailmon counters "
					"-create (mailmond creates it when it starts)", path);
		else
			mm_err_sys(err, errno, "%s: cannot open", path);
		return NULL;
	}
	if (writer && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		mm_err_set(err, "%s: another mailmond already updates this counters file", path);
		close(fd);
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		mm_err_set(err, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_size < (off_t)sizeof(struct mm_cf_header) ||
	    st.st_size > (off_t)file_size_for(MM_CF_MAX_GROUPS)) {
		*corrupt = true;
		mm_err_set(err, "%s: not a mailmon counters file (size %lld); recreate it with "
				"mailmon counters -create", path, (long long)st.st_size);
		close(fd);
		return NULL;
	}
	/* Readers map read-only: -show cannot damage the file. -clear without a
	 * writer reopens as writer. */
	void *map = mmap(NULL, (size_t)st.st_size, writer ? PROT_READ | PROT_WRITE : PROT_READ,
			 MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		mm_err_sys(err, errno, "%s: cannot map", path);
		close(fd);
		return NULL;
	}
	/* Guarded before the first access: the header check reads it. */
	if (mm_mapguard_add(map, (size_t)st.st_size) < 0) {
		mm_err_set(err, "%s: too many mapped counters files", path);
		munmap(map, (size_t)st.st_size);
		close(fd);
		return NULL;
	}
	if (check_header(map, (size_t)st.st_size, path, err) < 0 || mm_mapguard_hit(map)) {
		if (mm_mapguard_hit(map))
			mm_err_set(err, "%s: truncated while being read", path);
		*corrupt = true;
		mm_mapguard_remove(map);
		munmap(map, (size_t)st.st_size);
		close(fd);
		return NULL;
	}
	struct mm_cfile *cf = xcalloc(1, sizeof *cf);
	cf->path = xstrdup(path);
	cf->fd = fd;
	cf->writer = writer;
	cf->hdr = map;
	cf->groups = (struct mm_cf_group *)((char *)map + sizeof(struct mm_cf_header));
	cf->map_size = (size_t)st.st_size;
	cf->ino = (uint64_t)st.st_ino;
	cf->dev = (uint64_t)st.st_dev;
	if (writer)
		atomic_store(&cf->hdr->writer_pid, (int32_t)getpid());
	return cf;
}

struct mm_cfile *mm_cfile_open(const char *path, bool writer, struct mm_err *err)
{
	return open_file(path, writer, NULL, err);
}

struct mm_cfile *mm_cfile_open_or_create(const char *path, uint32_t max_groups,
					 struct mm_err *err)
{
	if (access(path, F_OK) != 0 && mm_cfile_create(path, max_groups, err) < 0)
		return NULL;
	return mm_cfile_open(path, true, err);
}

struct mm_cfile *mm_cfile_open_or_recreate(const char *path, uint32_t max_groups,
					   char *aside, size_t asidecap, struct mm_err *err)
{
	if (aside && asidecap)
		aside[0] = '\0';
	if (access(path, F_OK) != 0 && mm_cfile_create(path, max_groups, err) < 0)
		return NULL;
	bool corrupt = false;
	struct mm_cfile *cf = open_file(path, true, &corrupt, err);
	if (cf || !corrupt)
		return cf;
	/* Damaged (truncated, overwritten, another version): keep it for a
	 * look, and start a fresh one. */
	char *moved = xasprintf("%s.damaged.%lld", path, (long long)(mm_wall_ms() / 1000));
	if (rename(path, moved) < 0) {
		mm_err_sys(err, errno, "%s: damaged and cannot be set aside", path);
		free(moved);
		return NULL;
	}
	if (aside && asidecap)
		snprintf(aside, asidecap, "%s (%s)", moved, err->msg);
	free(moved);
	if (mm_cfile_create(path, max_groups, err) < 0)
		return NULL;
	return open_file(path, true, NULL, err);
}

bool mm_cfile_damaged(const struct mm_cfile *cf)
{
	if (!cf->path || cf->fd < 0)
		return false;
	if (mm_mapguard_hit(cf->hdr))
		return true;
	struct stat st;
	return fstat(cf->fd, &st) == 0 && (size_t)st.st_size < cf->map_size;
}

struct mm_cfile *mm_cfile_anon(uint32_t max_groups)
{
	if (max_groups < 2)
		max_groups = 2;
	if (max_groups > MM_CF_MAX_GROUPS)
		max_groups = MM_CF_MAX_GROUPS;
	struct mm_cfile *cf = xcalloc(1, sizeof *cf);
	cf->fd = -1;
	cf->writer = true;
	cf->map_size = file_size_for(max_groups);
	cf->hdr = xcalloc(1, cf->map_size);
	init_header(cf->hdr, max_groups);
	cf->groups = (struct mm_cf_group *)((char *)cf->hdr + sizeof(struct mm_cf_header));
	return cf;
}

void mm_cfile_close(struct mm_cfile *cf)
{
	if (!cf)
		return;
	if (cf->fd < 0) {
		free(cf->hdr);
	} else {
		if (cf->writer && !mm_mapguard_hit(cf->hdr))
			atomic_store(&cf->hdr->writer_pid, 0);
		mm_mapguard_remove(cf->hdr);
		munmap(cf->hdr, cf->map_size);
		close(cf->fd); /* releases the flock */
	}
	free(cf->path);
	free(cf);
}

int mm_cfile_delete(const char *path, struct mm_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return mm_err_set(err, "%s: no counters file to delete", path);
		return mm_err_sys(err, errno, "%s: cannot open", path);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return mm_err_set(err, "%s: in use by a running mailmond; stop it first", path);
	}
	int rc = unlink(path) < 0 ? mm_err_sys(err, errno, "%s: cannot delete", path) : 0;
	close(fd);
	return rc;
}

/* Zeroes every group's counters inside its seqlock; names stay, so the
 * writer's name index stays valid. */
static void clear_all(struct mm_cfile *cf)
{
	uint32_t n = atomic_load(&cf->hdr->ngroups);
	for (uint32_t i = 0; i < n; i++) {
		struct mm_cf_group *g = &cf->groups[i];
		mm_cg_begin(g);
		for (int f = 0; f < MM_CF_NFIELDS; f++) {
			atomic_store_explicit(&g->v[f], 0, memory_order_relaxed);
			atomic_store_explicit(&g->min[f], 0, memory_order_relaxed);
		}
		atomic_store_explicit(&g->last_reject[0], 0, memory_order_relaxed);
		atomic_store_explicit(&g->last_connfail[0], 0, memory_order_relaxed);
		mm_cg_end(g);
	}
	atomic_store(&cf->hdr->cleared_ms, mm_wall_ms());
	atomic_fetch_add(&cf->hdr->generation, 1);
}

void mm_cfile_service(struct mm_cfile *cf)
{
	if (!cf || !cf->writer)
		return;
	uint64_t req = atomic_load(&cf->hdr->clear_req);
	if (req != atomic_load(&cf->hdr->clear_done)) {
		clear_all(cf);
		atomic_store(&cf->hdr->clear_done, req);
	}
}

int mm_cfile_clear(struct mm_cfile *cf, int wait_ms, struct mm_err *err)
{
	if (cf->writer) {
		clear_all(cf);
		return 0;
	}
	/* A reader mapping: is a writer alive? Its flock says so. */
	int fd = open(cf->path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return mm_err_sys(err, errno, "%s: cannot open for writing", cf->path);
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		close(fd);
		struct mm_cfile *w = mm_cfile_open(cf->path, true, err);
		if (!w)
			return -1;
		clear_all(w);
		mm_cfile_close(w);
		return 0;
	}
	/* The request word must be written through a writable mapping. */
	void *map = mmap(NULL, sizeof(struct mm_cf_header), PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return mm_err_sys(err, errno, "%s: cannot map for writing", cf->path);
	struct mm_cf_header *h = map;
	uint64_t want = atomic_fetch_add(&h->clear_req, 1) + 1;
	int rc = 0;
	for (int waited = 0; atomic_load(&h->clear_done) < want; waited += 10) {
		if (waited >= wait_ms) {
			rc = mm_err_set(err, "%s: mailmond (pid %d) did not serve the clear "
					     "request within %d ms; it will clear at its next "
					     "heartbeat", cf->path, (int)atomic_load(&h->writer_pid),
					wait_ms);
			break;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	munmap(map, sizeof(struct mm_cf_header));
	return rc;
}

bool mm_cfile_replaced(const struct mm_cfile *cf)
{
	if (!cf->path)
		return false;
	struct stat st;
	if (stat(cf->path, &st) < 0)
		return true;
	return (uint64_t)st.st_ino != cf->ino || (uint64_t)st.st_dev != cf->dev;
}

void mm_cg_begin(struct mm_cf_group *g)
{
	uint32_t s = atomic_load_explicit(&g->seq, memory_order_relaxed);
	atomic_store_explicit(&g->seq, s + 1, memory_order_relaxed);
	/* The odd seq must be visible before any field store. */
	atomic_thread_fence(memory_order_release);
}

void mm_cg_end(struct mm_cf_group *g)
{
	uint32_t s = atomic_load_explicit(&g->seq, memory_order_relaxed);
	atomic_store_explicit(&g->seq, s + 1, memory_order_release);
}

void mm_cg_add(struct mm_cf_group *g, enum mm_cg_field f, int64_t delta)
{
	/* Single writer: load + store is enough and cheaper than fetch_add. */
	int64_t v = atomic_load_explicit(&g->v[f], memory_order_relaxed) + delta;
	atomic_store_explicit(&g->v[f], v, memory_order_relaxed);
	if (delta < 0 && v < atomic_load_explicit(&g->min[f], memory_order_relaxed))
		atomic_store_explicit(&g->min[f], v, memory_order_relaxed);
}

void mm_cg_set(struct mm_cf_group *g, enum mm_cg_field f, int64_t value)
{
	atomic_store_explicit(&g->v[f], value, memory_order_relaxed);
	if (value < atomic_load_explicit(&g->min[f], memory_order_relaxed))
		atomic_store_explicit(&g->min[f], value, memory_order_relaxed);
}

void mm_cg_set_text(_Atomic char *slot, const char *s, size_t len)
{
	if (len > MM_CF_REASON_MAX - 1)
		len = MM_CF_REASON_MAX - 1;
	for (size_t i = 0; i < len; i++)
		atomic_store_explicit(&slot[i], s[i], memory_order_relaxed);
	atomic_store_explicit(&slot[len], 0, memory_order_relaxed);
}

static void copy_text(char *dst, const _Atomic char *src, size_t cap)
{
	size_t i;
	for (i = 0; i + 1 < cap; i++) {
		char c = atomic_load_explicit(&src[i], memory_order_relaxed);
		dst[i] = c;
		if (!c)
			return;
	}
	dst[i] = 0;
}

int mm_cg_read(const struct mm_cfile *cf, uint32_t i, struct mm_cg_snapshot *out)
{
	struct mm_cf_group *g = &cf->groups[i];
	for (int tries = 0; tries < 10000; tries++) {
		uint32_t s1 = atomic_load_explicit(&g->seq, memory_order_acquire);
		if (s1 & 1) {
			if (tries > 100)
				sched_yield();
			continue;
		}
		copy_text(out->name, g->name, sizeof out->name);
		for (int f = 0; f < MM_CG__COUNT; f++) {
			out->v[f] = atomic_load_explicit(&g->v[f], memory_order_relaxed);
			out->min[f] = atomic_load_explicit(&g->min[f], memory_order_relaxed);
		}
		copy_text(out->last_reject, g->last_reject, sizeof out->last_reject);
		copy_text(out->last_connfail, g->last_connfail, sizeof out->last_connfail);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&g->seq, memory_order_relaxed) == s1)
			return 0;
	}
	return -1;
}

uint32_t mm_cfile_ngroups(const struct mm_cfile *cf)
{
	uint32_t n = atomic_load_explicit(&cf->hdr->ngroups, memory_order_acquire);
	return n > cf->hdr->max_groups ? cf->hdr->max_groups : n;
}

static bool name_eq(const struct mm_cf_group *g, const char *name, size_t len)
{
	for (size_t k = 0; k < len; k++)
		if (atomic_load_explicit(&g->name[k], memory_order_relaxed) != name[k])
			return false;
	return atomic_load_explicit(&g->name[len], memory_order_relaxed) == 0;
}

int mm_cfile_group_add(struct mm_cfile *cf, const char *name, size_t len)
{
	if (len > MM_CF_NAME_MAX - 1)
		len = MM_CF_NAME_MAX - 1;
	uint32_t n = atomic_load(&cf->hdr->ngroups);
	for (uint32_t i = 0; i < n; i++)
		if (name_eq(&cf->groups[i], name, len))
			return (int)i;
	/* The last slot is kept for "other". */
	if (n + 1 >= cf->hdr->max_groups) {
		name = MM_CF_OTHER;
		len = strlen(MM_CF_OTHER);
		for (uint32_t i = 0; i < n; i++)
			if (name_eq(&cf->groups[i], name, len))
				return (int)i;
	}
	struct mm_cf_group *g = &cf->groups[n];
	for (size_t k = 0; k < len; k++)
		atomic_store_explicit(&g->name[k], name[k], memory_order_relaxed);
	atomic_store_explicit(&g->name[len], 0, memory_order_relaxed);
	/* Publish the name before the count that makes it visible. */
	atomic_store_explicit(&cf->hdr->ngroups, n + 1, memory_order_release);
	return (int)n;
}

int mm_cg_read_named(const struct mm_cfile *cf, const char *name, struct mm_cg_snapshot *out)
{
	uint32_t n = mm_cfile_ngroups(cf);
	for (uint32_t i = 0; i < n; i++)
		if (mm_cg_read(cf, i, out) == 0 && strcmp(out->name, name) == 0)
			return 0;
	return -1;
}

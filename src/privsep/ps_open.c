/*
 * ps_open: the helper's queue opens (ps_handlers.h). The queue
 * directories come from the helper's own load of the root-owned config,
 * through the MTA backend's queue_dir hook (for Postfix: [mta]
 * queue_directory, or `postconf -h queue_directory` per instance), and
 * are reloaded when the config file changes or 30 s have passed. Only a
 * path that does not exist answers ENOENT: a config that does not load
 * answers EACCES, an unknown instance ENXIO. A
 * request is opened only when the backend's rel_ok accepts the path; it
 * is then opened one component at a time below the queue directory with
 * O_NOFOLLOW (a symlink anywhere is refused with ELOOP), read-only and
 * non-blocking, and must be a regular file or a directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/fdpass.h"
#include "core/xalloc.h"
#include "privsep/ps_handlers.h"

#define QDIRS_MAX_AGE_MS 30000

void mm_ps_qdirs_free(struct mm_ps_qdirs *q)
{
	free(q->type);
	for (size_t i = 0; i < MM_MTA_MAX_INSTANCES; i++) {
		free(q->dirs[i]);
		free(q->problem[i]);
	}
	memset(q, 0, sizeof *q);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The queue directories of the config at conf_path; 0, or an errno that
 * is never ENOENT (which the scanner takes for a queue that does not
 * exist): EACCES when the config does not load (not root's, bad mode,
 * unreadable, invalid), EOPNOTSUPP when its MTA has no queue files. */
static int refresh(struct mm_ps_qdirs *q, const char *conf_path)
{
	struct stat st;
	if (stat(conf_path, &st) < 0)
		return EACCES;
	int64_t now = mm_mono_ms();
	if (q->at_ms && same_file(&st, &q->conf_st) && now - q->at_ms < QDIRS_MAX_AGE_MS)
		return q->err;
	mm_ps_qdirs_free(q);
	q->conf_st = st;
	q->at_ms = now ? now : 1;
	struct mm_diags diags = {0};
	struct mm_config *conf = mm_config_load(conf_path, &diags);
	mm_diags_free(&diags);
	if (!conf)
		return q->err = EACCES;
	const char *type = mm_config_get(conf, "mta", "type");
	const struct mm_mta_backend *be = type ? mm_mta_backend_find(type) : NULL;
	if (!be || !be->queue_dir || !be->rel_ok) {
		mm_config_free(conf);
		return q->err = EOPNOTSUPP;
	}
	struct mm_mta_params p;
	memset(&p, 0, sizeof p);
	mm_mta_params_from_config(conf, NULL, 0, &p);
	q->type = xstrdup(type);
	for (size_t i = 0; i < p.ninstances && i < MM_MTA_MAX_INSTANCES; i++) {
		struct mm_err err = {{0}};
		q->dirs[i] = be->queue_dir(&p, i, &err);
		if (!q->dirs[i])
			q->problem[i] = xstrdup(err.msg);
	}
	q->n = p.ninstances;
	mm_config_free(conf);
	return 0;
}

/* Opens rel below qdir, one component at a time, never following a
 * symlink. The descriptor, or -errno. */
static int open_below(const char *qdir, const char *rel)
{
	int dfd = open(qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	char part[MM_PS_NAME * 2 + 2];
	const char *p = rel;
	for (;;) {
		size_t k = strcspn(p, "/");
		if (k == 0 || k >= sizeof part) {
			close(dfd);
			return -EINVAL;
		}
		memcpy(part, p, k);
		part[k] = '\0';
		bool last = p[k] == '\0';
		int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
		if (!last)
			flags |= O_DIRECTORY;
		/* O_NOATIME: reading must not write the inode (deferred files
		 * have their mtime in the future). Root may always use it. */
		int fd = openat(dfd, part, flags | O_NOATIME);
		if (fd < 0 && errno == EPERM)
			fd = openat(dfd, part, flags);
		int e = errno;
		close(dfd);
		if (fd < 0)
			return -e;
		if (last) {
			struct stat st;
			if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
				close(fd);
				return -EINVAL;
			}
			return fd;
		}
		dfd = fd;
		p += k + 1;
	}
}

#define LIST_MAX 1000000 /* entries of one directory: more is not a queue */

static bool entry_name_ok(const char *n)
{
	size_t k = 0;
	for (; n[k]; k++)
		if (!((n[k] >= 'A' && n[k] <= 'Z') || (n[k] >= 'a' && n[k] <= 'z') ||
		      (n[k] >= '0' && n[k] <= '9')))
			return false;
	return k >= 1 && k < MM_PS_NAME;
}

/* Streams the entries of the open directory dfd (taken) as
 * MM_PS_QUEUE_ENTRY messages, batched; names that cannot be queue files
 * or hash directories are left out, an entry gone before its lstat too.
 * 0, or -1 when a write failed. */
static int send_list(int fd, int dfd)
{
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return 0;
	}
	uint8_t out[65536];
	size_t n = 0, count = 0;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && count < LIST_MAX && (de = readdir(dir)) != NULL) {
		if (!entry_name_ok(de->d_name))
			continue;
		struct stat st;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		struct mm_ps_msg e = {.type = MM_PS_QUEUE_ENTRY};
		memcpy(e.u.entry.name, de->d_name, strlen(de->d_name) + 1);
		e.u.entry.mode = (uint32_t)st.st_mode;
		e.u.entry.ino = (uint64_t)st.st_ino;
		e.u.entry.size = (uint64_t)st.st_size;
		e.u.entry.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		e.u.entry.ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
		if (sizeof out - n < 256) {
			rc = mm_fd_send(fd, out, n, -1);
			n = 0;
		}
		int k = mm_ps_encode(&e, out + n, sizeof out - n);
		if (k > 0)
			n += (size_t)k;
		count++;
	}
	closedir(dir);
	if (rc == 0 && n)
		rc = mm_fd_send(fd, out, n, -1);
	return rc;
}

int mm_ps_serve_open(int fd, struct mm_ps_qdirs *q, const char *conf_path,
		     const struct mm_ps_msg *req)
{
	struct mm_ps_msg ans = {.type = MM_PS_QUEUE_DONE};
	int got = -1;
	char rel[MM_PS_NAME * 2 + 2];
	snprintf(rel, sizeof rel, "%s%s%s", req->u.queue_open.queue,
		 req->u.queue_open.file[0] ? "/" : "", req->u.queue_open.file);
	int rc = refresh(q, conf_path);
	uint32_t i = req->u.queue_open.instance;
	const struct mm_mta_backend *be = q->type ? mm_mta_backend_find(q->type) : NULL;
	if (rc)
		ans.u.done.err = rc;
	else if (i >= q->n || !q->dirs[i])
		ans.u.done.err = ENXIO; /* no such instance, or postconf failed */
	else if (!be || !be->rel_ok(rel))
		ans.u.done.err = EPERM; /* not a path of the queue's layout */
	else if ((got = open_below(q->dirs[i], rel)) < 0)
		ans.u.done.err = -got;
	if (req->type == MM_PS_QUEUE_LIST && got >= 0) {
		struct stat st;
		if (fstat(got, &st) < 0 || !S_ISDIR(st.st_mode)) {
			close(got);
			ans.u.done.err = ENOTDIR;
		} else if (send_list(fd, got) < 0) {
			return -1;
		}
		got = -1; /* send_list took it */
	}
	uint8_t out[64];
	int n = mm_ps_encode(&ans, out, sizeof out);
	int w = n < 0 ? -1 : mm_fd_send(fd, out, (size_t)n, got);
	if (got >= 0)
		close(got);
	return w;
}

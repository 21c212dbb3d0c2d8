/*
 * ps_client: see ps_client.h. One request at a time per socket: the
 * answer to a request is read before the next is written, so answers
 * need no ids.
 */
#include "privsep/ps_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fdpass.h"
#include "core/xalloc.h"
#include "privsep/psmsg.h"

static int opener_open(void *ctx, unsigned instance, const char *rel)
{
	return mm_ps_client_queue_open(ctx, instance, rel);
}

static int opener_list(void *ctx, unsigned instance, const char *rel,
		       struct mm_mta_dirent **out, size_t *n)
{
	return mm_ps_client_queue_list(ctx, instance, rel, out, n);
}

void mm_ps_client_init(struct mm_ps_client *c, int fd, int timeout_ms)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	pthread_mutex_init(&c->mu, NULL);
	c->opener = (struct mm_mta_opener){.open = opener_open, .list = opener_list, .ctx = c};
}

const struct mm_mta_opener *mm_ps_client_opener(struct mm_ps_client *c)
{
	return &c->opener;
}

/* Waits until fd can be read or the deadline (monotonic ms) passes;
 * whether it can. */
static bool readable(int fd, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mm_mono_ms();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (left <= 0)
			return false;
		int r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return true;
		if (r == 0 || errno != EINTR)
			return false;
	}
}

/* Reads one whole answer (at most cap bytes, the first carrying any
 * descriptor) before the deadline. 1 with the message, -1 otherwise. */
static int read_answer(struct mm_ps_client *c, struct mm_ps_msg *m, int *fd)
{
	uint8_t buf[64];
	size_t n = 0;
	int64_t deadline = mm_mono_ms() + c->timeout_ms;
	*fd = -1;
	for (;;) {
		if (!readable(c->fd, deadline))
			break;
		int got = -1;
		ssize_t r = mm_fd_recv(c->fd, buf + n, sizeof buf - n, &got);
		if (got >= 0) {
			if (*fd >= 0)
				close(got); /* one descriptor per answer */
			else
				*fd = got;
		}
		if (r <= 0)
			break;
		n += (size_t)r;
		size_t used = 0;
		struct mm_err err;
		int d = mm_ps_decode(buf, n, m, &used, &err);
		if (d < 0 || (d == 1 && used != n))
			break;
		if (d == 1)
			return 1;
	}
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return -1;
}

/* The request for rel ("queue/file") of type; -1 with errno when rel
 * does not fit the message. */
static int request(enum mm_ps_type type, unsigned instance, const char *rel, uint8_t *out,
		   size_t cap)
{
	struct mm_ps_msg m = {.type = type};
	m.u.queue_open.instance = instance;
	size_t q = strcspn(rel, "/");
	if (q == 0 || q >= MM_PS_NAME || strlen(rel + q) > MM_PS_NAME) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(m.u.queue_open.queue, rel, q);
	snprintf(m.u.queue_open.file, MM_PS_NAME, "%s", rel[q] ? rel + q + 1 : "");
	return mm_ps_encode(&m, out, cap);
}

/* Reads the entries of a listing and its final MM_PS_QUEUE_DONE; 0 with
 * the answer's errno in *e, or -1 when the channel is broken. */
static int read_listing(struct mm_ps_client *c, struct mm_mta_dirent **out, size_t *n,
			int *e)
{
	uint8_t *buf = xmalloc(65536 + 512);
	size_t have = 0, cap = 0;
	int64_t deadline = mm_mono_ms() + c->timeout_ms;
	int rc = -1;
	for (;;) {
		if (!readable(c->fd, deadline))
			break;
		int got = -1;
		ssize_t r = mm_fd_recv(c->fd, buf + have, 65536 + 512 - have, &got);
		if (got >= 0)
			close(got); /* a listing carries no descriptor */
		if (r <= 0 || got >= 0)
			break;
		have += (size_t)r;
		size_t off = 0;
		for (;;) {
			struct mm_ps_msg m;
			size_t used = 0;
			struct mm_err err;
			int d = mm_ps_decode(buf + off, have - off, &m, &used, &err);
			if (d < 0)
				goto out;
			if (d == 0)
				break;
			off += used;
			if (m.type == MM_PS_QUEUE_DONE) {
				*e = m.u.done.err;
				rc = off == have ? 0 : -1; /* nothing may follow the end */
				goto out;
			}
			if (m.type != MM_PS_QUEUE_ENTRY || *n >= 1000000)
				goto out;
			*out = xgrow(*out, &cap, *n + 1, sizeof **out);
			struct mm_mta_dirent *de = &(*out)[(*n)++];
			memcpy(de->name, m.u.entry.name, sizeof de->name);
			de->mode = m.u.entry.mode;
			de->ino = m.u.entry.ino;
			de->size = m.u.entry.size;
			de->mtime_ns = m.u.entry.mtime_ns;
			de->ctime_ns = m.u.entry.ctime_ns;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		deadline = mm_mono_ms() + c->timeout_ms; /* progress: a new deadline */
	}
out:
	free(buf);
	return rc;
}

int mm_ps_client_queue_list(struct mm_ps_client *c, unsigned instance, const char *rel,
			    struct mm_mta_dirent **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	uint8_t req[MM_PS_HDR + 4 + 2 * MM_PS_NAME];
	int k = request(MM_PS_QUEUE_LIST, instance, rel, req, sizeof req);
	if (k < 0)
		return -1;
	pthread_mutex_lock(&c->mu);
	c->asked++;
	int e = EPIPE;
	if (c->dead) {
		/* e stays EPIPE */
	} else if (mm_fd_send(c->fd, req, (size_t)k, -1) < 0 || read_listing(c, out, n, &e) < 0) {
		c->dead = true;
		c->lost++;
		e = EPIPE;
	} else if (e) {
		c->refused++;
	}
	pthread_mutex_unlock(&c->mu);
	if (e) {
		free(*out);
		*out = NULL;
		*n = 0;
		errno = e;
		return -1;
	}
	return 0;
}

int mm_ps_client_queue_open(struct mm_ps_client *c, unsigned instance, const char *rel)
{
	uint8_t out[MM_PS_HDR + 4 + 2 * MM_PS_NAME];
	int n = request(MM_PS_QUEUE_OPEN, instance, rel, out, sizeof out);
	if (n < 0)
		return -1;
	pthread_mutex_lock(&c->mu);
	c->asked++;
	int fd = -1, e = EPIPE;
	struct mm_ps_msg ans;
	if (c->dead) {
		/* e stays EPIPE */
	} else if (mm_fd_send(c->fd, out, (size_t)n, -1) < 0 || read_answer(c, &ans, &fd) < 0 ||
		   ans.type != MM_PS_QUEUE_DONE || (ans.u.done.err == 0) != (fd >= 0)) {
		if (fd >= 0)
			close(fd);
		fd = -1;
		c->dead = true; /* the helper is gone or out of step: no guessing */
		c->lost++;
	} else if (ans.u.done.err) {
		e = ans.u.done.err;
		c->refused++;
	}
	pthread_mutex_unlock(&c->mu);
	if (fd < 0)
		errno = e;
	return fd;
}

struct mm_ps_client_stats mm_ps_client_stats(struct mm_ps_client *c)
{
	pthread_mutex_lock(&c->mu);
	struct mm_ps_client_stats s = {c->asked, c->refused, c->lost, c->dead};
	pthread_mutex_unlock(&c->mu);
	return s;
}

void mm_ps_client_free(struct mm_ps_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	pthread_mutex_destroy(&c->mu);
}

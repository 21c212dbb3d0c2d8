/*
 * ps_client: see ps_client.h. One request at a time per socket: the
 * answer to a request is read before the next is written, so answers
 * need no ids.
 */
#include "privsep/ps_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fdpass.h"
#include "privsep/psmsg.h"

static int opener_open(void *ctx, unsigned instance, const char *rel)
{
	return mm_ps_client_queue_open(ctx, instance, rel);
}

void mm_ps_client_init(struct mm_ps_client *c, int fd, int timeout_ms)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	pthread_mutex_init(&c->mu, NULL);
	c->opener = (struct mm_mta_opener){.open = opener_open, .ctx = c};
}

const struct mm_mta_opener *mm_ps_client_opener(struct mm_ps_client *c)
{
	return &c->opener;
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
		int64_t left = deadline - mm_mono_ms();
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			if (left > 0 && errno == EINTR)
				continue;
			break;
		}
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

int mm_ps_client_queue_open(struct mm_ps_client *c, unsigned instance, const char *rel)
{
	struct mm_ps_msg m = {.type = MM_PS_QUEUE_OPEN};
	m.u.queue_open.instance = instance;
	size_t q = strcspn(rel, "/");
	if (q == 0 || q >= MM_PS_NAME || strlen(rel + q) > MM_PS_NAME) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(m.u.queue_open.queue, rel, q);
	snprintf(m.u.queue_open.file, MM_PS_NAME, "%s", rel[q] ? rel + q + 1 : "");
	uint8_t out[MM_PS_HDR + 4 + 2 * MM_PS_NAME];
	int n = mm_ps_encode(&m, out, sizeof out);
	pthread_mutex_lock(&c->mu);
	c->asked++;
	int fd = -1, e = EPIPE;
	struct mm_ps_msg ans;
	if (c->dead || n < 0) {
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

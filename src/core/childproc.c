/*
 * childproc: see childproc.h. One struct per child: the pidfd event with
 * a 250 ms backstop check (where the kernel has no pidfd, a 20 ms waitpid
 * poll), one read event per kept pipe, one deadline timer. finish() runs once, after the exit was
 * reaped and the pipes drained.
 */
#include "core/childproc.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/strbuf.h"
#include "core/xalloc.h"

extern char **environ;

#define DEFAULT_TIMEOUT_MS 60000
#define DEFAULT_MAX_OUTPUT (1u << 20)
#define POLL_MS 20      /* without a pidfd: how often waitpid is tried */
#define BACKSTOP_MS 250 /* with one: the same check, in case an event was lost */
#define CHUNK 65536

struct mm_child {
	pid_t pid;
	int pidfd; /* -1: exit found by polling */
	int out_fd, err_fd;
	struct event *ev_exit, *ev_out, *ev_err, *ev_deadline;
	struct mm_strbuf out; /* with capture */
	struct mm_strbuf err; /* with keep_stderr: fixed over errmem */
	char errmem[MM_CHILD_STDERR_KEEP + 1];
	bool capture, exited, timed_out, capped, stopped;
	int status;
	uint64_t out_bytes, max_output;
	int64_t started, ended;
	mm_child_data_fn *on_data;
	void *data_arg;
	mm_child_done_fn *done;
	void *arg;
};

static void kill_group(struct mm_child *c)
{
	kill(-c->pid, SIGKILL);
	kill(c->pid, SIGKILL);
}

static void close_pipe(struct event **ev, int *fd)
{
	if (*ev)
		event_free(*ev);
	*ev = NULL;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_out(struct mm_child *c)
{
	close_pipe(&c->ev_out, &c->out_fd);
}

static void close_err(struct mm_child *c)
{
	close_pipe(&c->ev_err, &c->err_fd);
}

/* Releases every event and descriptor; the buffers stay for the result. */
static void release(struct mm_child *c)
{
	close_out(c);
	close_err(c);
	if (c->ev_exit)
		event_free(c->ev_exit);
	if (c->ev_deadline)
		event_free(c->ev_deadline);
	c->ev_exit = c->ev_deadline = NULL;
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->pidfd = -1;
}

static void destroy(struct mm_child *c)
{
	mm_strbuf_free(&c->out);
	free(c);
}

/* Reads what stdout holds now; all of it (to EAGAIN or EOF) when drain.
 * Returns false once the pipe is closed. */
static bool read_out(struct mm_child *c, bool drain)
{
	char buf[CHUNK];
	do {
		ssize_t r = read(c->out_fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return true;
		if (r <= 0) {
			close_out(c);
			return false;
		}
		if (c->out_bytes + (uint64_t)r > c->max_output) {
			c->capped = true;
		} else {
			c->out_bytes += (uint64_t)r;
			if (c->capture)
				mm_strbuf_add(&c->out, buf, (size_t)r);
			if (c->on_data && c->on_data(c->data_arg, buf, (size_t)r) < 0)
				c->stopped = true;
		}
		if (c->capped || c->stopped) {
			kill_group(c);
			close_out(c);
			return false;
		}
	} while (drain);
	return true;
}

static bool read_err(struct mm_child *c, bool drain)
{
	char buf[4096];
	do {
		ssize_t r = read(c->err_fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return true;
		if (r <= 0) {
			close_err(c);
			return false;
		}
		mm_strbuf_add(&c->err, buf, (size_t)r); /* past the cap: counted, dropped */
	} while (drain);
	return true;
}

/* "line one / line two": stderr on one line for a log message. */
static void fold_lines(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
}

static void finish(struct mm_child *c)
{
	if (c->out_fd >= 0)
		read_out(c, true);
	if (c->err_fd >= 0)
		read_err(c, true);
	release(c);
	struct mm_child_result res = {
		.exit_code = -1,
		.timed_out = c->timed_out,
		.capped = c->capped,
		.stopped = c->stopped,
		.ms = c->ended - c->started,
		.out_bytes = c->out_bytes,
		.out = c->capture ? c->out.p : "",
		.out_len = c->capture ? c->out.len : 0,
		.err = c->err.p ? c->err.p : "",
	};
	if (WIFEXITED(c->status))
		res.exit_code = WEXITSTATUS(c->status);
	else if (WIFSIGNALED(c->status))
		res.signal = WTERMSIG(c->status);
	if (c->err.p)
		fold_lines(c->err.p);
	c->done(&res, c->arg);
	destroy(c);
}

/* Reaps the child if it has exited; true when it has. */
static bool reap(struct mm_child *c)
{
	int status;
	pid_t r;
	do
		r = waitpid(c->pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return false;
	c->exited = true;
	c->ended = mm_mono_ms();
	c->status = r < 0 ? 0 : status;
	if (r < 0) /* someone else reaped it: report it as killed */
		c->status = SIGKILL;
	return true;
}

/* The pidfd became readable, or the periodic check is due. The periodic
 * check also reads the pipes: an fd registration can be lost when other
 * code closes an fd while its event is still added (libevent then keeps
 * a stale entry under that number and never registers the next file
 * opened with it), and a lost child must still end within the backstop
 * period, not at its timeout. */
static void on_exit_ev(evutil_socket_t fd, short what, void *arg)
{
	struct mm_child *c = arg;
	if (what & EV_TIMEOUT) {
		if (c->out_fd >= 0)
			read_out(c, true);
		if (c->err_fd >= 0)
			read_err(c, true);
	}
	if (reap(c))
		finish(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct mm_child *c = arg;
	c->timed_out = true;
	kill_group(c);
}

static void on_out(evutil_socket_t fd, short what, void *arg)
{
	read_out(arg, false);
}

static void on_err(evutil_socket_t fd, short what, void *arg)
{
	read_err(arg, false);
}

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* Sets up the child's side: session, signals, descriptors. */
static int spawn(struct mm_child *c, const struct mm_child_params *p, int out_w, int err_w,
		 struct mm_err *err)
{
	posix_spawnattr_t at;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_init(&fa);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out_w >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_w, 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (err_w >= 0)
		posix_spawn_file_actions_adddup2(&fa, err_w, 2);
	else
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	int rc = posix_spawnp(&c->pid, p->argv[0], &fa, &at, p->argv,
			      p->envp ? p->envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0)
		return mm_err_sys(err, rc, "cannot run %s", p->argv[0]);
	return 0;
}

struct mm_child *mm_child_start(struct event_base *base, const struct mm_child_params *p,
				mm_child_done_fn *done, void *arg, struct mm_err *err)
{
	if (!p->argv || !p->argv[0] || !p->argv[0][0]) {
		mm_err_set(err, "empty command");
		return NULL;
	}
	bool want_out = p->capture || p->on_data;
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	if ((want_out && pipe2(outp, O_CLOEXEC | O_NONBLOCK) < 0) ||
	    (p->keep_stderr && pipe2(errp, O_CLOEXEC | O_NONBLOCK) < 0)) {
		mm_err_sys(err, errno, "%s: pipe", p->argv[0]);
		goto fail_pipes;
	}
	/* The child's ends must block like any stdout. */
	if (outp[1] >= 0)
		fcntl(outp[1], F_SETFL, 0);
	if (errp[1] >= 0)
		fcntl(errp[1], F_SETFL, 0);
	struct mm_child *c = xcalloc(1, sizeof *c);
	c->pidfd = c->out_fd = c->err_fd = -1;
	c->capture = p->capture;
	c->on_data = p->on_data;
	c->data_arg = p->data_arg;
	c->max_output = p->max_output ? p->max_output : DEFAULT_MAX_OUTPUT;
	c->done = done;
	c->arg = arg;
	if (c->capture)
		mm_strbuf_init(&c->out, 0);
	if (p->keep_stderr)
		mm_strbuf_fixed(&c->err, c->errmem, sizeof c->errmem);
	c->started = mm_mono_ms();
	if (spawn(c, p, outp[1], errp[1], err) < 0) {
		destroy(c);
		goto fail_pipes;
	}
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	c->out_fd = outp[0];
	c->err_fd = errp[0];
	if (c->out_fd >= 0) {
		c->ev_out = event_new(base, c->out_fd, EV_READ | EV_PERSIST, on_out, c);
		event_add(c->ev_out, NULL);
	}
	if (c->err_fd >= 0) {
		c->ev_err = event_new(base, c->err_fd, EV_READ | EV_PERSIST, on_err, c);
		event_add(c->ev_err, NULL);
	}
	c->pidfd = pidfd_open_(c->pid);
	c->ev_exit = event_new(base, c->pidfd, (c->pidfd >= 0 ? EV_READ : 0) | EV_PERSIST,
			       on_exit_ev, c);
	struct timeval poll_tv = {0, (c->pidfd >= 0 ? BACKSTOP_MS : POLL_MS) * 1000};
	event_add(c->ev_exit, &poll_tv);
	int64_t t = p->timeout_ms > 0 ? p->timeout_ms : DEFAULT_TIMEOUT_MS;
	struct timeval tv = {(time_t)(t / 1000), (suseconds_t)(t % 1000) * 1000};
	c->ev_deadline = evtimer_new(base, on_deadline, c);
	evtimer_add(c->ev_deadline, &tv);
	return c;

fail_pipes:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return NULL;
}

void mm_child_cancel(struct mm_child *c)
{
	if (!c)
		return;
	kill_group(c);
	/* SIGKILL cannot be caught: the wait is short. A cancel happens at
	 * shutdown or reload only. */
	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
	release(c);
	destroy(c);
}

void mm_child_describe(const struct mm_child_result *r, char *buf, size_t cap)
{
	struct mm_strbuf b;
	mm_strbuf_fixed(&b, buf, cap);
	if (r->timed_out)
		mm_strbuf_printf(&b, "timed out after %lld ms, killed", (long long)r->ms);
	else if (r->capped)
		mm_strbuf_printf(&b, "output cut at %llu bytes, killed",
				 (unsigned long long)r->out_bytes);
	else if (r->stopped)
		mm_strbuf_adds(&b, "output refused by the reader, killed");
	else if (r->signal)
		mm_strbuf_printf(&b, "killed by signal %d", r->signal);
	else
		mm_strbuf_printf(&b, "exit %d after %lld ms", r->exit_code, (long long)r->ms);
	if (r->err && r->err[0])
		mm_strbuf_printf(&b, ": %s", r->err);
}

/* ---- blocking ---- */

struct run_state {
	struct mm_child_result *res;
	char msg[MM_ERR_MAX];
	bool ok, done;
};

static void run_done(const struct mm_child_result *r, void *arg)
{
	struct run_state *st = arg;
	*st->res = *r;
	st->res->out = st->res->err = NULL;
	st->res->out_len = 0;
	st->done = true;
	st->ok = !r->timed_out && !r->capped && !r->stopped && !r->signal && r->exit_code == 0;
	mm_child_describe(r, st->msg, sizeof st->msg);
}

int mm_child_run(const struct mm_child_params *p, struct mm_child_result *res,
		 struct mm_err *err)
{
	memset(res, 0, sizeof *res);
	res->exit_code = -1;
	struct event_base *base = event_base_new();
	if (!base)
		return mm_err_set(err, "%s: cannot create an event loop",
				  p->argv && p->argv[0] ? p->argv[0] : "command");
	struct mm_child_params q = *p;
	q.capture = false; /* nothing outlives the call: stream with on_data */
	struct run_state st = {.res = res};
	struct mm_child *c = mm_child_start(base, &q, run_done, &st, err);
	if (!c) {
		event_base_free(base);
		return -1;
	}
	while (!st.done && event_base_loop(base, EVLOOP_ONCE) >= 0)
		;
	event_base_free(base);
	if (!st.done)
		return mm_err_set(err, "%s: event loop failed", p->argv[0]);
	if (st.ok)
		return 0;
	return mm_err_set(err, "%s: %s", p->argv[0], st.msg);
}

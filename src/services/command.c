/* command: see command.h. */
#include "services/command.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/xalloc.h"

#define POLL_MS 50

struct mm_cmd {
	pid_t pid;
	int64_t started, deadline;
	bool timed_out, cancelled;
	struct event *ev;
	mm_cmd_fn *cb;
	void *arg;
};

char **mm_cmd_split(const char *line, struct mm_err *err)
{
	size_t len = strlen(line);
	/* Worst case: every other byte starts a word. One block: pointers,
	 * then the words. */
	size_t maxw = len / 2 + 2;
	char **argv = xmalloc(maxw * sizeof *argv + len + 1);
	char *out = (char *)(argv + maxw);
	size_t n = 0;
	const char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		argv[n++] = out;
		char quote = 0;
		while (*p && (quote || (*p != ' ' && *p != '\t'))) {
			if (quote && *p == quote) {
				quote = 0;
				p++;
			} else if (!quote && (*p == '\'' || *p == '"')) {
				quote = *p++;
			} else if (*p == '\\' && quote != '\'' && p[1]) {
				*out++ = p[1];
				p += 2;
			} else {
				*out++ = *p++;
			}
		}
		*out++ = '\0';
		if (quote) {
			free(argv);
			mm_err_set(err, "unterminated quote in command \"%s\"", line);
			return NULL;
		}
	}
	if (n == 0) {
		free(argv);
		mm_err_set(err, "empty command");
		return NULL;
	}
	argv[n] = NULL;
	return argv;
}

void mm_cmd_describe(const struct mm_cmd_result *r, char *buf, unsigned cap)
{
	if (r->timed_out)
		snprintf(buf, cap, "timed out after %lld ms, killed", (long long)r->ms);
	else if (r->signal)
		snprintf(buf, cap, "killed by signal %d", r->signal);
	else
		snprintf(buf, cap, "exit %d after %lld ms", r->exit_code, (long long)r->ms);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct mm_cmd *c = arg;
	int status;
	pid_t r = waitpid(c->pid, &status, WNOHANG);
	if (r == 0) {
		if (!c->timed_out && mm_mono_ms() >= c->deadline) {
			c->timed_out = true;
			kill(-c->pid, SIGKILL);
			kill(c->pid, SIGKILL);
		}
		return;
	}
	event_free(c->ev);
	if (!c->cancelled) {
		struct mm_cmd_result res = {.timed_out = c->timed_out,
					    .ms = mm_mono_ms() - c->started};
		if (r < 0) {
			res.exit_code = -1;
		} else if (WIFEXITED(status)) {
			res.exit_code = WEXITSTATUS(status);
		} else {
			res.exit_code = -1;
			res.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		}
		c->cb(&res, c->arg);
	}
	free(c);
}

struct mm_cmd *mm_cmd_run(struct event_base *base, const char *line, bool shell,
			  int64_t timeout_ms, mm_cmd_fn *cb, void *arg, struct mm_err *err)
{
	char **argv;
	if (shell) {
		argv = xmalloc(4 * sizeof *argv);
		argv[0] = (char *)"/bin/sh";
		argv[1] = (char *)"-c";
		argv[2] = (char *)line;
		argv[3] = NULL;
	} else if (!(argv = mm_cmd_split(line, err))) {
		return NULL;
	}
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		free(argv);
		if (devnull >= 0)
			close(devnull);
		mm_err_sys(err, e, "fork");
		return NULL;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls between fork and exec (the
		 * daemon may have LDAP worker threads). */
		setsid();
		struct sigaction sa = {.sa_handler = SIG_DFL};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGPIPE, &sa, NULL);
		sigaction(SIGCHLD, &sa, NULL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execvp(argv[0], argv);
		_exit(127);
	}
	free(argv);
	if (devnull >= 0)
		close(devnull);
	struct mm_cmd *c = xcalloc(1, sizeof *c);
	c->pid = pid;
	c->started = mm_mono_ms();
	c->deadline = c->started + timeout_ms;
	c->cb = cb;
	c->arg = arg;
	c->ev = event_new(base, -1, EV_PERSIST, on_poll, c);
	struct timeval tv = {0, POLL_MS * 1000};
	event_add(c->ev, &tv);
	return c;
}

void mm_cmd_cancel(struct mm_cmd *c)
{
	if (!c)
		return;
	c->cancelled = true;
	kill(-c->pid, SIGKILL);
	kill(c->pid, SIGKILL);
	/* Reap synchronously: SIGKILL is immediate, and a cancel happens only
	 * at shutdown or reload. */
	waitpid(c->pid, NULL, 0);
	event_free(c->ev);
	free(c);
}

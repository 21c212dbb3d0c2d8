/*
 * runcmd: see runcmd.h. posix_spawn with pipes for stdout and stderr, a
 * poll() loop against a monotonic deadline, SIGKILL and waitpid on every
 * exit path so no child is ever left behind.
 */
#include "core/runcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"

extern char **environ;

#define STDERR_KEEP 1024

static void trim_nl(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

int mm_runcmd(char *const argv[], int64_t timeout_ms, uint64_t max_bytes,
	      mm_runcmd_data_fn *on_data, void *arg, struct mm_runcmd_result *res,
	      struct mm_err *err)
{
	int out[2] = {-1, -1}, errp[2] = {-1, -1};
	memset(res, 0, sizeof *res);
	res->exit_status = -1;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		int e = errno;
		for (int i = 0; i < 2; i++) {
			if (out[i] >= 0)
				close(out[i]);
			if (errp[i] >= 0)
				close(errp[i]);
		}
		return mm_err_sys(err, e, "%s: pipe", argv[0]);
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	pid_t pid;
	int64_t start = mm_mono_ms();
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(errp[1]);
	if (rc != 0) {
		close(out[0]);
		close(errp[0]);
		return mm_err_sys(err, rc, "cannot run %s", argv[0]);
	}

	char buf[65536], ebuf[STDERR_KEEP + 1];
	size_t elen = 0;
	int stopped = 0;
	struct pollfd pfd[2] = {{.fd = out[0], .events = POLLIN}, {.fd = errp[0], .events = POLLIN}};
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		int64_t left = timeout_ms - (mm_mono_ms() - start);
		if (left <= 0) {
			res->timed_out = 1;
			break;
		}
		int n = poll(pfd, 2, (int)(left > 1000 ? 1000 : left));
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (pfd[0].revents) {
			ssize_t r = read(out[0], buf, sizeof buf);
			if (r <= 0) {
				pfd[0].fd = -1;
			} else {
				if (res->bytes + (uint64_t)r > max_bytes) {
					res->capped = 1;
					break;
				}
				res->bytes += (uint64_t)r;
				if (on_data && on_data(arg, buf, (size_t)r) < 0) {
					stopped = 1;
					break;
				}
			}
		}
		if (pfd[1].revents) {
			char tmp[4096];
			ssize_t r = read(errp[0], tmp, sizeof tmp);
			if (r <= 0) {
				pfd[1].fd = -1;
			} else if (elen < STDERR_KEEP) {
				size_t take = (size_t)r < STDERR_KEEP - elen ? (size_t)r : STDERR_KEEP - elen;
				memcpy(ebuf + elen, tmp, take);
				elen += take;
			}
		}
	}
	ebuf[elen] = '\0';
	if (res->timed_out || res->capped || stopped)
		kill(pid, SIGKILL);
	close(out[0]);
	close(errp[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	res->elapsed_ms = mm_mono_ms() - start;
	if (WIFEXITED(status))
		res->exit_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		res->term_signal = WTERMSIG(status);
	trim_nl(ebuf);
	if (res->timed_out)
		return mm_err_set(err, "%s: no answer within %lld ms, killed", argv[0],
				  (long long)timeout_ms);
	if (res->capped)
		return mm_err_set(err, "%s: output exceeded %llu bytes, killed", argv[0],
				  (unsigned long long)max_bytes);
	if (stopped)
		return mm_err_set(err, "%s: output rejected by the reader", argv[0]);
	if (res->term_signal)
		return mm_err_set(err, "%s: killed by signal %d%s%s", argv[0], res->term_signal,
				  elen ? ": " : "", ebuf);
	if (res->exit_status != 0)
		return mm_err_set(err, "%s: exit status %d%s%s", argv[0], res->exit_status,
				  elen ? ": " : "", ebuf);
	return 0;
}

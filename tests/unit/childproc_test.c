/* childproc_test: the shared child runner against real children (/bin/sh,
 * /bin/cat, /bin/sleep): exit codes, signals, timeouts that kill the
 * whole process group, the output cap, the environment, stderr, several
 * children at once on one loop, cancel, and the blocking form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "core/childproc.h"
#include "core/clock.h"

struct got {
	int calls;
	struct mm_child_result res;
	char out[8192];
	char err[MM_CHILD_STDERR_KEEP + 1];
	char desc[512];
};

static void on_done(const struct mm_child_result *r, void *arg)
{
	struct got *g = arg;
	g->calls++;
	g->res = *r;
	snprintf(g->out, sizeof g->out, "%s", r->out);
	snprintf(g->err, sizeof g->err, "%s", r->err);
	mm_child_describe(r, g->desc, sizeof g->desc);
	g->res.out = g->out;
	g->res.err = g->err;
}

/* Runs sh -c SCRIPT on a fresh loop until done. */
static void run_sh(const char *script, struct mm_child_params *p, struct got *g)
{
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)script, NULL};
	p->argv = argv;
	struct event_base *base = event_base_new();
	struct mm_err err;
	struct mm_child *c = mm_child_start(base, p, on_done, g, &err);
	assert_non_null(c);
	event_base_dispatch(base);
	event_base_free(base);
	assert_int_equal(g->calls, 1);
}

static void test_exit_codes_and_output(void **state)
{
	static const struct {
		const char *script;
		int code;
		const char *out;
		const char *err;
	} cases[] = {
		{"echo hello; exit 0", 0, "hello\n", ""},
		{"printf 'a\\nb'; exit 3", 3, "a\nb", ""},
		{"echo oops >&2; echo second >&2; exit 1", 1, "", "oops second"},
		{"exit 127", 127, "", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct got g = {0};
		struct mm_child_params p = {.capture = true, .keep_stderr = true, .timeout_ms = 5000};
		run_sh(cases[i].script, &p, &g);
		assert_int_equal(g.res.exit_code, cases[i].code);
		assert_int_equal(g.res.signal, 0);
		assert_false(g.res.timed_out);
		assert_string_equal(g.out, cases[i].out);
		assert_int_equal(g.res.out_len, strlen(cases[i].out));
		assert_string_equal(g.err, cases[i].err);
	}
}

static void test_signal(void **state)
{
	struct got g = {0};
	struct mm_child_params p = {.timeout_ms = 5000};
	run_sh("kill -TERM $$; sleep 5", &p, &g);
	assert_int_equal(g.res.exit_code, -1);
	assert_int_equal(g.res.signal, 15);
	assert_false(g.res.timed_out);
	assert_string_equal(g.desc, "killed by signal 15");
}

/* The timeout kills the child and what it forked (same group): the
 * grandchild writes a file if it survives. */
static void test_timeout_kills_group(void **state)
{
	char dir[] = "/tmp/childproc_testXXXXXX";
	assert_non_null(mkdtemp(dir));
	char script[512];
	snprintf(script, sizeof script,
		 "(sleep 0.6; touch %s/survived) & echo started; sleep 10", dir);
	struct got g = {0};
	struct mm_child_params p = {.capture = true, .timeout_ms = 200};
	int64_t t0 = mm_mono_ms();
	run_sh(script, &p, &g);
	int64_t took = mm_mono_ms() - t0;
	assert_true(g.res.timed_out);
	assert_int_equal(g.res.signal, 9);
	assert_true(took >= 190 && took < 3000);
	assert_string_equal(g.out, "started\n");
	assert_non_null(strstr(g.desc, "timed out after"));
	usleep(900 * 1000);
	char path[600];
	snprintf(path, sizeof path, "%s/survived", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), -1); /* the grandchild died too */
	rmdir(dir);
}

/* More than max_output bytes: killed, capped, no more than the cap kept. */
static void test_output_cap(void **state)
{
	struct got g = {0};
	struct mm_child_params p = {.capture = true, .max_output = 1000, .timeout_ms = 5000};
	run_sh("while :; do echo 0123456789; done", &p, &g);
	assert_true(g.res.capped);
	assert_true(g.res.out_bytes <= 1000);
	assert_int_equal(g.res.out_len, g.res.out_bytes);
	assert_false(g.res.timed_out);
	assert_non_null(strstr(g.desc, "output cut at"));
}

/* Everything written before the exit is read, well past one pipe
 * buffer (the child blocks until we read, so the tail is in the pipe
 * when the pidfd fires). */
static void test_large_output_complete(void **state)
{
	struct got g = {0};
	struct mm_child_params p = {.capture = true, .max_output = 1 << 20, .timeout_ms = 5000};
	run_sh("head -c 300000 /dev/zero | tr '\\0' x", &p, &g);
	assert_int_equal(g.res.exit_code, 0);
	assert_int_equal(g.res.out_bytes, 300000);
	assert_int_equal(g.res.out_len, 300000);
	assert_int_equal(g.out[0], 'x');
}

static int count_x(void *arg, const char *buf, size_t len)
{
	uint64_t *n = arg;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == 'x')
			(*n)++;
	return *n > 50000 ? -1 : 0;
}

static void test_on_data_stop(void **state)
{
	uint64_t n = 0;
	struct got g = {0};
	struct mm_child_params p = {.on_data = count_x, .data_arg = &n, .timeout_ms = 5000};
	run_sh("yes x", &p, &g);
	assert_true(g.res.stopped);
	assert_true(n > 50000);
}

static void test_environment(void **state)
{
	char *envp[] = {(char *)"MM_ALARM=diskavail", (char *)"PATH=/usr/bin:/bin", NULL};
	struct got g = {0};
	struct mm_child_params p = {.capture = true, .envp = envp, .timeout_ms = 5000};
	setenv("MM_LEAK", "parent", 1);
	run_sh("echo \"$MM_ALARM-${MM_LEAK:-unset}\"", &p, &g);
	assert_string_equal(g.out, "diskavail-unset\n");
	/* NULL envp: the caller's environment */
	struct got g2 = {0};
	struct mm_child_params p2 = {.capture = true, .timeout_ms = 5000};
	run_sh("echo \"${MM_LEAK:-unset}\"", &p2, &g2);
	assert_string_equal(g2.out, "parent\n");
	unsetenv("MM_LEAK");
}

/* No descriptor leaks into the child but 0-2. */
static void test_no_fd_leak(void **state)
{
	int fd = dup(2); /* not close-on-exec */
	assert_true(fd > 2);
	char script[128];
	snprintf(script, sizeof script, "if [ -e /proc/self/fd/%d ]; then echo leak; else echo ok; fi",
		 fd);
	struct got g = {0};
	struct mm_child_params p = {.capture = true, .timeout_ms = 5000};
	run_sh(script, &p, &g);
	close(fd);
	assert_string_equal(g.out, "ok\n");
}

static void test_cannot_start(void **state)
{
	struct event_base *base = event_base_new();
	char *argv[] = {(char *)"/nonexistent/prog", NULL};
	struct mm_child_params p = {.argv = argv};
	struct got g = {0};
	struct mm_err err;
	assert_null(mm_child_start(base, &p, on_done, &g, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/prog"));
	char *empty[] = {NULL};
	p.argv = empty;
	assert_null(mm_child_start(base, &p, on_done, &g, &err));
	event_base_free(base);
	assert_int_equal(g.calls, 0);
}

/* Five children at once on one loop finish in about the time of one. */
static void test_concurrent(void **state)
{
	struct event_base *base = event_base_new();
	struct got g[5];
	memset(g, 0, sizeof g);
	char *argv[] = {(char *)"/bin/sleep", (char *)"0.3", NULL};
	struct mm_child_params p = {.argv = argv, .timeout_ms = 5000};
	int64_t t0 = mm_mono_ms();
	struct mm_err err;
	for (int i = 0; i < 5; i++)
		assert_non_null(mm_child_start(base, &p, on_done, &g[i], &err));
	event_base_dispatch(base);
	int64_t took = mm_mono_ms() - t0;
	event_base_free(base);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(g[i].calls, 1);
		assert_int_equal(g[i].res.exit_code, 0);
	}
	assert_true(took < 1200);
}

static void test_cancel(void **state)
{
	struct event_base *base = event_base_new();
	char *argv[] = {(char *)"/bin/sleep", (char *)"10", NULL};
	struct mm_child_params p = {.argv = argv, .timeout_ms = 20000};
	struct got g = {0};
	struct mm_err err;
	struct mm_child *c = mm_child_start(base, &p, on_done, &g, &err);
	assert_non_null(c);
	int64_t t0 = mm_mono_ms();
	mm_child_cancel(c);
	assert_true(mm_mono_ms() - t0 < 2000);
	assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1); /* nothing left */
	event_base_free(base);
	assert_int_equal(g.calls, 0);
}

static void never(evutil_socket_t fd, short what, void *arg)
{
}

/* Another module closes an fd while its read event is still added (as a
 * bufferevent kept alive by an extra reference does): libevent keeps a
 * stale entry under that number, and the next file opened with it (our
 * pidfd, or a pipe) is never registered with epoll. The child must still
 * be seen to end, within the backstop check, with all its output. */
static void test_lost_registration(void **state)
{
	struct event_base *base = event_base_new();
	/* stale entries under the lowest free numbers, which the stdout pipe
	 * and the pidfd are given next */
	int fds[8];
	struct event *stale[8];
	for (int i = 0; i < 8; i += 2)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds + i), 0);
	for (int i = 0; i < 8; i++) {
		stale[i] = event_new(base, fds[i], EV_READ | EV_PERSIST, never, NULL);
		event_add(stale[i], NULL);
	}
	for (int i = 0; i < 8; i++)
		close(fds[i]); /* closed with the events still added */
	struct got g = {0};
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)"echo done", NULL};
	struct mm_child_params p = {.argv = argv, .capture = true, .timeout_ms = 10000};
	struct mm_err err;
	int64_t t0 = mm_mono_ms();
	assert_non_null(mm_child_start(base, &p, on_done, &g, &err));
	while (!g.calls && mm_mono_ms() - t0 < 5000)
		event_base_loop(base, EVLOOP_ONCE);
	int64_t took = mm_mono_ms() - t0;
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.res.exit_code, 0);
	assert_string_equal(g.out, "done\n");
	assert_true(took < 2000); /* the backstop, not the 10 s timeout */
	for (int i = 0; i < 8; i++)
		event_free(stale[i]);
	event_base_free(base);
}

static int collect(void *arg, const char *buf, size_t len)
{
	strncat(arg, buf, len);
	return 0;
}

static void test_blocking_run(void **state)
{
	char out[256] = "";
	char *ok[] = {(char *)"/bin/sh", (char *)"-c", (char *)"echo fine", NULL};
	struct mm_child_params p = {.argv = ok, .on_data = collect, .data_arg = out,
				    .keep_stderr = true, .timeout_ms = 5000};
	struct mm_child_result res;
	struct mm_err err;
	assert_int_equal(mm_child_run(&p, &res, &err), 0);
	assert_string_equal(out, "fine\n");
	assert_int_equal(res.exit_code, 0);

	char *bad[] = {(char *)"/bin/sh", (char *)"-c", (char *)"echo 'no such queue' >&2; exit 69",
		       NULL};
	p.argv = bad;
	assert_int_equal(mm_child_run(&p, &res, &err), -1);
	assert_int_equal(res.exit_code, 69);
	assert_non_null(strstr(err.msg, "exit 69"));
	assert_non_null(strstr(err.msg, "no such queue"));

	char *slow[] = {(char *)"/bin/sleep", (char *)"5", NULL};
	p.argv = slow;
	p.timeout_ms = 100;
	assert_int_equal(mm_child_run(&p, &res, &err), -1);
	assert_true(res.timed_out);
	assert_non_null(strstr(err.msg, "timed out"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes_and_output),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test(test_large_output_complete),
		cmocka_unit_test(test_on_data_stop),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_no_fd_leak),
		cmocka_unit_test(test_cannot_start),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_lost_registration),
		cmocka_unit_test(test_blocking_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

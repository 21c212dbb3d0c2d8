/* httpd_test: after the httpd has served and closed a connection, the fd
 * numbers it used work again for anyone on the same loop. (Its bufferevent
 * outlives evhttp's socket; were its read event left added, libevent would
 * keep a stale entry under the number and silently never watch the next
 * file given that number: a probe's socketpair, a child's pidfd.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/httpc.h"
#include "core/httpd.h"

static void on_x(struct evhttp_request *req, void *arg)
{
	mm_httpd_reply_json(req, 200, json_pack("{s:b}", "ok", 1));
}

static void on_done(const struct mm_httpc_res *res, void *arg)
{
	*(int *)arg = res->status;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	char b;
	(void)!read(fd, &b, 1);
	(*(int *)arg)++;
}

static void test_fds_reusable_after_close(void **state)
{
	struct event_base *base = event_base_new();
	struct mm_httpd_opts o = {.max_conns = 8, .request_timeout_ms = 5000};
	struct mm_httpd *h = mm_httpd_new(base, &o);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(lfd, 16), 0);
	getsockname(lfd, (struct sockaddr *)&a, &al);
	struct mm_err err;
	assert_int_equal(mm_httpd_listen_fd(h, lfd, &err), 0);
	mm_httpd_route(h, "/x", on_x, NULL);

	/* a few requests, each on its own connection that the server closes */
	for (int i = 0; i < 3; i++) {
		int status = 0;
		struct mm_httpc_req req = {.host = "127.0.0.1", .port = ntohs(a.sin_port),
					   .path = "/x", .timeout_ms = 3000};
		assert_non_null(mm_httpc_start(base, &req, on_done, &status, &err));
		int64_t t0 = mm_mono_ms();
		while (!status && mm_mono_ms() - t0 < 3000)
			event_base_loop(base, EVLOOP_ONCE);
		assert_int_equal(status, 200);
	}
	for (int i = 0; i < 20; i++) /* let evhttp finish and close */
		event_base_loop(base, EVLOOP_NONBLOCK);

	/* the lowest free numbers now: the ones the server's sockets had */
	int fds[8], fired[8] = {0};
	struct event *ev[8];
	for (int i = 0; i < 8; i += 2)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds + i), 0);
	for (int i = 0; i < 8; i++) {
		ev[i] = event_new(base, fds[i], EV_READ | EV_PERSIST, on_readable, &fired[i]);
		event_add(ev[i], NULL);
	}
	for (int i = 0; i < 8; i++)
		assert_int_equal(write(fds[i ^ 1], "x", 1), 1);
	int64_t t0 = mm_mono_ms();
	int all = 0;
	while (!all && mm_mono_ms() - t0 < 1000) {
		struct timeval tv = {0, 50000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		all = 1;
		for (int i = 0; i < 8; i++)
			all &= fired[i] > 0;
	}
	for (int i = 0; i < 8; i++)
		if (!fired[i])
			fail_msg("fd %d: its read event never fired", fds[i]);
	for (int i = 0; i < 8; i++) {
		event_free(ev[i]);
		close(fds[i]);
	}
	mm_httpd_free(h);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_fds_reusable_after_close)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

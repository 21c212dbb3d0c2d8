/* httpc_test: the shared HTTP client against a real evhttp server run in
 * a thread of the test: GET and POST with custom headers and a body,
 * status codes, the byte cap, the total timeout against a server that
 * never answers, refused connections, a peer that does not speak HTTP,
 * five requests at once, cancel, numeric-only hosts, header injection,
 * and the CLI's blocking mm_http_get. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/httpc.h"
#include "core/httpget.h"

/* ---- the server (its own thread and loop) ---- */

struct server {
	struct event_base *base;
	struct evhttp *http;
	struct event *stop;
	int stop_fd[2]; /* a byte on [1] stops the server's loop (no locks in libevent here) */
	pthread_t thread;
	int port;	  /* evhttp */
	int junk_port;	  /* answers "SSH-2.0-x" and closes */
	int refused_port; /* nothing listens */
	int junk_fd;
	struct event *junk_ev;
};

static struct server srv;

static void reply(struct evhttp_request *req, int code, const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Other", b);
	evbuffer_free(b);
}

/* "METHOD|X-Test header|Content-Type|body" */
static void on_echo(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *xt = evhttp_find_header(h, "X-Test");
	const char *ct = evhttp_find_header(h, "Content-Type");
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char out[4096];
	int k = snprintf(out, sizeof out, "%s|%s|%s|%.*s",
			 evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "GET",
			 xt ? xt : "-", ct ? ct : "-", (int)n,
			 (const char *)evbuffer_pullup(in, (ev_ssize_t)n));
	reply(req, 200, out, (size_t)k);
}

static void on_big(struct evhttp_request *req, void *arg)
{
	static char big[100000];
	memset(big, 'b', sizeof big);
	reply(req, 200, big, sizeof big);
}

static void on_missing(struct evhttp_request *req, void *arg)
{
	reply(req, 404, "nope", 4);
}

static void on_hang(struct evhttp_request *req, void *arg)
{
	/* never answers; evhttp_free drops it at the end */
}

static void delayed(evutil_socket_t fd, short what, void *arg)
{
	reply(arg, 200, "late", 4);
}

static void on_delay(struct evhttp_request *req, void *arg)
{
	struct timeval tv = {0, 300 * 1000};
	event_base_once(srv.base, -1, EV_TIMEOUT, delayed, req, &tv);
}

static void on_junk(evutil_socket_t fd, short what, void *arg)
{
	int c = accept(fd, NULL, NULL);
	if (c >= 0) {
		static const char junk[] = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
		(void)!write(c, junk, sizeof junk - 1);
		close(c);
	}
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(srv.base);
}

static void *serve(void *arg)
{
	event_base_dispatch(srv.base);
	return NULL;
}

static int bound_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &l);
	return ntohs(a.sin_port);
}

static int listen_any(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static int setup(void **state)
{
	/* The server here writes 100 kB to a client that hangs up at its
	 * cap: like mailmond, the test process ignores SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	memset(&srv, 0, sizeof srv);
	srv.base = event_base_new();
	srv.http = evhttp_new(srv.base);
	evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_cb(srv.http, "/echo", on_echo, NULL);
	evhttp_set_cb(srv.http, "/big", on_big, NULL);
	evhttp_set_cb(srv.http, "/missing", on_missing, NULL);
	evhttp_set_cb(srv.http, "/hang", on_hang, NULL);
	evhttp_set_cb(srv.http, "/delay", on_delay, NULL);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(srv.http, "127.0.0.1", 0);
	assert_non_null(bs);
	srv.port = bound_port(evhttp_bound_socket_get_fd(bs));
	srv.junk_fd = listen_any();
	listen(srv.junk_fd, 8);
	srv.junk_port = bound_port(srv.junk_fd);
	srv.junk_ev = event_new(srv.base, srv.junk_fd, EV_READ | EV_PERSIST, on_junk, NULL);
	event_add(srv.junk_ev, NULL);
	int closed = listen_any(); /* bound, never listening: refused */
	srv.refused_port = bound_port(closed);
	close(closed);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, srv.stop_fd), 0);
	srv.stop = event_new(srv.base, srv.stop_fd[0], EV_READ, on_stop, NULL);
	event_add(srv.stop, NULL);
	pthread_create(&srv.thread, NULL, serve, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)!write(srv.stop_fd[1], "x", 1);
	pthread_join(srv.thread, NULL);
	close(srv.stop_fd[0]);
	close(srv.stop_fd[1]);
	event_free(srv.stop);
	event_free(srv.junk_ev);
	close(srv.junk_fd);
	evhttp_free(srv.http);
	event_base_free(srv.base);
	return 0;
}

/* ---- the client ---- */

struct got {
	int calls;
	int status;
	char error[200];
	char body[200];
	size_t len;
	int64_t ms;
};

static void on_done(const struct mm_httpc_res *r, void *arg)
{
	struct got *g = arg;
	g->calls++;
	g->status = r->status;
	snprintf(g->error, sizeof g->error, "%s", r->error ? r->error : "");
	snprintf(g->body, sizeof g->body, "%s", r->body);
	g->len = r->body_len;
	g->ms = r->ms;
}

static void run(struct mm_httpc_req *req, struct got *g)
{
	struct event_base *base = event_base_new();
	struct mm_err err;
	assert_non_null(mm_httpc_start(base, req, on_done, g, &err));
	event_base_dispatch(base);
	event_base_free(base);
	assert_int_equal(g->calls, 1);
}

static void test_get_and_post(void **state)
{
	struct got g = {0};
	struct mm_httpc_req req = {.host = "127.0.0.1", .port = srv.port, .path = "/echo"};
	run(&req, &g);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.error, "");
	assert_string_equal(g.body, "GET|-|-|");

	static const char body[] = "{\"labels\":{\"alertname\":\"diskavail\"}}";
	const char *hdrs[] = {"Content-Type: application/json", "X-Test:  two words", NULL};
	struct mm_httpc_req post = {.method = "POST", .host = "127.0.0.1", .port = srv.port,
				    .path = "/echo", .headers = hdrs, .body = body,
				    .body_len = sizeof body - 1};
	struct got p = {0};
	run(&post, &p);
	assert_int_equal(p.status, 200);
	assert_string_equal(p.body, "POST|two words|application/json|{\"labels\":{\"alertname\":"
				    "\"diskavail\"}}");
}

static void test_status_is_not_an_error(void **state)
{
	struct got g = {0};
	struct mm_httpc_req req = {.host = "127.0.0.1", .port = srv.port, .path = "/missing"};
	run(&req, &g);
	assert_int_equal(g.status, 404);
	assert_string_equal(g.error, "");
	assert_string_equal(g.body, "nope");
}

static void test_byte_cap(void **state)
{
	struct got g = {0};
	struct mm_httpc_req req = {.host = "127.0.0.1", .port = srv.port, .path = "/big",
				   .max_bytes = 50000};
	run(&req, &g);
	assert_int_equal(g.status, 0);
	assert_non_null(strstr(g.error, "larger than 50000 bytes"));
	assert_int_equal(g.len, 0);
	/* under the cap: the whole body */
	struct got ok = {0};
	req.max_bytes = 100000;
	run(&req, &ok);
	assert_int_equal(ok.status, 200);
	assert_int_equal(ok.len, 100000);
}

static void test_timeout(void **state)
{
	struct got g = {0};
	struct mm_httpc_req req = {.host = "127.0.0.1", .port = srv.port, .path = "/hang",
				   .timeout_ms = 300};
	int64_t t0 = mm_mono_ms();
	run(&req, &g);
	int64_t took = mm_mono_ms() - t0;
	assert_int_equal(g.status, 0);
	assert_true(g.error[0]);
	assert_true(took >= 290 && took < 2000);
}

static void test_refused_and_junk(void **state)
{
	struct got g = {0};
	struct mm_httpc_req req = {.host = "127.0.0.1", .port = srv.refused_port, .path = "/"};
	run(&req, &g);
	assert_int_equal(g.status, 0);
	assert_non_null(strstr(g.error, "127.0.0.1:"));

	struct got j = {0};
	struct mm_httpc_req jr = {.host = "127.0.0.1", .port = srv.junk_port, .path = "/",
				  .timeout_ms = 2000};
	run(&jr, &j);
	assert_int_equal(j.status, 0);
	assert_true(j.error[0]);
	assert_true(j.ms < 1500); /* an error, not the timeout */
}

/* Five requests the server answers after 300 ms each: together they take
 * about 300 ms, not 1.5 s. */
static void test_concurrent(void **state)
{
	struct event_base *base = event_base_new();
	struct got g[5];
	memset(g, 0, sizeof g);
	struct mm_httpc_req req = {.host = "127.0.0.1", .port = srv.port, .path = "/delay"};
	struct mm_err err;
	int64_t t0 = mm_mono_ms();
	for (int i = 0; i < 5; i++)
		assert_non_null(mm_httpc_start(base, &req, on_done, &g[i], &err));
	event_base_dispatch(base);
	int64_t took = mm_mono_ms() - t0;
	event_base_free(base);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(g[i].calls, 1);
		assert_int_equal(g[i].status, 200);
		assert_string_equal(g[i].body, "late");
	}
	assert_true(took < 1000);
}

static void test_cancel(void **state)
{
	struct event_base *base = event_base_new();
	struct got g = {0};
	struct mm_httpc_req req = {.host = "127.0.0.1", .port = srv.port, .path = "/delay"};
	struct mm_err err;
	struct mm_httpc *h = mm_httpc_start(base, &req, on_done, &g, &err);
	assert_non_null(h);
	event_base_loop(base, EVLOOP_NONBLOCK); /* connecting */
	mm_httpc_cancel(h);
	event_base_dispatch(base); /* returns: nothing pending */
	event_base_free(base);
	assert_int_equal(g.calls, 0);
}

static void test_refused_before_sending(void **state)
{
	static const struct {
		const char *host;
		int port;
		const char *path;
		const char *header;
		const char *method;
		const char *want;
	} cases[] = {
		{"localhost", 80, "/", NULL, NULL, "not a numeric address"},
		{"mx.example.org", 80, "/", NULL, NULL, "not a numeric address"},
		{"127.0.0.1", 0, "/", NULL, NULL, "bad port"},
		{"127.0.0.1", 80, "no-slash", NULL, NULL, "bad request path"},
		{"127.0.0.1", 80, "/a b", NULL, NULL, "bad request path"},
		{"127.0.0.1", 80, "/", "X-A: b\r\nX-Injected: c", NULL, "bad request header"},
		{"127.0.0.1", 80, "/", "no colon", NULL, "bad request header"},
		{"127.0.0.1", 80, "/", NULL, "DELETE", "unsupported HTTP method"},
	};
	struct event_base *base = event_base_new();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *hdrs[] = {cases[i].header, NULL};
		struct mm_httpc_req req = {.host = cases[i].host, .port = cases[i].port,
					   .path = cases[i].path, .method = cases[i].method,
					   .headers = hdrs};
		struct mm_err err = {{0}};
		struct got g = {0};
		assert_null(mm_httpc_start(base, &req, on_done, &g, &err));
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].want);
	}
	event_base_free(base);
}

static void test_ipv6_literal(void **state)
{
	/* ::1 may be absent here: the point is that it is tried, not refused
	 * as a name, and that the answer (or the failure) comes back. */
	struct got g = {0};
	struct mm_httpc_req req = {.host = "::1", .port = srv.refused_port, .path = "/",
				   .timeout_ms = 1000};
	run(&req, &g);
	assert_int_equal(g.status, 0);
	assert_non_null(strstr(g.error, "[::1]:"));
}

static void test_blocking_get(void **state)
{
	int status = 0;
	char *body = NULL;
	struct mm_err err;
	assert_int_equal(mm_http_get("127.0.0.1", srv.port, "/echo", NULL, 2000, 1000, &status, &body,
				     &err),
			 0);
	assert_int_equal(status, 200);
	assert_string_equal(body, "GET|-|-|");
	free(body);
	assert_int_equal(mm_http_get("127.0.0.1", srv.port, "/big", NULL, 2000, 1000, &status, &body,
				     &err),
			 -1);
	assert_non_null(strstr(err.msg, "larger than 1000 bytes"));
	assert_int_equal(mm_http_get("127.0.0.1", srv.port, "/hang", NULL, 200, 1000, &status, &body,
				     &err),
			 -1);
}

/* The blocking form, in a process that does not ignore SIGPIPE, POSTs
 * 4 MB to a peer that hangs up at once: an error, not a dead process. */
static void test_blocking_survives_sigpipe(void **state)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		size_t n = 4u << 20;
		char *body = calloc(1, n);
		struct mm_httpc_req req = {.method = "POST", .host = "127.0.0.1",
					   .port = srv.junk_port, .path = "/", .body = body,
					   .body_len = n, .timeout_ms = 3000};
		int status;
		char *out;
		struct mm_err err;
		int rc = mm_httpc_fetch(&req, &status, &out, NULL, &err);
		_exit(rc == -1 ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("killed by signal %d", WTERMSIG(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_and_post),
		cmocka_unit_test(test_status_is_not_an_error),
		cmocka_unit_test(test_byte_cap),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_refused_and_junk),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_refused_before_sending),
		cmocka_unit_test(test_ipv6_literal),
		cmocka_unit_test(test_blocking_get),
		cmocka_unit_test(test_blocking_survives_sigpipe),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

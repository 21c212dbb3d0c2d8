/*
 * httpc: see httpc.h. One evhttp_connection per request (so requests to
 * several nodes never queue behind each other), no retries, a total
 * deadline of our own on top of evhttp's per-read/write timeout. evhttp
 * frees the request after its callback; we free the connection later,
 * from a zero-delay event, never inside evhttp's own callback.
 */
#include "core/httpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/strbuf.h"
#include "core/xalloc.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_MAX_BYTES ((size_t)8 << 20)
#define MAX_HEADERS_SIZE (64 * 1024)

struct mm_httpc {
	struct evhttp_connection *conn;
	struct evhttp_request *req; /* evhttp's, until its callback ran */
	struct event *ev_deadline, *ev_finish;
	struct mm_strbuf body;
	int status;
	const char *error;
	char errbuf[160];
	char peer[64];
	size_t max_bytes;
	int64_t started, ended;
	mm_httpc_done_fn *done;
	void *arg;
};

static void destroy(struct mm_httpc *h)
{
	if (h->conn)
		evhttp_connection_free(h->conn); /* frees a request still queued, no callback */
	if (h->ev_deadline)
		event_free(h->ev_deadline);
	if (h->ev_finish)
		event_free(h->ev_finish);
	mm_strbuf_free(&h->body);
	free(h);
}

static void on_finish(evutil_socket_t fd, short what, void *arg)
{
	struct mm_httpc *h = arg;
	struct mm_httpc_res res = {
		.status = h->error ? 0 : h->status,
		.error = h->error,
		.body = h->error ? "" : h->body.p,
		.body_len = h->error ? 0 : h->body.len,
		.ms = h->ended - h->started,
	};
	h->done(&res, h->arg);
	destroy(h);
}

/* Records the outcome once and schedules on_finish outside evhttp. */
static void settle(struct mm_httpc *h, const char *error)
{
	if (h->ended)
		return;
	h->ended = mm_mono_ms();
	h->error = error;
	event_del(h->ev_deadline);
	event_active(h->ev_finish, EV_TIMEOUT, 0);
}

static void on_error(enum evhttp_request_error e, void *arg)
{
	struct mm_httpc *h = arg;
	int saved = errno;
	const char *why;
	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		why = "no answer in time";
		break;
	case EVREQ_HTTP_EOF:
		why = "connection closed before a complete answer";
		break;
	case EVREQ_HTTP_INVALID_HEADER:
		why = "not a valid HTTP answer";
		break;
	case EVREQ_HTTP_DATA_TOO_LONG:
		snprintf(h->errbuf, sizeof h->errbuf, "%s: answer larger than %zu bytes", h->peer,
			 h->max_bytes);
		h->req = NULL;
		settle(h, h->errbuf);
		return;
	case EVREQ_HTTP_REQUEST_CANCEL:
		why = "cancelled";
		break;
	case EVREQ_HTTP_BUFFER_ERROR:
	default:
		why = "connection failed";
		break;
	}
	if (saved && e != EVREQ_HTTP_INVALID_HEADER)
		snprintf(h->errbuf, sizeof h->errbuf, "%s: %s (%s)", h->peer, why, strerror(saved));
	else
		snprintf(h->errbuf, sizeof h->errbuf, "%s: %s", h->peer, why);
	h->req = NULL;
	settle(h, h->errbuf);
}

static void on_response(struct evhttp_request *req, void *arg)
{
	struct mm_httpc *h = arg;
	h->req = NULL; /* evhttp frees it after we return */
	if (!req || evhttp_request_get_response_code(req) == 0) {
		if (!h->ended) {
			snprintf(h->errbuf, sizeof h->errbuf, "%s: connection failed", h->peer);
			settle(h, h->errbuf);
		}
		return;
	}
	h->status = evhttp_request_get_response_code(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	mm_strbuf_add(&h->body, evbuffer_pullup(in, (ev_ssize_t)n), n);
	settle(h, NULL);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct mm_httpc *h = arg;
	snprintf(h->errbuf, sizeof h->errbuf, "%s: no complete answer within %lld ms", h->peer,
		 (long long)(mm_mono_ms() - h->started));
	/* Drop the connection now: nothing more is read or sent. */
	if (h->conn)
		evhttp_connection_free(h->conn);
	h->conn = NULL;
	h->req = NULL;
	settle(h, h->errbuf);
}

/* Adds "Name: value" to hdrs; -1 unless it is one well-formed header. */
static int add_header(struct evkeyvalq *hdrs, const char *line, struct mm_err *err)
{
	const char *colon = strchr(line, ':');
	if (!colon || colon == line || strpbrk(line, "\r\n"))
		return mm_err_set(err, "bad request header \"%.60s\"", line);
	char name[128];
	size_t nl = (size_t)(colon - line);
	if (nl >= sizeof name)
		return mm_err_set(err, "request header name too long");
	memcpy(name, line, nl);
	name[nl] = '\0';
	if (strpbrk(name, " \t"))
		return mm_err_set(err, "bad request header \"%.60s\"", line);
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	evhttp_remove_header(hdrs, name);
	return evhttp_add_header(hdrs, name, v) == 0 ? 0 : mm_err_set(err, "bad request header");
}

static int check_req(const struct mm_httpc_req *r, enum evhttp_cmd_type *type, bool *v6,
		     struct mm_err *err)
{
	unsigned char addr[16];
	if (!r->host || (inet_pton(AF_INET, r->host, addr) != 1 &&
			 !(*v6 = inet_pton(AF_INET6, r->host, addr) == 1)))
		return mm_err_set(err, "%s: not a numeric address (names are never resolved)",
				  r->host ? r->host : "(no host)");
	if (r->port <= 0 || r->port > 65535)
		return mm_err_set(err, "%s: bad port %d", r->host, r->port);
	if (!r->path || r->path[0] != '/' || strpbrk(r->path, " \r\n"))
		return mm_err_set(err, "bad request path");
	if (!r->method || strcmp(r->method, "GET") == 0)
		*type = EVHTTP_REQ_GET;
	else if (strcmp(r->method, "POST") == 0)
		*type = EVHTTP_REQ_POST;
	else
		return mm_err_set(err, "unsupported HTTP method %.16s", r->method);
	return 0;
}

struct mm_httpc *mm_httpc_start(struct event_base *base, const struct mm_httpc_req *r,
				mm_httpc_done_fn *done, void *arg, struct mm_err *err)
{
	enum evhttp_cmd_type type = EVHTTP_REQ_GET;
	bool v6 = false;
	if (check_req(r, &type, &v6, err) < 0)
		return NULL;
	struct mm_httpc *h = xcalloc(1, sizeof *h);
	h->done = done;
	h->arg = arg;
	h->max_bytes = r->max_bytes ? r->max_bytes : DEFAULT_MAX_BYTES;
	mm_strbuf_init(&h->body, h->max_bytes);
	snprintf(h->peer, sizeof h->peer, v6 ? "[%s]:%d" : "%s:%d", r->host, r->port);
	h->ev_deadline = evtimer_new(base, on_deadline, h);
	h->ev_finish = event_new(base, -1, 0, on_finish, h);
	/* No dns_base: evhttp would resolve with getaddrinfo, which returns
	 * at once for the numeric address checked above. */
	h->conn = evhttp_connection_base_new(base, NULL, r->host, (unsigned short)r->port);
	if (!h->conn) {
		mm_err_set(err, "%s: cannot create a connection", h->peer);
		goto fail;
	}
	int64_t t = r->timeout_ms > 0 ? r->timeout_ms : DEFAULT_TIMEOUT_MS;
	struct timeval tv = {(time_t)(t / 1000), (suseconds_t)(t % 1000) * 1000};
	evhttp_connection_set_timeout_tv(h->conn, &tv);
	evhttp_connection_set_retries(h->conn, 0);
	evhttp_connection_set_max_body_size(h->conn, (ev_ssize_t)h->max_bytes);
	evhttp_connection_set_max_headers_size(h->conn, MAX_HEADERS_SIZE);
	struct evhttp_request *req = evhttp_request_new(on_response, h);
	evhttp_request_set_error_cb(req, on_error);
	struct evkeyvalq *hdrs = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdrs, "Host", h->peer);
	evhttp_add_header(hdrs, "User-Agent", "mailmon");
	evhttp_add_header(hdrs, "Connection", "close");
	for (const char *const *hp = r->headers; hp && *hp; hp++)
		if (add_header(hdrs, *hp, err) < 0) {
			evhttp_request_free(req);
			goto fail;
		}
	if (type == EVHTTP_REQ_POST && r->body_len)
		evbuffer_add(evhttp_request_get_output_buffer(req), r->body, r->body_len);
	h->started = mm_mono_ms();
	if (evhttp_make_request(h->conn, req, type, r->path) != 0) {
		/* evhttp freed req */
		mm_err_set(err, "%s: cannot send the request", h->peer);
		goto fail;
	}
	h->req = req;
	evtimer_add(h->ev_deadline, &tv);
	return h;
fail:
	destroy(h);
	return NULL;
}

void mm_httpc_cancel(struct mm_httpc *h)
{
	if (h)
		destroy(h);
}

/* ---- blocking ---- */

struct fetch {
	bool done;
	int status;
	char *body;
	size_t len;
	char error[160];
};

static void fetch_done(const struct mm_httpc_res *res, void *arg)
{
	struct fetch *f = arg;
	f->done = true;
	f->status = res->status;
	if (res->error) {
		snprintf(f->error, sizeof f->error, "%s", res->error);
		return;
	}
	f->body = xstrndup(res->body, res->body_len);
	f->len = res->body_len;
}

/* evhttp writes with plain send(): a peer that closes first would raise
 * SIGPIPE. The daemon ignores it; the blocking form, used by programs
 * that may not, blocks it in this thread for the call and swallows any
 * instance it raised. */
static void fetch_loop(const struct mm_httpc_req *req, struct fetch *f, struct mm_err *err)
{
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	struct event_base *base = event_base_new();
	struct mm_httpc *h = base ? mm_httpc_start(base, req, fetch_done, f, err) : NULL;
	if (!base)
		mm_err_set(err, "cannot create an event loop");
	while (h && !f->done && event_base_loop(base, EVLOOP_ONCE) >= 0)
		;
	if (base)
		event_base_free(base);
	if (!sigismember(&old, SIGPIPE)) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (h && !f->done)
		mm_err_set(err, "event loop failed");
}

int mm_httpc_fetch(const struct mm_httpc_req *req, int *status, char **body, size_t *len,
		   struct mm_err *err)
{
	struct fetch f = {0};
	fetch_loop(req, &f, err);
	if (!f.done)
		return -1;
	if (f.error[0])
		return mm_err_set(err, "%s", f.error);
	*status = f.status;
	*body = f.body;
	if (len)
		*len = f.len;
	return 0;
}

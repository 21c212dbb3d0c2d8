/*
 * httpd: see httpd.h.
 *
 * Knowing when evhttp closes a connection: evhttp 2.1 has no connection
 * cap and no close hook for incoming connections, but it lets us create
 * each connection's bufferevent (evhttp_set_bevcb). We create it without
 * BEV_OPT_CLOSE_ON_FREE, so evhttp closes the socket itself the moment it
 * drops the connection, and we hold one extra reference, so the
 * bufferevent's memory outlives evhttp's use of it. evhttp gives every
 * callback of that bufferevent its connection as the argument, and
 * bufferevent_free() clears it: a record whose bufferevent has no callback
 * argument left is a closed connection, and dropping our reference frees
 * it. The same argument is the evhttp_connection to free when a
 * connection must be evicted or has passed its deadline.
 *
 * Our reference keeps the bufferevent's read event added after evhttp has
 * closed the socket; libevent would then keep a stale entry under that fd
 * number and never register the next file opened with it (a probe's
 * socketpair, a child's pidfd). So each connection gets a close callback
 * as soon as its evhttp_connection is known (first bytes, or the next
 * sweep, well before evhttp's own timeout), and it disables the
 * bufferevent's events while the socket is still open.
 */
#include "core/httpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "core/clock.h"
#include "core/parse.h"
#include "core/repeat.h"
#include "core/utf8.h"
#include "core/xalloc.h"

#define ACCEPT_PAUSE_MS 100
/* Accepts per loop turn. libevent's listener accepts until the queue is
 * empty, and evhttp reads a new connection's request only after that:
 * behind a burst of 2,000 connections a real client's request, already
 * read by the kernel, waited 100-180 ms for the whole burst to be
 * accepted. Yielding after a few keeps that wait to one batch (under a
 * millisecond at the cap, where each accept also closes an idle one). */
#define ACCEPT_BATCH 16

struct conn {
	struct bufferevent *bev; /* our reference */
	int64_t since_ms;	 /* start of the request being waited for */
	bool nul;		 /* a NUL byte came in (evhttp's C strings hide it) */
	uint64_t got;		 /* bytes received */
	SSL *ssl;		 /* TLS: freed with the record */
	bool hooked;		 /* close callback set on its evhttp_connection */
	struct conn *prev, *next;
};

struct route {
	struct mm_httpd *h;
	char *path; /* NULL: the fallback */
	mm_httpd_handler fn;
	void *arg;
	bool post; /* also takes POST (mm_httpd_route_post) */
};

struct mm_httpd {
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *lev;
	int max_conns;	    /* configured cap */
	int cap;	    /* in force: lowered when accept() ran out of fds */
	int64_t last_accept_error_ms;
	int64_t timeout_ms;
	char **hosts; /* NULL: any */
	char *bearer, *basic64;
	SSL_CTX *tls;
	struct mm_logsink note;

	struct conn *head, *tail; /* oldest first */
	int nconns;
	struct event *ev_sweep, *ev_resume;
	bool paused;	  /* accept() failed: waiting for fds */
	bool yielded;	  /* ACCEPT_BATCH reached: one loop turn for the rest */
	int batch;	  /* accepts since the last yield */
	struct timeval reaped_at; /* loop turn of the last reap (cached time) */
	struct mm_repeat accept_rep;

	struct route **routes;
	size_t nroutes, routes_cap;
	struct route fallback;

	uint64_t accepted, evicted, expired, rejected, unauthorized, accept_errors;
};

/* The evhttp connection behind a record, or NULL when evhttp closed it. */
static struct evhttp_connection *conn_evcon(struct conn *c)
{
	void *arg = NULL;
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &arg);
	return arg;
}

/* evhttp is about to close the socket: take the events off it first. */
static void on_evcon_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
}

static void conn_hook(struct conn *c)
{
	struct evhttp_connection *evcon;
	if (c->hooked || !(evcon = conn_evcon(c)))
		return;
	evhttp_connection_set_closecb(evcon, on_evcon_close, c);
	c->hooked = true;
}

static void conn_release(struct mm_httpd *h, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		h->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		h->tail = c->prev;
	h->nconns--;
	bufferevent_decref(c->bev);
	if (c->ssl)
		SSL_free(c->ssl); /* the bufferevent was made without CLOSE_ON_FREE */
	free(c);
}

/* Closes a live connection (evhttp closes its socket) and drops the record. */
static void conn_close(struct mm_httpd *h, struct conn *c)
{
	struct evhttp_connection *evcon = conn_evcon(c);
	if (evcon)
		evhttp_connection_free(evcon);
	conn_release(h, c);
}

/* Drops the records of connections evhttp has closed. */
static void reap(struct mm_httpd *h)
{
	for (struct conn *c = h->head, *next; c; c = next) {
		next = c->next;
		if (!conn_evcon(c))
			conn_release(h, c);
	}
}

/* The connection to close for a new one: the oldest that has sent
 * nothing, not even bytes still in the kernel (a client accepted in the
 * same burst has its request there, unread); else the oldest. */
static struct conn *victim(struct mm_httpd *h)
{
	for (struct conn *c = h->head; c; c = c->next) {
		if (c->got)
			continue;
		int pending = 0;
		int fd = bufferevent_getfd(c->bev);
		if (fd < 0 || (ioctl(fd, FIONREAD, &pending) == 0 && pending == 0))
			return c;
	}
	return h->head;
}

static void resume_accepting(struct mm_httpd *h)
{
	if ((h->paused || h->yielded) && h->lev) {
		evconnlistener_enable(h->lev);
		h->paused = h->yielded = false;
		h->batch = 0;
	}
}

/* Stops the listener's accept loop after this connection (libevent checks
 * for a disabled listener after each one) and takes it up again on the
 * next loop turn, after the reads that are ready, the requests of the
 * connections just accepted among them. */
static void yield_accepting(struct mm_httpd *h)
{
	if (!h->lev || h->paused || h->yielded)
		return;
	evconnlistener_disable(h->lev);
	h->yielded = true;
	struct timeval now = {0, 0};
	evtimer_add(h->ev_resume, &now);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct mm_httpd *h = arg;
	int64_t now = mm_mono_ms();
	if (h->accept_rep.total && now - h->last_accept_error_ms > 10000) {
		uint64_t n = mm_repeat_clear(&h->accept_rep);
		mm_logsink_printf(&h->note, LOG_NOTICE,
				  "http: accept has worked for 10 s after %llu failure%s; "
				  "connection cap back to %d",
				  (unsigned long long)n, n == 1 ? "" : "s", h->max_conns);
		h->cap = h->max_conns;
	}
	for (struct conn *c = h->head, *next; c; c = next) {
		next = c->next;
		conn_hook(c);
		if (!conn_evcon(c))
			conn_release(h, c);
		else if (now - c->since_ms > h->timeout_ms) {
			h->expired++;
			conn_close(h, c);
		}
	}
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	resume_accepting(arg);
}

/* Runs as bytes arrive, before evhttp parses them. evhttp keeps lines as C
 * strings, so "X: a\0b" would reach us as "X: a": the NUL must be seen
 * here. No body is accepted, so a NUL anywhere is a bad request. */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	conn_hook(c);
	c->got += info->n_added;
	if (c->nul || info->n_added == 0)
		return;
	struct evbuffer_ptr from;
	if (evbuffer_ptr_set(buf, &from, evbuffer_get_length(buf) - info->n_added,
			     EVBUFFER_PTR_SET) < 0)
		return;
	if (evbuffer_search(buf, "", 1, &from).pos >= 0)
		c->nul = true;
}

/* True the first time it is called in a loop turn: libevent caches the
 * time once per turn. Without the cache (a base made with
 * EVENT_BASE_FLAG_NO_CACHE_TIME) it is always true, which is only slower. */
static bool new_turn(struct mm_httpd *h)
{
	struct timeval tv;
	if (event_base_gettimeofday_cached(h->base, &tv) < 0 || !timercmp(&tv, &h->reaped_at, ==)) {
		h->reaped_at = tv;
		return true;
	}
	return false;
}

/* evhttp asks for the bufferevent of each accepted connection. */
static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
	struct mm_httpd *h = arg;
	/* At the cap the count may include connections evhttp has closed:
	 * drop those first, once per loop turn (only evhttp's callbacks
	 * close connections, and none run inside the accept loop). */
	if (h->nconns >= h->cap && new_turn(h))
		reap(h);
	while (h->nconns >= h->cap && h->head) {
		h->evicted++;
		conn_close(h, victim(h));
	}
	SSL *ssl = NULL;
	struct bufferevent *bev;
	if (h->tls) {
		if (!(ssl = SSL_new(h->tls)))
			return NULL;
		bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, 0);
	} else {
		bev = bufferevent_socket_new(base, -1, 0);
	}
	if (!bev) {
		if (ssl)
			SSL_free(ssl);
		return NULL; /* evhttp makes its own; that one goes uncounted */
	}
	bufferevent_incref(bev);
	struct conn *c = xcalloc(1, sizeof *c);
	c->bev = bev;
	c->ssl = ssl;
	c->since_ms = mm_mono_ms();
	evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
	c->prev = h->tail;
	if (h->tail)
		h->tail->next = c;
	else
		h->head = c;
	h->tail = c;
	h->nconns++;
	h->accepted++;
	if (++h->batch >= ACCEPT_BATCH)
		yield_accepting(h);
	return bev;
}

/* A listener's error callback gets the listener's own argument, which
 * evhttp set to its struct evhttp, and libevent 2.1 offers no way to
 * change it alone. This private table maps an evhttp back to its httpd;
 * it is the one piece of file-level state, written only by new/free. */
#define MAX_HTTPD 8
static struct {
	struct evhttp *http;
	struct mm_httpd *h;
} owners[MAX_HTTPD];

static struct mm_httpd *owner_of(void *http)
{
	for (size_t i = 0; i < MAX_HTTPD; i++)
		if (owners[i].http && owners[i].http == http)
			return owners[i].h;
	return NULL;
}

static void set_owner(struct evhttp *http, struct mm_httpd *h)
{
	for (size_t i = 0; i < MAX_HTTPD; i++)
		if (h ? !owners[i].http : owners[i].http == http) {
			owners[i].http = h ? http : NULL;
			owners[i].h = h;
			return;
		}
}

/* accept() failed with something other than EAGAIN/EINTR/ECONNABORTED:
 * EMFILE, ENFILE, ENOBUFS, ENOMEM. The listening socket stays readable, so
 * carrying on would spin; pause, free an fd if we hold the oldest
 * connection, and retry shortly. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct mm_httpd *h = owner_of(arg);
	if (!h) {
		evconnlistener_disable(lev);
		return;
	}
	int e = EVUTIL_SOCKET_ERROR();
	h->accept_errors++;
	h->last_accept_error_ms = mm_mono_ms();
	evconnlistener_disable(lev);
	h->yielded = false;
	h->paused = true;
	reap(h);
	/* The fds ran out below the cap: make this the cap, so the clients
	 * still queued are taken in turn, each in place of an idle one,
	 * instead of one per pause. */
	if (h->nconns > 0 && h->nconns <= h->cap)
		h->cap = h->nconns > 1 ? h->nconns - 1 : 1;
	/* An idle connection closed frees the fd the next accept needs: go on
	 * at the next loop turn, or a real client queued behind waits out
	 * the pause. With none to close, the fds are held elsewhere: wait. */
	int pause_ms = ACCEPT_PAUSE_MS;
	if (h->head) {
		h->evicted++;
		conn_close(h, victim(h));
		pause_ms = 0;
	}
	struct timeval tv = {0, pause_ms * 1000};
	evtimer_add(h->ev_resume, &tv);
	uint64_t suppressed = 0;
	if (!mm_repeat_due(&h->accept_rep, mm_mono_ms(), &suppressed))
		return;
	if (pause_ms)
		mm_logsink_printf(&h->note, LOG_ERR,
				  "http: accept: %s; no connection of ours to close, paused "
				  "accepting for %d ms (%llu more since the last report)",
				  strerror(e), pause_ms, (unsigned long long)suppressed);
	else
		mm_logsink_printf(&h->note, LOG_ERR,
				  "http: accept: %s; closed the oldest idle connection instead, "
				  "connection cap now %d (%llu more since the last report)",
				  strerror(e), h->cap, (unsigned long long)suppressed);
}

/* The record of req's connection, its deadline restarted; NULL for a
 * connection evhttp made without us (out of memory). */
static struct conn *touch(struct mm_httpd *h, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	for (struct conn *c = h->tail; c && bev; c = c->prev)
		if (c->bev == bev) {
			c->since_ms = mm_mono_ms();
			return c;
		}
	return NULL;
}

static bool header_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr("!#$%&'*+-.^_`|~", *s) &&
		    !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

const char *mm_httpd_check_request(struct evhttp_request *req)
{
	const char *uri = evhttp_request_get_uri(req);
	if (!uri || !*uri)
		return "bad request: no target";
	if (!mm_text_clean(uri, strlen(uri)) || strchr(uri, '\t'))
		return "bad request: the target holds control characters or invalid UTF-8";
	if (!evhttp_request_get_evhttp_uri(req))
		return "bad request: the target is not a URI";
	size_t n = 0;
	char *dec = evhttp_uridecode(uri, 0, &n);
	if (!dec)
		return "bad request: the target cannot be decoded";
	bool clean = mm_text_clean(dec, n) && !memchr(dec, '\t', n);
	free(dec);
	if (!clean)
		return "bad request: the decoded target holds NUL, control characters or invalid UTF-8";
	struct evkeyvalq *hdrs = evhttp_request_get_input_headers(req);
	for (struct evkeyval *kv = hdrs->tqh_first; kv; kv = kv->next.tqe_next) {
		if (!header_name_ok(kv->key))
			return "bad request: a header name is not a token";
		if (!mm_text_clean(kv->value, strlen(kv->value)))
			return "bad request: a header value holds control characters or invalid UTF-8";
	}
	return NULL;
}

/* Host header (port removed: "[::1]:9925" -> "::1", "a:1" -> "a") is an
 * address literal or one of the allowed names. A page from a rebound DNS
 * name carries that name as Host, so it is refused. */
static bool host_allowed(const struct mm_httpd *h, const char *host)
{
	if (!h->hosts || !host)
		return true; /* HTTP/1.0 clients may send none; browsers always do */
	char name[256];
	size_t n = strlen(host);
	if (n >= sizeof name)
		return false;
	if (host[0] == '[') {
		const char *end = strchr(host, ']');
		if (!end)
			return false;
		n = (size_t)(end - host - 1);
		memcpy(name, host + 1, n);
	} else {
		const char *colon = strchr(host, ':');
		if (colon && !strchr(colon + 1, ':'))
			n = (size_t)(colon - host);
		memcpy(name, host, n);
	}
	name[n] = '\0';
	unsigned char addr[16];
	if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
		return true; /* an address literal cannot be rebound */
	for (char **p = h->hosts; *p; p++)
		if (strcasecmp(*p, name) == 0)
			return true;
	return false;
}

static bool secret_eq(const char *given, size_t n, const char *want)
{
	size_t m = strlen(want);
	return n == m && CRYPTO_memcmp(given, want, m) == 0;
}

/* A browser cannot send a bearer token when it opens the dashboard, but it
 * can send basic credentials: with a token configured, the token is also
 * accepted as the password of basic auth, whatever the user name. */
static bool token_as_password(const char *b64, const char *token)
{
	unsigned char buf[768];
	size_t n = strlen(b64);
	if (n == 0 || n % 4 || n / 4 * 3 >= sizeof buf)
		return false;
	int len = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
	if (len < 0)
		return false;
	/* EVP_DecodeBlock counts the padding as zero bytes: take it off. */
	while (len > 0 && n > 0 && b64[n - 1] == '=') {
		len--;
		n--;
	}
	buf[len] = '\0';
	const char *colon = memchr(buf, ':', (size_t)len);
	if (!colon)
		return false;
	const char *pw = colon + 1;
	return secret_eq(pw, (size_t)len - (size_t)(pw - (const char *)buf), token);
}

static bool authorized(const struct mm_httpd *h, struct evhttp_request *req)
{
	if (!h->bearer && !h->basic64)
		return true;
	const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (!a)
		return false;
	if (h->bearer && strncasecmp(a, "Bearer ", 7) == 0)
		return secret_eq(a + 7, strlen(a + 7), h->bearer);
	if (h->basic64 && strncasecmp(a, "Basic ", 6) == 0)
		return secret_eq(a + 6, strlen(a + 6), h->basic64);
	if (h->bearer && strncasecmp(a, "Basic ", 6) == 0)
		return token_as_password(a + 6, h->bearer);
	return false;
}

static void reply_error(struct evhttp_request *req, int code, const char *msg)
{
	mm_httpd_reply_json(req, code, json_pack("{s:s}", "error", msg));
}

static void serve(struct evhttp_request *req, void *arg)
{
	struct route *r = arg;
	struct mm_httpd *h = r->h;
	struct conn *c = touch(h, req);
	const char *why = c && c->nul ? "bad request: NUL byte" : mm_httpd_check_request(req);
	if (why) {
		h->rejected++;
		reply_error(req, 400, why);
		return;
	}
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	if (!host_allowed(h, evhttp_find_header(evhttp_request_get_input_headers(req), "Host")) ||
	    (u && evhttp_uri_get_host(u) && !host_allowed(h, evhttp_uri_get_host(u)))) {
		h->rejected++;
		reply_error(req, 421, "this server does not answer for that Host");
		return;
	}
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && !r->post) {
		reply_error(req, 405, "method not allowed");
		return;
	}
	/* A browser sends a custom header cross-site only after a CORS
	 * preflight, which mailmond never grants: a web page cannot make a
	 * visitor's browser POST here. */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST &&
	    !evhttp_find_header(evhttp_request_get_input_headers(req), MM_HTTPD_POST_HEADER)) {
		h->rejected++;
		reply_error(req, 403, "a POST needs the header " MM_HTTPD_POST_HEADER);
		return;
	}
	if (!authorized(h, req)) {
		h->unauthorized++;
		/* Basic first, so a browser asks for it (the token as the
		 * password when a token is set); API clients read Bearer. */
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
				  "Basic realm=\"mailmond\"");
		if (h->bearer)
			evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
					  "Bearer realm=\"mailmond\"");
		reply_error(req, 401, "authorization required");
		return;
	}
	r->fn(req, r->arg);
}

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 421: return "Misdirected Request";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

void mm_httpd_reply_json(struct evhttp_request *req, int code, json_t *doc)
{
	static const char broken[] = "{\n  \"error\": \"internal: the answer could not be encoded\"\n}";
	char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	struct evbuffer *buf = evbuffer_new();
	if (!text)
		code = 500;
	if (buf) {
		if (text)
			evbuffer_add(buf, text, strlen(text));
		else
			evbuffer_add(buf, broken, sizeof broken - 1);
		evbuffer_add(buf, "\n", 1);
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	evhttp_send_reply(req, code, reason(code), buf);
	if (buf)
		evbuffer_free(buf);
	free(text);
	json_decref(doc);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct mm_httpd *mm_httpd_new(struct event_base *base, const struct mm_httpd_opts *o)
{
	struct mm_httpd *h = xcalloc(1, sizeof *h);
	h->base = base;
	h->http = evhttp_new(base);
	if (!h->http) {
		free(h);
		return NULL;
	}
	h->max_conns = o->max_conns > 0 ? o->max_conns : 1;
	h->cap = h->max_conns;
	h->timeout_ms = o->request_timeout_ms > 0 ? o->request_timeout_ms : 10000;
	if (o->hosts) {
		size_t n = 0;
		while (o->hosts[n])
			n++;
		h->hosts = xcalloc(n + 1, sizeof *h->hosts);
		for (size_t i = 0; i < n; i++)
			h->hosts[i] = xstrdup(o->hosts[i]);
	}
	h->bearer = dup_or_null(o->bearer);
	if (o->basic) {
		size_t n = strlen(o->basic);
		h->basic64 = xmalloc(4 * ((n + 2) / 3) + 1);
		EVP_EncodeBlock((unsigned char *)h->basic64, (const unsigned char *)o->basic, (int)n);
	}
	h->tls = o->tls;
	if (h->tls)
		SSL_CTX_up_ref(h->tls);
	h->note = o->note;
	h->accept_rep.window_ms = 60000;
	h->fallback.h = h;

	evhttp_set_max_headers_size(h->http, o->max_header_bytes ? o->max_header_bytes : 8192);
	evhttp_set_max_body_size(h->http, 0);
	struct timeval tv = {.tv_sec = h->timeout_ms / 1000, .tv_usec = (h->timeout_ms % 1000) * 1000};
	evhttp_set_timeout_tv(h->http, &tv);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_bevcb(h->http, on_new_conn, h);

	int64_t sweep = h->timeout_ms / 4 < 250 ? h->timeout_ms / 4 : 250;
	h->ev_sweep = event_new(base, -1, EV_PERSIST, on_sweep, h);
	struct timeval stv = {.tv_sec = 0, .tv_usec = (sweep > 0 ? sweep : 1) * 1000};
	event_add(h->ev_sweep, &stv);
	h->ev_resume = evtimer_new(base, on_resume, h);
	set_owner(h->http, h);
	return h;
}

static int adopt_listener(struct mm_httpd *h, struct evhttp_bound_socket *bound)
{
	h->lev = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(h->lev, on_accept_error);
	return 0;
}

/* Our own socket rather than evhttp_bind_socket: evhttp listens with a
 * backlog of 128, and a burst of connections past it drops SYNs, so a
 * real client waits a full SYN retransmit (1 s) behind a flood. */
int mm_httpd_listen(struct mm_httpd *h, const char *host, int port, struct mm_err *err)
{
	struct sockaddr_storage ss;
	unsigned len;
	if (mm_sockaddr_numeric(host, port, &ss, &len, err) < 0)
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return mm_err_sys(err, errno, "socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0) {
		int e = errno;
		close(fd);
		return mm_err_sys(err, e, "bind/listen");
	}
	return mm_httpd_listen_fd(h, fd, err);
}

int mm_httpd_listen_fd(struct mm_httpd *h, int fd, struct mm_err *err)
{
	evutil_make_socket_nonblocking(fd);
	struct evhttp_bound_socket *b = evhttp_accept_socket_with_handle(h->http, fd);
	if (!b) {
		close(fd);
		return mm_err_set(err, "cannot accept on socket %d", fd);
	}
	return adopt_listener(h, b);
}

static struct route *find_route(struct mm_httpd *h, const char *path)
{
	for (size_t i = 0; i < h->nroutes; i++)
		if (strcmp(h->routes[i]->path, path) == 0)
			return h->routes[i];
	return NULL;
}

void mm_httpd_route(struct mm_httpd *h, const char *path, mm_httpd_handler fn, void *arg)
{
	struct route *r = path ? find_route(h, path) : &h->fallback;
	if (!r) {
		r = xcalloc(1, sizeof *r);
		r->h = h;
		r->path = xstrdup(path);
		h->routes = xgrow(h->routes, &h->routes_cap, h->nroutes + 1, sizeof *h->routes);
		h->routes[h->nroutes++] = r;
		evhttp_set_cb(h->http, path, serve, r);
	}
	r->fn = fn;
	r->arg = arg;
	r->post = false;
	if (!path)
		evhttp_set_gencb(h->http, serve, r);
}

void mm_httpd_route_post(struct mm_httpd *h, const char *path, mm_httpd_handler fn, void *arg)
{
	mm_httpd_route(h, path, fn, arg);
	find_route(h, path)->post = true;
}

void mm_httpd_unroute(struct mm_httpd *h, const char *path)
{
	for (size_t i = 0; i < h->nroutes; i++)
		if (strcmp(h->routes[i]->path, path) == 0) {
			evhttp_del_cb(h->http, path);
			free(h->routes[i]->path);
			free(h->routes[i]);
			h->routes[i] = h->routes[--h->nroutes];
			return;
		}
}

void mm_httpd_stats(const struct mm_httpd *h, struct mm_httpd_stats *st)
{
	int open = 0;
	for (struct conn *c = h->head; c; c = c->next)
		if (conn_evcon(c))
			open++;
	*st = (struct mm_httpd_stats){.open = open, .max = h->max_conns, .paused = h->paused,
				      .accepted = h->accepted, .evicted = h->evicted,
				      .expired = h->expired, .rejected = h->rejected,
				      .unauthorized = h->unauthorized,
				      .accept_errors = h->accept_errors};
}

void mm_httpd_free(struct mm_httpd *h)
{
	if (!h)
		return;
	set_owner(h->http, NULL);
	evhttp_free(h->http); /* frees every live connection */
	while (h->head)
		conn_release(h, h->head);
	event_free(h->ev_sweep);
	event_free(h->ev_resume);
	for (size_t i = 0; i < h->nroutes; i++) {
		free(h->routes[i]->path);
		free(h->routes[i]);
	}
	free(h->routes);
	for (char **p = h->hosts; p && *p; p++)
		free(*p);
	free(h->hosts);
	if (h->bearer)
		OPENSSL_cleanse(h->bearer, strlen(h->bearer));
	free(h->bearer);
	free(h->basic64);
	if (h->tls)
		SSL_CTX_free(h->tls);
	free(h);
}

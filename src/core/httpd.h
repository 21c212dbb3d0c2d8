/*
 * httpd: a hardened front for libevent's evhttp, for a small JSON API.
 *
 * evhttp parses; this file decides what a request may be and how long a
 * client may hold the server:
 *   - every request is checked before its handler runs: the raw and the
 *     percent-decoded target and every header name and value must be clean
 *     text (mm_text_clean: valid UTF-8, no NUL, no control characters),
 *     else 400; a Host header outside the allowed list gets 421 (DNS
 *     rebinding); with credentials set, a request without the right
 *     bearer token or basic credentials gets 401;
 *   - connections are capped: at the cap, a new connection evicts the
 *     oldest one instead of waiting, so idle or slow clients cannot lock
 *     out a real one;
 *   - every connection has an absolute deadline for its next complete
 *     request, not an idle timer that each byte resets (slowloris);
 *   - at most a few connections are accepted per loop turn, so the
 *     requests already read by the kernel are answered between batches
 *     of a flood, not after all of it;
 *   - an accept error (EMFILE, ENFILE, ENOMEM) closes the oldest idle
 *     connection and goes on at the next loop turn, or, with none to
 *     close, pauses accepting for a short while instead of spinning; it
 *     is reported through the note callback at most once per window with
 *     a count.
 *
 * Public: mm_httpd_new/free, mm_httpd_listen (numeric host and port) or
 * mm_httpd_listen_fd (an already bound listening socket), mm_httpd_route,
 * mm_httpd_reply_json, mm_httpd_stats. Handlers must answer synchronously
 * through evhttp (all of mailmond's do).
 *
 * Errors: setup functions return -1 with err. Request problems are
 * answered and counted, never fatal. The note callback is how the owner
 * hears about resource problems; the httpd never logs by itself.
 * Ownership: the httpd owns its evhttp and connection records; routes
 * borrow their arg.
 */
#ifndef MAILMON_CORE_HTTPD_H
#define MAILMON_CORE_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/logsink.h"

struct event_base;
struct evhttp_request;
typedef struct json_t json_t;

struct mm_httpd_opts {
	int max_conns;		   /* open connections at most (>= 1) */
	int64_t request_timeout_ms; /* absolute deadline for each request */
	size_t max_header_bytes;   /* request line + headers */
	const char *const *hosts;  /* names allowed in Host besides address
				      literals (NULL-terminated); NULL: any */
	const char *bearer;	   /* required "Authorization: Bearer X"; NULL: none */
	const char *basic;	   /* or required basic "user:password"; NULL: none */
	struct ssl_ctx_st *tls;	   /* serve TLS with this context (the httpd
				      takes a reference); NULL: plain */
	/* Told about resource problems and recoveries (logsink.h); fn may
	 * be NULL. */
	struct mm_logsink note;
};

struct mm_httpd_stats {
	int open, max;
	bool paused;
	uint64_t accepted, evicted, expired, rejected, unauthorized, accept_errors;
};

typedef void (*mm_httpd_handler)(struct evhttp_request *req, void *arg);

/* The httpd copies opts (strings included). NULL only on OOM. */
struct mm_httpd *mm_httpd_new(struct event_base *base, const struct mm_httpd_opts *opts);
void mm_httpd_free(struct mm_httpd *h);
int mm_httpd_listen(struct mm_httpd *h, const char *host, int port, struct mm_err *err);
/* Takes ownership of fd, a listening socket (privileged-port case). */
int mm_httpd_listen_fd(struct mm_httpd *h, int fd, struct mm_err *err);
/* Routes an exact path (NULL: every other path) to fn after the checks. */
void mm_httpd_route(struct mm_httpd *h, const char *path, mm_httpd_handler fn, void *arg);
void mm_httpd_unroute(struct mm_httpd *h, const char *path);
/* The same for a path that also takes POST (with an empty body; every
 * other route answers a POST 405). A POST must carry the header
 * MM_HTTPD_POST_HEADER (any value), else 403: the cross-site guard. */
#define MM_HTTPD_POST_HEADER "X-Mailmon-Request"
void mm_httpd_route_post(struct mm_httpd *h, const char *path, mm_httpd_handler fn, void *arg);
/* Answers with doc (consumed) as JSON; a document that cannot be encoded
 * (NULL, or a failed json_pack upstream) becomes a 500, never a crash. */
void mm_httpd_reply_json(struct evhttp_request *req, int code, json_t *doc);
void mm_httpd_stats(const struct mm_httpd *h, struct mm_httpd_stats *st);
/* The problem with the request, or NULL when it may be served. */
const char *mm_httpd_check_request(struct evhttp_request *req);

#endif

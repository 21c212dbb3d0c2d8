/*
 * httpc: the one HTTP client, on evhttp (libevent). Any number of
 * requests run at once on one loop, each bounded in time and in bytes:
 * the cluster view polling its nodes' JSON APIs, the Alertmanager POST,
 * and (through mm_http_get, httpget.h) the command line reading the
 * running daemon.
 *
 *   mm_httpc_start(base, req, done, arg, err)
 *       sends req on its own connection and returns at once; done(res,
 *       arg) is called exactly once, from the loop. NULL with err when
 *       the request is refused before anything is sent: a host that is
 *       not a numeric IPv4/IPv6 address, a bad port or path, a header
 *       that is not "Name: value" or holds CR/LF.
 *   mm_httpc_cancel(h)
 *       drops a request in flight; done is not called.
 *   mm_httpc_fetch(req, &status, &body, &len, err)
 *       the same, blocking, on a private event base (for the CLI). The
 *       body is a NUL-terminated heap string the caller frees.
 *
 * Only numeric addresses: no name is ever resolved (no DNS leaves the
 * machine). timeout_ms bounds the whole exchange (connect, send, answer);
 * max_bytes bounds the answer's body (headers: 64 KiB). Past either, the
 * connection is dropped and res->error says which. A non-2xx status is
 * not an error here: the caller reads res->status.
 *
 * SIGPIPE: evhttp writes with send() without MSG_NOSIGNAL, so a program
 * using mm_httpc_start must ignore SIGPIPE (mailmond does); the blocking
 * mm_httpc_fetch blocks it in its thread for the call.
 *
 * Ownership: req and its strings are copied into the request at start.
 * res and its body are valid only inside done. done may start other
 * requests but must not cancel its own.
 */
#ifndef MAILMON_CORE_HTTPC_H
#define MAILMON_CORE_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct event_base;
struct mm_httpc;

struct mm_httpc_req {
	const char *method;	     /* "GET" (NULL) or "POST" */
	const char *host;	     /* numeric: "127.0.0.1", "::1" */
	int port;
	const char *path;	     /* "/api/status" */
	const char *const *headers;  /* "Name: value", NULL-terminated; may be NULL */
	const void *body;	     /* POST body */
	size_t body_len;
	int64_t timeout_ms;	     /* <= 0: 10 s */
	size_t max_bytes;	     /* answer body cap; 0: 8 MiB */
};

struct mm_httpc_res {
	int status;	    /* HTTP status; 0 when there was no answer */
	const char *error;  /* NULL, or why there is no (complete) answer */
	const char *body;   /* NUL-terminated ("" without an answer) */
	size_t body_len;
	int64_t ms;	    /* from start to answer or failure */
};

typedef void mm_httpc_done_fn(const struct mm_httpc_res *res, void *arg);

struct mm_httpc *mm_httpc_start(struct event_base *base, const struct mm_httpc_req *req,
				mm_httpc_done_fn *done, void *arg, struct mm_err *err);
void mm_httpc_cancel(struct mm_httpc *h);
int mm_httpc_fetch(const struct mm_httpc_req *req, int *status, char **body, size_t *len,
		   struct mm_err *err);

#endif

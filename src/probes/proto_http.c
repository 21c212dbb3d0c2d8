/*
 * proto_http: the HTTP(S) probe and the plain TCP probe.
 *
 * HTTP: one HTTP/1.0 GET (no chunked bodies to decode), the status line
 * and headers through the line engine, then, when a body match is asked
 * for, up to 256 KiB of body searched for the string. 2xx and 3xx pass;
 * 4xx/5xx are MM_PF_REJECTED; a body without the string is MM_PF_REJECTED.
 * TCP: the connection (and the TLS handshake, if any) is the whole check.
 */
#include <stdio.h>
#include <string.h>

#include "probes/pingpong.h"

#define HTTP_BODY_CAP (256 * 1024)

static int http_line(struct mm_probe *p, const char *line, size_t len)
{
	return mm_http_reply_feed(&p->rs, line, len);
}

static void http_start(struct mm_probe *p)
{
	const char *host = p->prm.host;
	bool v6 = strchr(host, ':') != NULL;
	pp_send(p, "request", "GET %s HTTP/1.0\r\nHost: %s%s%s:%d\r\nUser-Agent: mailmon-probe\r\n"
			      "Accept: */*\r\nConnection: close\r\n\r\n",
		p->prm.path[0] ? p->prm.path : "/", v6 ? "[" : "", host, v6 ? "]" : "",
		p->prm.port);
}

static void http_reply(struct mm_probe *p)
{
	char t[200];
	p->res.http_status = p->rs.code;
	if (p->rs.code >= 400) {
		pp_fail(p, MM_PF_REJECTED, "request: %s", pp_reply_text(p, t, sizeof t));
		return;
	}
	if (p->prm.match[0]) {
		pp_raw(p, HTTP_BODY_CAP);
		return;
	}
	snprintf(p->res.msg, sizeof p->res.msg, "HTTP %d", p->rs.code);
	pp_finish(p);
}

static void http_raw_done(struct mm_probe *p)
{
	if (!memmem(p->raw, p->raw_len, p->prm.match, strlen(p->prm.match))) {
		pp_fail(p, MM_PF_REJECTED, "body: \"%s\" not found in the first %zu bytes",
			p->prm.match, p->raw_len);
		return;
	}
	snprintf(p->res.msg, sizeof p->res.msg, "HTTP %d, body matches", p->rs.code);
	pp_finish(p);
}

static void http_tls_done(struct mm_probe *p)
{
	http_start(p);
}

const struct mm_proto_ops mm_proto_http = {
	.name = "HTTP",
	.line = http_line,
	.start = http_start,
	.reply = http_reply,
	.tls_done = http_tls_done,
	.raw_done = http_raw_done,
};

static int tcp_line(struct mm_probe *p, const char *line, size_t len)
{
	return MM_REPLY_DONE;
}

static void tcp_start(struct mm_probe *p)
{
	pp_finish(p);
}

static void tcp_noop(struct mm_probe *p)
{
	pp_finish(p);
}

const struct mm_proto_ops mm_proto_tcp = {
	.name = "TCP",
	.line = tcp_line,
	.start = tcp_start,
	.reply = tcp_noop,
	.tls_done = tcp_noop,
	.raw_done = tcp_noop,
};

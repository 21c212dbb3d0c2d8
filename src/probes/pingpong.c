/*
 * pingpong: the engine (see pingpong.h) and mm_probe_start/cancel.
 *
 * Memory bounds: both the socket bufferevent and the TLS filter above it
 * have a read high-watermark of max_line + 1 bytes, so at most that much
 * unread input is ever buffered; a line that does not end within it is a
 * protocol violation. The reply being assembled is capped at max_reply
 * and the whole exchange at max_bytes.
 */
#include "probes/pingpong.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <time.h>
#include "core/clock.h"
#include "core/parse.h"
#include "core/strutil.h"
#include "core/xalloc.h"

static void on_read(struct bufferevent *bev, void *arg);

int64_t mm_probe_now_us(void)
{
	return mm_mono_us();
}
static void on_event(struct bufferevent *bev, short what, void *arg);

static void stage_begin(struct mm_probe *p, const char *name)
{
	mm_strlcpy(p->stage, name, sizeof p->stage);
	mm_strlcpy(p->res.stage, name, sizeof p->res.stage);
	p->t_stage = mm_probe_now_us();
}

/* A stage that runs again (a second EHLO after STARTTLS, each poll of a
 * mailbox) adds to its first entry: one name, one figure in perfdata. */
void pp_stage_done(struct mm_probe *p)
{
	if (!p->stage[0])
		return;
	int64_t us = mm_probe_now_us() - p->t_stage;
	for (size_t i = 0; i < p->res.nstages; i++)
		if (strcmp(p->res.stages[i].name, p->stage) == 0) {
			p->res.stages[i].us += us;
			p->stage[0] = '\0';
			return;
		}
	if (p->res.nstages < MM_PROBE_MAX_STAGES) {
		struct mm_probe_stage *s = &p->res.stages[p->res.nstages++];
		mm_strlcpy(s->name, p->stage, sizeof s->name);
		s->us = us;
	}
	p->stage[0] = '\0';
}

static void finish(struct mm_probe *p)
{
	if (p->phase == PP_DONE)
		return;
	p->phase = PP_DONE;
	p->res.total_us = mm_probe_now_us() - p->t_start;
	if (p->bev)
		bufferevent_disable(p->bev, EV_READ | EV_WRITE);
	event_del(p->ev_total);
	event_del(p->ev_connect);
	if (p->ev_wait)
		event_del(p->ev_wait);
	event_active(p->ev_done, EV_TIMEOUT, 0);
}

void pp_finish(struct mm_probe *p)
{
	pp_stage_done(p);
	p->res.fail = MM_PF_NONE;
	if (!p->res.msg[0])
		snprintf(p->res.msg, sizeof p->res.msg, "%s OK", p->ops ? p->ops->name : "probe");
	finish(p);
}

void pp_fail(struct mm_probe *p, enum mm_probe_fail f, const char *fmt, ...)
{
	if (p->phase == PP_DONE)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->res.msg, sizeof p->res.msg, fmt, ap);
	va_end(ap);
	p->res.fail = f;
	finish(p);
}

const char *pp_reply_text(struct mm_probe *p, char *buf, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < p->reply_len && p->reply[i] != '\n' && n + 1 < cap && n < 160; i++) {
		unsigned char c = (unsigned char)p->reply[i];
		buf[n++] = (c >= 32 && c < 127) ? (char)c : '?';
	}
	buf[n] = '\0';
	return buf;
}

static void arm_read(struct mm_probe *p)
{
	bufferevent_enable(p->bev, EV_READ);
	/* Lines may already be buffered (a pipelining server, or bytes that
	 * arrived with the previous reply). */
	if (evbuffer_get_length(bufferevent_get_input(p->bev)) > 0)
		on_read(p->bev, p);
}

void pp_expect(struct mm_probe *p, const char *stage)
{
	stage_begin(p, stage);
	p->reply_len = 0;
	mm_reply_reset(&p->rs);
	p->phase = PP_REPLY;
	arm_read(p);
}

void pp_send(struct mm_probe *p, const char *stage, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf) {
		pp_fail(p, MM_PF_INTERNAL, "%s: command too long", stage);
		return;
	}
	/* Unread input before a command is a server talking out of turn;
	 * after STARTTLS it would be an injection, so it is never accepted. */
	if (evbuffer_get_length(bufferevent_get_input(p->bev)) > 0) {
		pp_fail(p, MM_PF_PROTOCOL, "%s: server sent data before the command", stage);
		return;
	}
	bufferevent_write(p->bev, buf, (size_t)n);
	pp_expect(p, stage);
}

void pp_write(struct mm_probe *p, const char *text)
{
	bufferevent_write(p->bev, text, strlen(text));
}

static void on_wait(evutil_socket_t fd, short what, void *arg)
{
	struct mm_probe *p = arg;
	if (p->phase == PP_DONE)
		return;
	void (*fn)(struct mm_probe *) = p->wait_fn;
	p->wait_fn = NULL;
	if (fn)
		fn(p);
}

void pp_wait(struct mm_probe *p, int64_t ms, void (*fn)(struct mm_probe *p))
{
	if (!p->ev_wait)
		p->ev_wait = evtimer_new(p->env->base, on_wait, p);
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	p->wait_fn = fn;
	event_add(p->ev_wait, &tv);
}

void pp_wait_cancel(struct mm_probe *p)
{
	if (p->ev_wait)
		event_del(p->ev_wait);
	p->wait_fn = NULL;
}

void pp_raw(struct mm_probe *p, size_t cap)
{
	p->raw_cap = cap;
	p->raw = xmalloc(cap + 1);
	p->raw_len = 0;
	stage_begin(p, "body");
	p->phase = PP_RAW;
	arm_read(p);
}

static void set_watermarks(struct mm_probe *p, struct bufferevent *bev)
{
	bufferevent_setwatermark(bev, EV_READ, 0, p->prm.max_line + 1);
}

static void append_reply(struct mm_probe *p, const char *line, size_t len)
{
	size_t need = p->reply_len + len + 2;
	if (need > p->reply_cap) {
		size_t cap = p->reply_cap ? p->reply_cap : 256;
		while (cap < need)
			cap *= 2;
		p->reply = xrealloc(p->reply, cap);
		p->reply_cap = cap;
	}
	if (p->reply_len)
		p->reply[p->reply_len++] = '\n';
	memcpy(p->reply + p->reply_len, line, len);
	p->reply_len += len;
	p->reply[p->reply_len] = '\0';
}

static void read_raw(struct mm_probe *p, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	size_t room = p->raw_cap - p->raw_len;
	size_t take = avail < room ? avail : room;
	evbuffer_remove(in, p->raw + p->raw_len, take);
	p->raw_len += take;
	p->raw[p->raw_len] = '\0';
	p->res.bytes_read += take;
	if (p->raw_len == p->raw_cap) {
		pp_stage_done(p);
		p->ops->raw_done(p);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct mm_probe *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	while (p->phase == PP_REPLY || p->phase == PP_RAW) {
		if (p->phase == PP_RAW) {
			read_raw(p, in);
			return;
		}
		size_t eol_len = 0;
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > p->prm.max_line)
				pp_fail(p, MM_PF_PROTOCOL, "%s: reply line longer than %zu bytes",
					p->stage, p->prm.max_line);
			return;
		}
		size_t len = (size_t)eol.pos;
		if (len > p->prm.max_line) {
			pp_fail(p, MM_PF_PROTOCOL, "%s: reply line longer than %zu bytes", p->stage,
				p->prm.max_line);
			return;
		}
		evbuffer_remove(in, p->line, len);
		evbuffer_drain(in, eol_len);
		p->line[len] = '\0';
		p->res.bytes_read += len + eol_len;
		if (p->res.bytes_read > p->prm.max_bytes) {
			pp_fail(p, MM_PF_PROTOCOL, "%s: server sent more than %zu bytes", p->stage,
				p->prm.max_bytes);
			return;
		}
		if (memchr(p->line, '\0', len)) {
			pp_fail(p, MM_PF_PROTOCOL, "%s: NUL byte in reply", p->stage);
			return;
		}
		if (p->reply_len + len + 1 > p->prm.max_reply) {
			pp_fail(p, MM_PF_PROTOCOL, "%s: reply longer than %zu bytes", p->stage,
				p->prm.max_reply);
			return;
		}
		append_reply(p, p->line, len);
		p->rs.eol = eol_len;
		int r = p->ops->line(p, p->line, len);
		if (r == MM_REPLY_BAD) {
			char t[200];
			size_t n = 0;
			for (size_t i = 0; i < len && n < 80; i++)
				t[n++] = (p->line[i] >= 32 && p->line[i] < 127) ? p->line[i] : '?';
			t[n] = '\0';
			pp_fail(p, MM_PF_PROTOCOL, "%s: malformed reply \"%s\"", p->stage, t);
			return;
		}
		if (r == MM_REPLY_DONE) {
			pp_stage_done(p);
			p->phase = PP_IDLE;
			p->ops->reply(p);
		}
	}
}

static const char *ssl_error_text(struct mm_probe *p, char *buf, size_t cap)
{
	unsigned long e = bufferevent_get_openssl_error(p->bev);
	SSL *ssl = bufferevent_openssl_get_ssl(p->bev);
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (vr != X509_V_OK)
		snprintf(buf, cap, "certificate: %s", X509_verify_cert_error_string(vr));
	else if (e)
		ERR_error_string_n(e, buf, cap);
	else
		snprintf(buf, cap, "connection closed during handshake");
	while (bufferevent_get_openssl_error(p->bev))
		;
	return buf;
}

static void on_connected(struct mm_probe *p)
{
	event_del(p->ev_connect);
	pp_stage_done(p);
	if (p->prm.tls)
		pp_start_tls(p);
	else
		p->ops->start(p);
}

/* A failed connect is the peer refusing, unless our side ran out of fds
 * or memory (socket() itself failed): then it is the monitor's error. */
static enum mm_probe_fail connect_class(int e)
{
	return mm_errno_exhausted(e) ? MM_PF_MONITOR : MM_PF_REFUSED;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct mm_probe *p = arg;
	char buf[256];
	if (what & BEV_EVENT_CONNECTED) {
		if (p->phase == PP_CONNECT) {
			on_connected(p);
		} else if (p->phase == PP_TLS) {
			pp_stage_done(p);
			SSL *ssl = bufferevent_openssl_get_ssl(p->bev);
			p->res.have_cert = ssl && mm_tls_cert_days(ssl, &p->res.cert_days);
			if (p->upgrading) {
				p->upgrading = false;
				p->ops->tls_done(p);
			} else {
				p->ops->start(p); /* implicit TLS: the session starts now */
			}
		}
		return;
	}
	int e = EVUTIL_SOCKET_ERROR();
	switch (p->phase) {
	case PP_CONNECT:
		if (what & BEV_EVENT_ERROR) {
			int dnserr = bufferevent_socket_get_dns_error(bev);
			if (dnserr)
				pp_fail(p, MM_PF_REFUSED, "connect: cannot resolve %s: %s", p->prm.host,
					evutil_gai_strerror(dnserr));
			else if (p->prm.unix_path[0])
				pp_fail(p, connect_class(e), "connect to %s: %s", p->prm.unix_path,
					evutil_socket_error_to_string(e));
			else
				pp_fail(p, connect_class(e), "connect to %s port %d: %s", p->prm.host,
					p->prm.port, evutil_socket_error_to_string(e));
		} else {
			pp_fail(p, MM_PF_REFUSED, "connect: closed");
		}
		return;
	case PP_TLS:
		pp_fail(p, MM_PF_TLS, "tls: %s", ssl_error_text(p, buf, sizeof buf));
		return;
	case PP_RAW:
		if (what & BEV_EVENT_EOF) {
			/* Take what is still buffered, then the body is complete. */
			struct evbuffer *in = bufferevent_get_input(bev);
			if (evbuffer_get_length(in))
				read_raw(p, in);
			if (p->phase == PP_RAW) {
				pp_stage_done(p);
				p->ops->raw_done(p);
			}
			return;
		}
		break;
	default:
		break;
	}
	if (p->phase == PP_DONE)
		return;
	if (strcmp(p->stage, "quit") == 0 || strcmp(p->stage, "logout") == 0) {
		pp_finish(p); /* closing right after QUIT/LOGOUT is fine */
		return;
	}
	if (what & BEV_EVENT_EOF)
		pp_fail(p, MM_PF_PROTOCOL, "%s: server closed the connection", p->stage);
	else
		pp_fail(p, MM_PF_PROTOCOL, "%s: %s", p->stage, evutil_socket_error_to_string(e));
}

void pp_start_tls(struct mm_probe *p)
{
	struct mm_err err;
	SSL_CTX *ctx = p->own_ctx ? p->own_ctx : mm_probe_env_tls(p->env, !p->prm.insecure, &err);
	if (!ctx) {
		pp_fail(p, MM_PF_INTERNAL, "%s", err.msg);
		return;
	}
	SSL *ssl = SSL_new(ctx);
	if (!ssl) {
		pp_fail(p, MM_PF_INTERNAL, "tls: SSL_new failed");
		return;
	}
	/* SNI for names; verification against the name or the address. */
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	if (mm_is_numeric_ip(p->prm.host)) {
		X509_VERIFY_PARAM_set1_ip_asc(vp, p->prm.host);
	} else {
		SSL_set_tlsext_host_name(ssl, p->prm.host);
		X509_VERIFY_PARAM_set1_host(vp, p->prm.host, 0);
	}
	struct bufferevent *under = p->bev;
	struct bufferevent *tls = bufferevent_openssl_filter_new(
		p->env->base, under, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (!tls) {
		SSL_free(ssl);
		pp_fail(p, MM_PF_INTERNAL, "tls: cannot create the TLS filter");
		return;
	}
	p->bev = tls;
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	set_watermarks(p, tls);
	bufferevent_setcb(tls, on_read, NULL, on_event, p);
	stage_begin(p, "tls");
	p->upgrading = p->phase != PP_CONNECT;
	p->phase = PP_TLS;
	bufferevent_enable(tls, EV_READ | EV_WRITE);
}

static void on_total_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct mm_probe *p = arg;
	pp_fail(p, MM_PF_TIMEOUT, "%s: no answer within %lld ms (total timeout)", p->stage,
		(long long)p->prm.timeout_ms);
}

static void on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct mm_probe *p = arg;
	if (p->phase == PP_CONNECT)
		pp_fail(p, MM_PF_TIMEOUT, "connect: no connection within %lld ms",
			(long long)p->prm.connect_timeout_ms);
}

static void probe_free(struct mm_probe *p)
{
	if (p->ext)
		mm_ldap_probe_abandon(p);
	if (p->bev)
		bufferevent_free(p->bev);
	event_free(p->ev_total);
	event_free(p->ev_connect);
	event_free(p->ev_done);
	if (p->ev_wait)
		event_free(p->ev_wait);
	mm_box_free(p);
	if (p->own_ctx)
		SSL_CTX_free(p->own_ctx);
	free(p->line);
	free(p->reply);
	free(p->raw);
	OPENSSL_cleanse(p->prm.pass, sizeof p->prm.pass);
	free(p);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct mm_probe *p = arg;
	p->cb(&p->res, p->arg);
	probe_free(p);
}

void mm_probe_cancel(struct mm_probe *p)
{
	if (p)
		probe_free(p);
}

static struct timeval tv_ms(int64_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	return tv;
}

/* Starts the TCP connection: a numeric address directly, a name through
 * evdns (never the system resolver, which would block the loop). */
static void begin_connect(struct mm_probe *p)
{
	stage_begin(p, "connect");
	p->bev = bufferevent_socket_new(p->env->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!p->bev) {
		pp_fail(p, MM_PF_MONITOR, "connect: no memory for a connection");
		return;
	}
	set_watermarks(p, p->bev);
	bufferevent_setcb(p->bev, on_read, NULL, on_event, p);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	struct timeval ct = tv_ms(p->prm.connect_timeout_ms);
	event_add(p->ev_connect, &ct);
	if (p->prm.unix_path[0]) {
		struct sockaddr_un un = {.sun_family = AF_UNIX};
		mm_strlcpy(un.sun_path, p->prm.unix_path, sizeof un.sun_path);
		if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&un, sizeof un) < 0)
			pp_fail(p, connect_class(EVUTIL_SOCKET_ERROR()), "connect to %s: %s",
				p->prm.unix_path, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return;
	}
	if (mm_is_numeric_ip(p->prm.host)) {
		struct sockaddr_storage ss;
		int slen = sizeof ss;
		char hp[MM_PROBE_STR + 16];
		snprintf(hp, sizeof hp, strchr(p->prm.host, ':') ? "[%s]:%d" : "%s:%d", p->prm.host,
			 p->prm.port);
		if (evutil_parse_sockaddr_port(hp, (struct sockaddr *)&ss, &slen) < 0) {
			pp_fail(p, MM_PF_INTERNAL, "connect: bad address %s", hp);
			return;
		}
		if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&ss, slen) < 0)
			pp_fail(p, connect_class(EVUTIL_SOCKET_ERROR()), "connect to %s: %s", hp,
				evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return;
	}
	if (!p->env->dns) {
		pp_fail(p, MM_PF_INTERNAL, "connect: %s is not a numeric address and no resolver is configured",
			p->prm.host);
		return;
	}
	if (bufferevent_socket_connect_hostname(p->bev, p->env->dns, AF_UNSPEC, p->prm.host,
						p->prm.port) < 0)
		pp_fail(p, MM_PF_REFUSED, "connect: cannot resolve %s", p->prm.host);
}

struct mm_probe *mm_probe_start(struct mm_probe_env *env, const struct mm_probe_params *params,
				mm_probe_cb *cb, void *arg, struct mm_err *err)
{
	if (!params->unix_path[0] && (!params->host[0] || params->port <= 0 || params->port > 65535)) {
		mm_err_set(err, "probe needs a host and a port");
		return NULL;
	}
	if (params->max_line < 64 || params->max_reply < params->max_line ||
	    params->max_bytes < params->max_reply || params->timeout_ms <= 0 ||
	    params->connect_timeout_ms <= 0) {
		mm_err_set(err, "probe caps or timeouts out of range");
		return NULL;
	}
	/* A CR or LF in a value would smuggle a second command. */
	const char *fields[] = {params->user, params->pass, params->helo, params->mail_from,
				params->rcpt, params->path, params->host, params->unix_path,
				params->box.tag, params->box.claim};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		for (const char *c = fields[i]; *c; c++)
			if ((unsigned char)*c < 32 || *c == 127) {
				mm_err_set(err, "probe parameter contains a control character");
				return NULL;
			}
	struct mm_probe *p = xcalloc(1, sizeof *p);
	p->env = env;
	p->prm = *params;
	p->cb = cb;
	p->arg = arg;
	p->t_start = mm_probe_now_us();
	p->res.cert_days = 0;
	switch (params->proto) {
	case MM_PROTO_SMTP:
	case MM_PROTO_LMTP: p->ops = &mm_proto_smtp; break;
	case MM_PROTO_IMAP: p->ops = &mm_proto_imap; break;
	case MM_PROTO_POP3: p->ops = &mm_proto_pop3; break;
	case MM_PROTO_HTTP: p->ops = &mm_proto_http; break;
	case MM_PROTO_TCP: p->ops = &mm_proto_tcp; break;
	case MM_PROTO_LDAP: p->ops = NULL; break;
	}
	p->ev_total = evtimer_new(env->base, on_total_timeout, p);
	p->ev_connect = evtimer_new(env->base, on_connect_timeout, p);
	p->ev_done = event_new(env->base, -1, 0, on_done, p);
	p->line = xmalloc(params->max_line + 1);
	if (params->box.on && params->proto != MM_PROTO_IMAP && params->proto != MM_PROTO_POP3) {
		mm_err_set(err, "a mailbox task needs IMAP or POP3");
		return NULL;
	}
	if (params->data && params->proto != MM_PROTO_SMTP) {
		mm_err_set(err, "sending a message needs SMTP");
		return NULL;
	}
	if (params->box.on && params->box.poll_ms <= 0)
		p->prm.box.poll_ms = 500;
	if (params->ca_file[0] && (params->tls || params->starttls)) {
		p->own_ctx = mm_tls_client_ctx(!params->insecure, params->ca_file, err);
		if (!p->own_ctx) {
			probe_free(p);
			return NULL;
		}
	}
	struct timeval tt = tv_ms(params->timeout_ms);
	event_add(p->ev_total, &tt);
	if (params->proto == MM_PROTO_LDAP) {
		stage_begin(p, "ldap");
		if (mm_ldap_probe_start(p, err) < 0) {
			probe_free(p);
			return NULL;
		}
		return p;
	}
	begin_connect(p);
	return p;
}

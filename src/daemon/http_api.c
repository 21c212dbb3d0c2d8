/*
 * http_api: mailmond's JSON API over libevent's evhttp (see daemon.h).
 *
 * The "http" module. Endpoints (GET only):
 *   /api/status   who we are, uptime, config, last reload (per module),
 *                 periodic jobs
 *   /metrics, /api/metrics   see metrics_api.c
 *   /healthz      see health.c
 * Every /api/NAME is also /api/v1/NAME (mm_http_route): the versioned
 * API of docs/api.md; the unversioned paths are aliases for one release.
 *
 * Served through the hardened front in core/httpd.c. Every module adds
 * its endpoints with mm_http_route(), never with evhttp directly, so each
 * request is checked (clean text, Host, auth) before any handler sees
 * it. Limits: [http] max_connections (bounded by half the open-files
 * limit), timeout (an absolute deadline per request), headers 8 KiB, no
 * body.
 */
#include "daemon/daemon.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/httpd.h"
#include "core/parse.h"
#include "core/utf8.h"
#include "daemon/module.h"
#include "daemon/privsep.h"
#include "probes/probe.h"

static json_t *http_json(const struct mm_daemon *d)
{
	struct mm_httpd_stats st;
	mm_httpd_stats(d->httpd, &st);
	return json_pack("{s:i, s:i, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "open", st.open,
			 "max_connections", st.max, "accept_paused", st.paused, "accepted",
			 (json_int_t)st.accepted, "evicted", (json_int_t)st.evicted, "expired",
			 (json_int_t)st.expired, "rejected", (json_int_t)st.rejected,
			 "unauthorized", (json_int_t)st.unauthorized, "accept_errors",
			 (json_int_t)st.accept_errors);
}

static json_t *status_json(struct mm_daemon *d)
{
	int64_t now = mm_mono_ms();
	json_t *jobs = json_array();
	for (size_t i = 0; i < d->sched.n; i++) {
		const struct mm_job *j = &d->sched.jobs[i];
		json_array_append_new(jobs, json_pack("{s:s, s:I, s:I, s:I}", "name", j->name,
						      "period_ms", (json_int_t)j->period_ms,
						      "runs", (json_int_t)j->runs, "max_lag_ms",
						      (json_int_t)j->max_lag_ms));
	}
	json_t *reload = json_pack("{s:I, s:I, s:b, s:o, s:I}", "count",
				   (json_int_t)d->reload.count, "failures",
				   (json_int_t)d->reload.failures, "ok", d->reload.ok, "message",
				   mm_json_text(d->reload.msg), "at_ms", (json_int_t)d->reload.at_wall_ms);
	json_t *mods = json_array();
	for (size_t i = 0; i < d->modules_started; i++)
		json_array_append_new(
			mods, json_pack("{s:s, s:b, s:o, s:I, s:I}", "name", mm_modules[i]->name, "ok",
					d->mod[i].ok, "message", mm_json_text(d->mod[i].msg), "at_ms",
					(json_int_t)d->mod[i].at_wall_ms, "applied",
					(json_int_t)d->mod[i].applied));
	json_object_set_new(reload, "modules", mods);
	json_t *eff = json_object();
	for (size_t i = 0; i < d->modules_started; i++)
		if (mm_modules[i]->in_effect)
			mm_modules[i]->in_effect(d, eff);
	json_object_set_new(reload, "in_effect", eff);
	json_t *doc = json_pack("{s:s, s:s, s:i, s:I, s:I, s:o, s:I, s:o, s:o}", "program",
				"mailmond", "version", MAILMON_VERSION, "pid", (int)getpid(),
				"started_ms", (json_int_t)d->started_wall_ms, "uptime_ms",
				(json_int_t)(now - d->started_mono_ms), "config",
				mm_json_text(d->conf_path), "heartbeats", (json_int_t)d->heartbeats,
				"reload", reload, "jobs", jobs);
	if (d->httpd)
		json_object_set_new(doc, "http", http_json(d));
	json_object_set_new(doc, "privileges", mm_privsep_json(d));
	/* The node's own name (uname, no lookup), for the dashboard and the
	 * cluster view. */
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) == 0)
		json_object_set_new(doc, "node", mm_json_text(host));
	for (size_t i = 0; i < d->modules_started; i++)
		if (mm_modules[i]->status)
			mm_modules[i]->status(d, doc);
	return doc;
}

void mm_http_reply_text(struct evhttp_request *req, int code, const char *type,
			struct evbuffer *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", body);
}

void mm_http_reply_json(struct evhttp_request *req, int code, json_t *doc)
{
	mm_httpd_reply_json(req, code, doc);
}

/* The versioned name of an unversioned /api/ path ("/api/queue" ->
 * "/api/v1/queue"), or false for any other path. */
static bool v1_alias(const char *path, char *out, size_t cap)
{
	if (!path || strncmp(path, "/api/", 5) != 0 || strncmp(path, "/api/v1/", 8) == 0)
		return false;
	return (size_t)snprintf(out, cap, "/api/v1/%s", path + 5) < cap;
}

/* Every /api/NAME route is served as /api/v1/NAME too: the versioned API
 * (docs/api.md), the old path an alias for one release. */
void mm_http_route(struct mm_daemon *d, const char *path,
		   void (*fn)(struct evhttp_request *, void *), void *arg)
{
	char v1[256];
	if (!d->httpd)
		return;
	mm_httpd_route(d->httpd, path, fn, arg);
	if (v1_alias(path, v1, sizeof v1))
		mm_httpd_route(d->httpd, v1, fn, arg);
}

void mm_http_route_post(struct mm_daemon *d, const char *path,
			void (*fn)(struct evhttp_request *, void *), void *arg)
{
	char v1[256];
	if (!d->httpd)
		return;
	mm_httpd_route_post(d->httpd, path, fn, arg);
	if (v1_alias(path, v1, sizeof v1))
		mm_httpd_route_post(d->httpd, v1, fn, arg);
}

void mm_http_unroute(struct mm_daemon *d, const char *path)
{
	char v1[256];
	if (!d->httpd)
		return;
	mm_httpd_unroute(d->httpd, path);
	if (v1_alias(path, v1, sizeof v1))
		mm_httpd_unroute(d->httpd, v1);
}

static void on_status(struct evhttp_request *req, void *arg)
{
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		mm_http_reply_json(req, 405, json_pack("{s:s}", "error", "only GET is supported"));
		return;
	}
	mm_http_reply_json(req, 200, status_json(arg));
}

/* The request was checked, so its path is clean text; it is still not
 * echoed, so nothing a client sends is reflected in the answer. */
static void on_other(struct evhttp_request *req, void *arg)
{
	mm_http_reply_json(req, 404, json_pack("{s:s}", "error", "no such endpoint"));
}

static void on_note(void *arg, int level, const char *msg)
{
	struct mm_daemon *d = arg;
	mm_log(&d->log, level, "%s", msg);
}

/* [http] max_connections, but never more than half the open-files limit:
 * the rest is for logs, probes and the queue scanner. */
static int max_connections(const struct mm_daemon *d)
{
	int64_t want = mm_config_int(d->conf, "http", "max_connections");
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (int64_t)rl.rlim_cur / 2 < want)
		want = (int64_t)rl.rlim_cur / 2;
	return want < 1 ? 1 : (int)want;
}

static bool is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* [http] auth_file into opts: "token = X" is a bearer token, "user" and
 * "password" basic auth. The secrets stay in *cred (cleansed by caller). */
static int load_auth(struct mm_daemon *d, const char *listen, const char *host,
		     struct mm_probe_params *cred, struct mm_httpd_opts *o, char *basic,
		     size_t basiccap, struct mm_err *err)
{
	const char *file = mm_config_get(d->conf, "http", "auth_file");
	if (!file || !*file) {
		if (is_loopback(host))
			return 0;
		return mm_err_set(err,
				  "http.listen = %s is not a loopback address: set http.auth_file (a "
				  "mode-600 file with token = SECRET, or user and password) so that "
				  "only who holds it can read the API, or listen on 127.0.0.1",
				  listen);
	}
	struct mm_err cerr;
	if (mm_probe_read_credentials(file, cred, &cerr) < 0)
		return mm_err_set(err, "http.auth_file: %s", cerr.msg);
	if (!cred->pass[0])
		return mm_err_set(err, "http.auth_file: %s: no token or password in it", file);
	if (cred->user[0]) {
		snprintf(basic, basiccap, "%s:%s", cred->user, cred->pass);
		o->basic = basic;
	} else {
		o->bearer = cred->pass;
	}
	return 0;
}

static SSL_CTX *load_tls(struct mm_daemon *d, struct mm_err *err)
{
	const char *cert = mm_config_get(d->conf, "http", "tls_cert");
	const char *key = mm_config_get(d->conf, "http", "tls_key");
	if ((!cert || !*cert) && (!key || !*key))
		return NULL;
	if (!cert || !*cert || !key || !*key) {
		mm_err_set(err, "http.tls_cert and http.tls_key go together");
		return NULL;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
	    SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 &&
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 &&
	    SSL_CTX_check_private_key(ctx) == 1)
		return ctx;
	char why[256];
	ERR_error_string_n(ERR_get_error(), why, sizeof why);
	mm_err_set(err, "http.tls_cert %s / tls_key %s: %s", cert, key, why);
	SSL_CTX_free(ctx);
	return NULL;
}

static int http_init(struct mm_daemon *d, struct mm_err *err)
{
	if (!mm_config_bool(d->conf, "http", "enable"))
		return 0;
	char host[128];
	int port;
	const char *listen = mm_config_get(d->conf, "http", "listen");
	if (mm_parse_hostport(listen, 0, host, sizeof host, &port, err) < 0)
		return -1;
	if (!mm_is_numeric_ip(host))
		return mm_err_set(err, "http.listen: %s: give a numeric address", listen);
	struct mm_probe_params cred;
	memset(&cred, 0, sizeof cred);
	char basic[2 * MM_PROBE_STR + 2];
	struct mm_httpd_opts o0 = {0};
	if (load_auth(d, listen, host, &cred, &o0, basic, sizeof basic, err) < 0)
		return -1;
	struct mm_err terr = {{0}};
	SSL_CTX *tls = load_tls(d, &terr);
	if (!tls && terr.msg[0]) {
		OPENSSL_cleanse(&cred, sizeof cred);
		return mm_err_set(err, "%s", terr.msg);
	}
	char **hosts = mm_config_list(d->conf, "http", "hosts");
	struct mm_httpd_opts o = {
		.bearer = o0.bearer,
		.basic = o0.basic,
		.tls = tls,
		.hosts = (const char *const *)hosts,
		.max_conns = max_connections(d),
		.request_timeout_ms = mm_config_duration_ms(d->conf, "http", "timeout"),
		.max_header_bytes = 8192,
		.note = {on_note, d},
	};
	d->httpd = mm_httpd_new(d->base, &o);
	mm_config_list_free(hosts);
	OPENSSL_cleanse(&cred, sizeof cred);
	OPENSSL_cleanse(basic, sizeof basic);
	if (tls)
		SSL_CTX_free(tls); /* the httpd holds its own reference */
	if (!d->httpd)
		return mm_err_set(err, "http: cannot create the listener");
	mm_http_route(d, "/api/status", on_status, d);
	mm_metrics_api_routes(d);
	mm_health_routes(d);
	mm_httpd_route(d->httpd, NULL, on_other, d);
	struct mm_err lerr;
	if (mm_httpd_listen(d->httpd, host, port, &lerr) < 0) {
		mm_httpd_free(d->httpd);
		d->httpd = NULL;
		return mm_err_set(err, "http.listen: cannot listen on %s: %s", listen, lerr.msg);
	}
	snprintf(d->http_bound, sizeof d->http_bound, "%s", listen);
	return 0;
}

static void http_free(struct mm_daemon *d)
{
	mm_httpd_free(d->httpd);
	d->httpd = NULL;
}

const struct mm_module mm_module_http = {
	.name = "http",
	.conf = {&mm_conf_table_http},
	.init = http_init,
	.free = http_free,
};

/*
 * http_api: mailmond's JSON API over libevent's evhttp (see daemon.h).
 *
 * The "http" module. Endpoints (GET only):
 *   /api/status   who we are, uptime, config, last reload (per module),
 *                 periodic jobs
 *   /metrics, /api/metrics   see metrics_api.c
 *
 * Requests are bounded: headers 8 KiB, body 0 (nothing is uploaded), an
 * idle timeout from [http] timeout. Later modules add their endpoints to
 * the routes table below.
 */
#include "daemon/daemon.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/parse.h"
#include "daemon/module.h"

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
	json_t *reload = json_pack("{s:I, s:I, s:b, s:s, s:I}", "count",
				   (json_int_t)d->reload.count, "failures",
				   (json_int_t)d->reload.failures, "ok", d->reload.ok, "message",
				   d->reload.msg, "at_ms", (json_int_t)d->reload.at_wall_ms);
	json_t *mods = json_array();
	for (size_t i = 0; i < d->modules_started; i++)
		json_array_append_new(
			mods, json_pack("{s:s, s:b, s:s, s:I, s:I}", "name", mm_modules[i]->name, "ok",
					d->mod[i].ok, "message", d->mod[i].msg, "at_ms",
					(json_int_t)d->mod[i].at_wall_ms, "applied",
					(json_int_t)d->mod[i].applied));
	json_object_set_new(reload, "modules", mods);
	json_t *eff = json_object();
	for (size_t i = 0; i < d->modules_started; i++)
		if (mm_modules[i]->in_effect)
			mm_modules[i]->in_effect(d, eff);
	json_object_set_new(reload, "in_effect", eff);
	return json_pack("{s:s, s:s, s:i, s:I, s:I, s:s?, s:I, s:o, s:o}", "program", "mailmond",
			 "version", MAILMON_VERSION, "pid", (int)getpid(), "started_ms",
			 (json_int_t)d->started_wall_ms, "uptime_ms",
			 (json_int_t)(now - d->started_mono_ms), "config", d->conf_path,
			 "heartbeats", (json_int_t)d->heartbeats, "reload", reload, "jobs", jobs);
}

void mm_http_reply_text(struct evhttp_request *req, int code, const char *type,
			struct evbuffer *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", body);
}

void mm_http_reply_json(struct evhttp_request *req, int code, json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	struct evbuffer *buf = evbuffer_new();
	evbuffer_add(buf, text, strlen(text));
	evbuffer_add(buf, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", buf);
	evbuffer_free(buf);
	free(text);
	json_decref(doc);
}

static void on_status(struct evhttp_request *req, void *arg)
{
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		mm_http_reply_json(req, 405, json_pack("{s:s}", "error", "only GET is supported"));
		return;
	}
	mm_http_reply_json(req, 200, status_json(arg));
}

static void on_other(struct evhttp_request *req, void *arg)
{
	mm_http_reply_json(req, 404, json_pack("{s:s, s:s}", "error", "no such endpoint", "uri",
				       evhttp_request_get_uri(req)));
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
	d->http = evhttp_new(d->base);
	evhttp_set_max_headers_size(d->http, 8192);
	evhttp_set_max_body_size(d->http, 0);
	evhttp_set_timeout(d->http,
			   (int)(mm_config_duration_ms(d->conf, "http", "timeout") / 1000));
	evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_cb(d->http, "/api/status", on_status, d);
	mm_metrics_api_routes(d);
	evhttp_set_gencb(d->http, on_other, d);
	if (!evhttp_bind_socket_with_handle(d->http, host, (uint16_t)port)) {
		evhttp_free(d->http);
		d->http = NULL;
		return mm_err_set(err, "http.listen: cannot listen on %s (in use, or not a local address)",
				  listen);
	}
	snprintf(d->http_bound, sizeof d->http_bound, "%s", listen);
	return 0;
}

static void http_free(struct mm_daemon *d)
{
	if (d->http)
		evhttp_free(d->http);
	d->http = NULL;
}

const struct mm_module mm_module_http = {
	.name = "http",
	.conf = {&mm_conf_table_http},
	.init = http_init,
	.free = http_free,
};

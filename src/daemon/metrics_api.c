/*
 * metrics_api: the HTTP readers of the metric registry.
 *
 *   GET /metrics        Prometheus text format 0.0.4 of every family
 *   GET /api/metrics    JSON: {"families": [{name, type, help, labels,
 *                       series, max_series, folded}]}; ?pattern=GLOB
 *                       keeps families whose name matches (or contains
 *                       it); ?match=SELECTOR answers {"series": [...]}
 *                       with the values of the matching series instead
 *
 * Each request collects first (inside the loop, so the answer is one
 * consistent snapshot), then formats. A bad selector is a 400 that says
 * what is wrong with it.
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <string.h>

#include "daemon/daemon.h"
#include "metrics/json_format.h"
#include "metrics/prom_format.h"
#include "metrics/registry.h"
#include "metrics/selector.h"

#define MAX_QUERY 1024

static void to_evbuffer(void *arg, const char *s, size_t n)
{
	evbuffer_add(arg, s, n);
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
	struct mm_daemon *d = arg;
	mm_daemon_collect(d);
	struct evbuffer *buf = evbuffer_new();
	mm_prom_write(d->metrics, to_evbuffer, buf);
	mm_http_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf);
	evbuffer_free(buf);
}

bool mm_http_query_param(struct evhttp_request *req, const char *key, char *out, size_t cap)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (!q || strlen(q) > MAX_QUERY)
		return false;
	struct evkeyvalq params;
	if (evhttp_parse_query_str(q, &params) < 0)
		return false;
	const char *v = evhttp_find_header(&params, key);
	bool found = v && strlen(v) < cap;
	if (found)
		strcpy(out, v);
	evhttp_clear_headers(&params);
	return found;
}

static void on_api_metrics(struct evhttp_request *req, void *arg)
{
	struct mm_daemon *d = arg;
	char pattern[256] = "", match[MAX_QUERY + 1] = "";
	mm_http_query_param(req, "pattern", pattern, sizeof pattern);
	bool want_series = mm_http_query_param(req, "match", match, sizeof match);
	mm_daemon_collect(d);
	if (!want_series) {
		mm_http_reply_json(req, 200,
				   json_pack("{s:o}", "families",
					     mm_metrics_families_json(d->metrics, pattern)));
		return;
	}
	struct mm_selector sel;
	struct mm_err err;
	if (mm_selector_parse(match, &sel, &err) < 0) {
		/* The message quotes the selector, which may not be UTF-8. */
		json_t *msg = json_string(err.msg);
		json_t *e = json_object();
		json_object_set_new(e, "error", msg ? msg : json_string("bad selector"));
		mm_http_reply_json(req, 400, e);
		return;
	}
	json_t *series = mm_metrics_series_json(d->metrics, &sel);
	mm_selector_free(&sel);
	mm_http_reply_json(req, 200, json_pack("{s:o}", "series", series));
}

void mm_metrics_api_routes(struct mm_daemon *d)
{
	mm_http_route(d, "/metrics", on_metrics, d);
	mm_http_route(d, "/api/metrics", on_api_metrics, d);
}

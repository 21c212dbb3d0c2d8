/*
 * nodeview: fetch and summarise several mailmond nodes (see nodeview.h).
 * Moved here from `mailmon cluster` so that mailmond's dashboard shows
 * the same rows the command prints.
 */
#include "cluster/nodeview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/httpc.h"
#include "core/parse.h"
#include "core/strutil.h"
#include "core/xalloc.h"

#define NPATHS 3

struct fetch;

static const char *const paths[NPATHS] = {"/api/v1/status", "/api/v1/cluster", "/api/v1/queue"};

struct node {
	char url[160]; /* as given */
	char host[128];
	int port;
	json_t *doc[NPATHS];
	char error[200];
	struct mm_httpc *inflight[NPATHS];
	struct fetch *fx[NPATHS]; /* the callbacks' args of those requests */
};

struct fetch {
	struct mm_nodeview *v;
	struct node *n;
	int which;
};

struct mm_nodeview {
	struct node n[MM_NODEVIEW_MAX];
	size_t nn;
	int pending;
	mm_nodeview_done_fn *done;
	void *arg;
};

struct mm_nodeview *mm_nodeview_new(void)
{
	return xcalloc(1, sizeof(struct mm_nodeview));
}

void mm_nodeview_free(struct mm_nodeview *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nn; i++)
		for (int k = 0; k < NPATHS; k++) {
			if (v->n[i].inflight[k]) {
				mm_httpc_cancel(v->n[i].inflight[k]); /* done is not called */
				free(v->n[i].fx[k]);
			}
			json_decref(v->n[i].doc[k]);
		}
	free(v);
}

int mm_nodeview_add(struct mm_nodeview *v, const char *u)
{
	if (v->nn == MM_NODEVIEW_MAX)
		return -1;
	struct node *n = &v->n[v->nn];
	const char *p = strncmp(u, "http://", 7) == 0 ? u + 7 : u;
	char hp[160];
	mm_strlcpy(hp, p, sizeof hp);
	char *slash = strchr(hp, '/');
	if (slash)
		*slash = '\0';
	struct mm_err err;
	if (mm_parse_hostport(hp, 9925, n->host, sizeof n->host, &n->port, &err) < 0 ||
	    !mm_is_numeric_ip(n->host))
		return -1;
	mm_strlcpy(n->url, u, sizeof n->url);
	v->nn++;
	return 0;
}

size_t mm_nodeview_count(const struct mm_nodeview *v)
{
	return v->nn;
}

bool mm_nodeview_busy(const struct mm_nodeview *v)
{
	return v->pending > 0;
}

static void finish_one(struct mm_nodeview *v)
{
	if (--v->pending == 0 && v->done)
		v->done(v, v->arg);
}

static void on_done(const struct mm_httpc_res *res, void *arg)
{
	struct fetch *f = arg;
	struct node *n = f->n;
	json_error_t jerr;
	n->inflight[f->which] = NULL;
	n->fx[f->which] = NULL;
	if (res->error || res->status != 200) {
		if (!n->error[0])
			snprintf(n->error, sizeof n->error, "%s: %s", paths[f->which],
				 res->error ? res->error : "HTTP error");
	} else if (!(n->doc[f->which] = json_loadb(res->body, res->body_len, 0, &jerr))) {
		if (!n->error[0])
			snprintf(n->error, sizeof n->error, "%s: not JSON", paths[f->which]);
	}
	struct mm_nodeview *v = f->v;
	free(f);
	finish_one(v);
}

void mm_nodeview_fetch(struct mm_nodeview *v, struct event_base *base,
		       const char *const *headers, mm_nodeview_done_fn *done, void *arg)
{
	v->done = done;
	v->arg = arg;
	v->pending = 1; /* held until every request is started */
	for (size_t i = 0; i < v->nn; i++) {
		struct node *n = &v->n[i];
		for (int k = 0; k < NPATHS; k++) {
			json_decref(n->doc[k]);
			n->doc[k] = NULL;
		}
		n->error[0] = '\0';
		for (int k = 0; k < NPATHS; k++) {
			struct fetch *f = xcalloc(1, sizeof *f);
			*f = (struct fetch){v, n, k};
			struct mm_httpc_req req = {.host = n->host, .port = n->port, .path = paths[k],
						   .headers = headers, .timeout_ms = 3000,
						   .max_bytes = 4 << 20};
			struct mm_err err;
			n->inflight[k] = mm_httpc_start(base, &req, on_done, f, &err);
			n->fx[k] = n->inflight[k] ? f : NULL;
			if (!n->inflight[k]) {
				mm_strlcpy(n->error, err.msg, sizeof n->error);
				free(f);
				continue;
			}
			v->pending++;
		}
	}
	finish_one(v);
}

static double qsize(const struct node *n, const char *q)
{
	json_t *t = json_object_get(json_object_get(n->doc[2], "trend"), q);
	return (double)json_integer_value(json_object_get(t, "messages"));
}

static double per_min(const struct node *n, const char *what)
{
	json_t *w = json_object_get(n->doc[1], "window");
	double ms = (double)json_integer_value(json_object_get(w, "window_ms"));
	double val = json_number_value(json_object_get(w, what));
	if (strcmp(what, "outflow") == 0)
		val = json_number_value(json_object_get(w, "attempts")) -
		      json_number_value(json_object_get(w, "deferred"));
	return ms > 0 ? val * 60000.0 / ms : 0;
}

static const char *state_of(const struct node *n)
{
	const char *s = json_string_value(
		json_object_get(json_object_get(n->doc[1], "verdict"), "state"));
	return n->error[0] ? "unreachable" : s ? s : "unknown";
}

/* The node with the largest backlog (incoming+active+deferred), and its
 * share of the whole; -1 when nothing is queued anywhere. */
static int holder(const struct mm_nodeview *v, double *held, double *total)
{
	int best = -1;
	*held = *total = 0;
	for (size_t i = 0; i < v->nn; i++) {
		const struct node *n = &v->n[i];
		if (n->error[0])
			continue;
		double b = qsize(n, "incoming") + qsize(n, "active") + qsize(n, "deferred");
		*total += b;
		if (b > *held) {
			*held = b;
			best = (int)i;
		}
	}
	return best;
}

json_t *mm_nodeview_json(const struct mm_nodeview *v)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < v->nn; i++) {
		const struct node *n = &v->n[i];
		json_t *o = json_pack("{s:s, s:s}", "url", n->url, "state", state_of(n));
		if (!o)
			continue; /* a URL that is not UTF-8 */
		if (n->error[0]) {
			json_t *e = json_string(n->error);
			json_object_set_new(o, "error", e ? e : json_string("(not UTF-8)"));
		} else {
			json_t *name = json_object_get(n->doc[0], "node");
			json_object_set(o, "node", name ? name : json_null());
			json_t *verdict = json_object_get(n->doc[1], "verdict");
			json_object_set(o, "verdict", verdict ? verdict : json_null());
			json_object_set_new(o, "queues",
					    json_pack("{s:f, s:f, s:f}", "incoming",
						      qsize(n, "incoming"), "active", qsize(n, "active"),
						      "deferred", qsize(n, "deferred")));
			json_object_set_new(o, "inflow_per_min", json_real(per_min(n, "inflow")));
			json_object_set_new(o, "outflow_per_min", json_real(per_min(n, "outflow")));
			/* Its Postfix instances' verdicts ([instance.NAME]). */
			json_t *inst = json_object_get(n->doc[1], "instances");
			if (json_is_array(inst))
				json_object_set(o, "instances", inst);
			else
				json_object_set_new(o, "instances", json_array());
		}
		json_array_append_new(arr, o);
	}
	double held, total;
	int h = holder(v, &held, &total);
	return json_pack("{s:o, s:o, s:f, s:f}", "nodes", arr, "backlog_holder",
			 h >= 0 ? json_string(v->n[h].url) : json_null(), "backlog_held", held,
			 "backlog_total", total);
}

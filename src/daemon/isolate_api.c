/*
 * isolate_api: what the isolate module publishes (isolate_impl.h): the
 * registry families and their collector, GET /api/isolate (also the
 * "isolation" key of /api/status), and POST /api/isolate, which queues an
 * isolation or a release.
 */
#include <event2/http.h>
#include <jansson.h>
#include <string.h>

#include "core/clock.h"
#include "core/utf8.h"
#include "daemon/daemon.h"
#include "daemon/isolate_impl.h"
#include "metrics/registry.h"

static const struct mm_metric_def defs[F_N] = {
	[F_ISO] = {"mailmon_isolated_destination",
		   "A destination isolated to the slow transport ([isolate]): 1, with the "
		   "flood class that isolated it (or manual).",
		   MM_METRIC_GAUGE, {"destination", "reason"}, .max_series = MM_ISOLATE_MAX},
	[F_SETUP] = {"mailmon_isolate_setup_missing",
		     "1 when the last isolation was refused because the Postfix setup (our "
		     "map first in transport_maps, the transport in master.cf) is missing.",
		     MM_METRIC_GAUGE},
	[F_CHANGES] = {"mailmon_isolate_changes_total",
		       "Isolation changes by outcome: isolated, released, refused (setup "
		       "missing, limit), failed (a command failed).",
		       MM_METRIC_COUNTER, {"action"}},
};

static const char *const change_names[4] = {"isolated", "released", "refused", "failed"};

static void collect(void *arg, struct mm_registry *r)
{
	struct mm_isolate *x = arg;
	for (size_t i = 0; i < x->set.n; i++)
		mm_metric_set(x->f[F_ISO], (const char *[]){x->set.v[i].dest, x->set.v[i].reason}, 1);
	for (size_t i = 0; i < MAX_RESULTS; i++) {
		const struct mm_isolated *e = mm_isolate_find(&x->set, x->gone[i].dest);
		if (x->gone[i].until_ms > mm_mono_ms() &&
		    !(e && strcmp(e->reason, x->gone[i].reason) == 0))
			mm_metric_set(x->f[F_ISO], (const char *[]){x->gone[i].dest, x->gone[i].reason},
				      0);
	}
	mm_metric_set(x->f[F_SETUP], NULL, x->setup_missing ? 1 : 0);
	for (int i = 0; i < 4; i++)
		mm_metric_set(x->f[F_CHANGES], (const char *[]){change_names[i]},
			      (double)x->changes[i]);
}

json_t *mm_isolate_json(const struct mm_daemon *d)
{
	const struct mm_isolate *x = d->isolate;
	if (!x)
		return json_null();
	json_t *list = json_array();
	for (size_t i = 0; i < x->set.n; i++) {
		const struct mm_isolated *e = &x->set.v[i];
		json_array_append_new(
			list, json_pack("{s:o, s:o, s:s, s:I, s:I, s:o}", "destination",
					mm_json_text(e->dest), "reason", mm_json_text(e->reason),
					"mode", e->manual ? "manual" : "auto", "since",
					(json_int_t)e->since_s, "quiet_since",
					(json_int_t)e->quiet_since_s, "nexthop",
					mm_json_text(e->nexthop)));
	}
	json_t *pend = json_array();
	if (x->busy)
		json_array_append_new(pend, json_pack("{s:I, s:s, s:o, s:b}", "id",
						      (json_int_t)x->cur.id, "op",
						      mm_iso_verb(x),
						      "destination", mm_json_text(x->cur.dest),
						      "running", 1));
	for (size_t i = 0; i < x->npending; i++)
		json_array_append_new(pend, json_pack("{s:I, s:s, s:o, s:b}", "id",
						      (json_int_t)x->pending[i].id, "op",
						      mm_iso_op_name(x->pending[i].kind),
						      "destination", mm_json_text(x->pending[i].dest),
						      "running", 0));
	json_t *res = json_array();
	for (size_t i = 0; i < x->nresults; i++) {
		const struct result *r = &x->results[i];
		json_array_append_new(res, json_pack("{s:I, s:b, s:I, s:o, s:o}", "id",
						     (json_int_t)r->id, "ok", r->ok, "at",
						     (json_int_t)r->at_s, "destination",
						     mm_json_text(r->dest), "text", mm_json_text(r->text)));
	}
	json_t *rw = json_pack("{s:I, s:o, s:o, s:o, s:I}", "wait_ms",
			       (json_int_t)x->rewrite_wait_ms, "state", mm_json_text(x->rw.state),
			       "destination", mm_json_text(x->rw.dest), "detail",
			       mm_json_text(x->rw.detail), "at", (json_int_t)x->rw.at_s);
	return json_pack("{s:o, s:s, s:s, s:b, s:I, s:I, s:b, s:o, s:o, s:o}", "isolated", list,
			 "transport", x->transport, "map", x->map_path, "auto", x->autoiso,
			 "max_destinations", (json_int_t)x->max_dest, "release_after_ms",
			 (json_int_t)x->release_after_ms, "setup_missing", x->setup_missing,
			 "pending", pend, "results", res, "rewrite", rw);
}

void mm_iso_status(struct mm_daemon *d, json_t *out)
{
	json_object_set_new(out, "isolation", mm_isolate_json(d));
}

void mm_iso_on_api(struct evhttp_request *req, void *arg)
{
	struct mm_isolate *x = arg;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		mm_http_reply_json(req, 200, mm_isolate_json(x->d));
		return;
	}
	char dest[MM_ISOLATE_DEST + 8] = "", rel[8] = "";
	mm_http_query_param(req, "destination", dest, sizeof dest);
	mm_http_query_param(req, "release", rel, sizeof rel);
	for (char *p = dest; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!mm_isolate_dest_ok(dest)) {
		mm_http_reply_json(req, 400,
				   json_pack("{s:s}", "error",
					     "destination: give a domain (letters, digits, - _ .)"));
		return;
	}
	bool release = strcmp(rel, "1") == 0 || strcmp(rel, "yes") == 0;
	if (!release && !mm_isolate_find(&x->set, dest) && !mm_iso_pending_or_running(x, dest))
		x->setup_retry_ms = 0; /* an operator's try is never held back */
	for (size_t i = 0; !release && i < MAX_RESULTS; i++)
		if (strcmp(x->held[i].dest, dest) == 0)
			x->held[i].until_ms = 0;
	uint32_t id = mm_iso_enqueue(x, release ? OP_RELEASE : OP_ISOLATE, dest, "manual", true, false);
	if (!id) {
		mm_http_reply_json(req, 503, json_pack("{s:s}", "error", "too many pending changes"));
		return;
	}
	mm_log_notice(&x->d->log, "isolate: %s of %s asked through the API (change %u)",
		      release ? "release" : "isolation", dest, id);
	mm_http_reply_json(req, 202, json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "op",
					       release ? "release" : "isolate", "destination", dest));
}

/* Registers the families and the collector; 0, or -1 with err. */
int mm_iso_publish_add(struct mm_isolate *x, struct mm_err *err)
{
	if (mm_registry_add_all(x->d->metrics, defs, F_N, x->f, err) < 0)
		return -1;
	mm_registry_add_collector(x->d->metrics, collect, x);
	return 0;
}

/*
 * health: GET /healthz, for a load balancer, systemd or Kubernetes-style
 * probes. It speaks only about mailmond itself, never about the mail
 * system it watches (that is /api/v1/services and the alarms):
 *
 *   200 {"status": "ok", "checks": [...], "notes": [...]}
 *   503 {"status": "failing", ...} when any check fails:
 *     loop     the heartbeat ran within 3 periods + 5 s and its last lag
 *              was under 5 s (a stalled loop answers late, or not at all)
 *     modules  every module of the table started
 *     history  the history database, when enabled, is writable
 *   notes (never a 503): the last reload was refused (mailmond runs on its
 *   previous config), mailmond's own resource errors so far.
 *
 * Each check is {"name", "ok", "detail"}. No state of its own.
 */
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>

#include "core/clock.h"
#include "daemon/daemon.h"
#include "daemon/module.h"

#define MAX_LAG_MS 5000

static void check(json_t *checks, bool *all, const char *name, bool ok, const char *detail)
{
	json_array_append_new(checks, json_pack("{s:s, s:b, s:s}", "name", name, "ok", ok,
						"detail", detail));
	*all = *all && ok;
}

static void on_healthz(struct evhttp_request *req, void *arg)
{
	struct mm_daemon *d = arg;
	json_t *checks = json_array(), *notes = json_array();
	bool ok = true;
	char buf[512];
	int64_t now = mm_mono_ms();
	int64_t period = mm_config_duration_ms(d->conf, "daemon", "heartbeat");
	int64_t since = d->last_beat_mono_ms ? now - d->last_beat_mono_ms : 0;
	snprintf(buf, sizeof buf, "last heartbeat %lld ms ago, its lag %lld ms", (long long)since,
		 (long long)d->loop_lag_ms);
	check(checks, &ok, "loop", since <= 3 * period + MAX_LAG_MS && d->loop_lag_ms < MAX_LAG_MS,
	      buf);
	snprintf(buf, sizeof buf, "%zu of %zu started", d->modules_started, mm_nmodules);
	check(checks, &ok, "modules", d->modules_started == mm_nmodules, buf);
	bool hist = mm_history_healthy(d, buf, sizeof buf);
	check(checks, &ok, "history", hist, buf);
	if (d->reload.count && !d->reload.ok)
		json_array_append_new(notes, json_sprintf("the last reload was refused: %s",
							   d->reload.msg));
	if (d->self_errors[MM_SE_RESOURCES])
		json_array_append_new(notes,
				      json_sprintf("%llu checks failed for lack of fds or memory",
						   (unsigned long long)d->self_errors[MM_SE_RESOURCES]));
	mm_http_reply_json(req, ok ? 200 : 503,
			   json_pack("{s:s, s:o, s:o}", "status", ok ? "ok" : "failing", "checks",
				     checks, "notes", notes));
}

void mm_health_routes(struct mm_daemon *d)
{
	mm_http_route(d, "/healthz", on_healthz, d);
}

/*
 * alarms: the "alarms" daemon module. It runs the alarm engine
 * (alarm/alarm.h) against d->metrics and hands its events to the
 * notifier (alarm/notify.h).
 *
 * Every [alarm] tick the module looks whether a definition is due; if so
 * it collects the registry once, evaluates, notifies, and saves the
 * engine's state (STATE/alarm-state) when it changed. Notices wait in
 * STATE/alarm-outbox until delivered. Silences come from
 * STATE/alarm-silences, which `mailmon alarms silence` writes; the
 * module rereads it when its modification time changes.
 *
 * Reload: check loads the new definitions and notice settings and checks
 * the selectors against the registry (every other module has registered
 * its families by then); apply flushes the digest window, then swaps.
 *
 * GET /api/alarms lists every instance (state ok/firing/silenced, since,
 * value, threshold, the seed's counter fields, the last notification
 * result), the silences and the outbox (backlog, last error).
 *
 * Ownership: struct mm_alarms lives in d->alarms.
 */
#include <errno.h>
#include <event2/http.h>
#include <jansson.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "alarm/alarm.h"
#include "alarm/alarm_def.h"
#include "alarm/alarm_mail.h"
#include "alarm/alarm_state.h"
#include "alarm/notify.h"
#include "alarm/silence_file.h"
#include "core/atomicfile.h"
#include "core/clock.h"
#include "core/utf8.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/module.h"
#include "metrics/registry.h"
#include "probes/probe.h"

extern const struct mm_conf_table mm_conf_table_alarm;

struct mm_alarms {
	struct mm_daemon *d;
	struct mm_alarm_defs defs;
	struct mm_alarm_engine *engine;
	struct mm_notifier *notifier;
	struct mm_probe_env *penv;
	char *state_path, *silence_path, *outbox_dir;
	int64_t silence_mtime_ns;
	int64_t am_refresh_ms; /* next Alertmanager refresh (Unix ms) */
};

static void notify_log(void *arg, int level, const char *msg)
{
	struct mm_alarms *a = arg;
	mm_log(&a->d->log, level, "alarm: %s", msg);
}

/* Rereads the silences when `mailmon alarms silence` changed the file. */
static void read_silences(struct mm_alarms *a)
{
	struct stat st;
	if (stat(a->silence_path, &st) < 0)
		return;
	int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	if (mt == a->silence_mtime_ns)
		return;
	a->silence_mtime_ns = mt;
	struct mm_err err = {{0}};
	if (mm_silence_file_apply(a->silence_path, a->engine, &err) < 0)
		mm_log_warn(&a->d->log, "alarm: %s", err.msg);
}

static void save(struct mm_alarms *a)
{
	if (!a->engine->dirty)
		return;
	struct mm_err err = {{0}};
	if (mm_alarm_state_save(a->engine, a->state_path, &err) < 0)
		mm_log_warn(&a->d->log, "alarm: state not saved: %s", err.msg);
	else
		a->engine->dirty = false;
}

static void on_tick(void *arg, int64_t now_mono)
{
	(void)now_mono;
	struct mm_alarms *a = arg;
	int64_t now = mm_wall_ms();
	read_silences(a);
	if (mm_alarm_next_due(a->engine) <= now) {
		mm_registry_collect(a->d->metrics);
		const struct mm_alarm_event *ev;
		size_t n = mm_alarm_eval(a->engine, a->d->metrics, now, &ev);
		/* the state (raised, notified) is on disk before any notice
		 * leaves: after a crash nothing is sent twice */
		save(a);
		if (n)
			mm_notifier_events(a->notifier, ev, n, a->d->metrics, now);
	}
	save(a);
	if (now >= a->am_refresh_ms) {
		a->am_refresh_ms = now + MM_NOTIFY_AM_REFRESH_MS;
		mm_notifier_am_refresh(a->notifier, a->engine, &a->defs, a->d->metrics, now);
	}
}


static json_t *inst_json(const struct mm_alarms *a, const struct mm_alarm_inst *in, int64_t now)
{
	const struct mm_alarm_def *d = mm_alarm_defs_find(&a->defs, in->alarm);
	const char *state = !in->warningstate ? "ok"
			    : mm_alarm_silenced(a->engine, in->alarm, in->instance, now) ? "silenced"
											  : "firing";
	json_t *o = json_object();
	json_object_set_new(o, "alarm", json_string(in->alarm));
	json_object_set_new(o, "instance", json_string(in->instance));
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "since", json_integer(in->timestatechanged ? in->timestatechanged
									  : in->timereset));
	json_object_set_new(o, "value", json_real(in->current));
	if (d) {
		json_object_set_new(o, "threshold", json_real(d->threshold));
		json_object_set_new(o, "direction", json_string(d->direction > 0 ? "above" : "below"));
		json_object_set_new(o, "severity", json_string(d->severity));
		json_object_set_new(o, "description", json_string(d->description));
		json_object_set_new(o, "metric", json_string(d->metric));
		if (in->warningstate) {
			/* The same likely cause and next command the alarm mail
			 * gives, for the dashboard and `mailmon alarms --json`. */
			struct mm_alarm_event ev;
			memset(&ev, 0, sizeof ev);
			ev.kind = MM_ALARM_RAISE;
			ev.def = d;
			ev.inst = *in;
			char cause[600], cmd[300];
			mm_alarm_hint(&ev, a->d->metrics, cause, sizeof cause, cmd, sizeof cmd);
			json_object_set_new(o, "cause", mm_json_text(cause));
			json_object_set_new(o, "next_command", mm_json_text(cmd));
		}
	}
	json_object_set_new(o, "last_notification", json_string(in->last_result));
	json_object_set_new(o, "countoverthreshold", json_integer((json_int_t)in->countoverthreshold));
	json_object_set_new(o, "countwarningsent", json_integer((json_int_t)in->countwarningsent));
	json_object_set_new(o, "current", json_real(in->current));
	json_object_set_new(o, "high", json_real(in->high));
	json_object_set_new(o, "low", json_real(in->low));
	json_object_set_new(o, "timelastset", json_integer(in->timelastset));
	json_object_set_new(o, "timelastwarning", json_integer(in->timelastwarning));
	json_object_set_new(o, "timereset", json_integer(in->timereset));
	json_object_set_new(o, "timestatechanged", json_integer(in->timestatechanged));
	json_object_set_new(o, "warningstate", json_integer(in->warningstate));
	return o;
}

static void on_api(struct evhttp_request *req, void *arg)
{
	struct mm_alarms *a = arg;
	int64_t now = mm_wall_ms() / 1000;
	read_silences(a);
	json_t *list = json_array();
	for (size_t i = 0; i < a->engine->ninst; i++)
		json_array_append_new(list, inst_json(a, &a->engine->inst[i], now));
	json_t *sil = json_array();
	for (size_t i = 0; i < a->engine->nsil; i++) {
		const struct mm_alarm_silence *s = &a->engine->sil[i];
		if (s->until > now)
			json_array_append_new(sil, json_pack("{s:s, s:s, s:I}", "alarm", s->alarm,
							     "instance", s->instance, "until",
							     (json_int_t)s->until));
	}
	const struct mm_outbox *ob = mm_notifier_outbox(a->notifier);
	json_t *out = json_pack("{s:I, s:I, s:I, s:I, s:s, s:I}", "queued",
				(json_int_t)mm_outbox_backlog(ob, NULL), "queued_mail",
				(json_int_t)mm_outbox_backlog(ob, "mail"), "delivered",
				(json_int_t)ob->delivered, "failures", (json_int_t)ob->failures,
				"last_error", ob->last_error, "last_error_time",
				(json_int_t)(ob->last_error_ms / 1000));
	json_t *doc = json_pack("{s:o, s:o, s:o, s:I}", "alarms", list, "silences", sil, "outbox",
				out, "time", (json_int_t)now);
	mm_http_reply_json(req, 200, doc);
}

/* Loads definitions and notice settings from conf; every problem in err. */
static int load(struct mm_daemon *d, const struct mm_config *conf, struct mm_alarm_defs *defs,
		struct mm_notify_conf *nc, struct mm_err *err)
{
	struct mm_diags diags = {0};
	size_t bad = mm_alarm_defs_load(conf, defs, &diags);
	if (!bad)
		bad = mm_alarm_defs_check_registry(defs, d->metrics, &diags);
	if (bad) {
		size_t len = 0;
		err->msg[0] = '\0';
		for (size_t i = 0; i < diags.n && len + 2 < sizeof err->msg; i++) {
			int k = snprintf(err->msg + len, sizeof err->msg - len, "%s%s", i ? "; " : "",
					 diags.msgs[i]);
			if (k < 0)
				break;
			len += (size_t)k;
		}
		mm_diags_free(&diags);
		if (defs->v)
			mm_alarm_defs_free(defs);
		return -1;
	}
	mm_diags_free(&diags);
	if (mm_notify_conf_load(conf, nc, err) < 0) {
		mm_alarm_defs_free(defs);
		return -1;
	}
	return 0;
}

static int alarms_init(struct mm_daemon *d, struct mm_err *err)
{
	struct mm_alarms *a = xcalloc(1, sizeof *a);
	a->d = d;
	d->alarms = a;
	const char *dir = mm_config_get(d->conf, "daemon", "state_directory");
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return mm_err_sys(err, errno, "alarms: cannot create %s", dir);
	a->state_path = xasprintf("%s/alarm-state", dir);
	a->silence_path = xasprintf("%s/alarm-silences", dir);
	a->outbox_dir = xasprintf("%s/alarm-outbox", dir);
	struct mm_notify_conf nc;
	if (load(d, d->conf, &a->defs, &nc, err) < 0)
		return -1;
	a->engine = mm_alarm_engine_new();
	struct mm_err serr = {{0}};
	if (mm_alarm_state_load(a->engine, a->state_path, &serr) < 0)
		mm_log_warn(&d->log, "alarm: saved state ignored: %s", serr.msg);
	mm_alarm_set_defs(a->engine, &a->defs);
	if (mm_alarm_publish(a->engine, d->metrics, err) < 0) {
		mm_notify_conf_free(&nc);
		return -1;
	}
	a->penv = mm_probe_env_new(d->base, NULL, err);
	if (!a->penv) {
		mm_notify_conf_free(&nc);
		return -1;
	}
	a->notifier = mm_notifier_new(d->base, a->penv, a->outbox_dir, a->engine, err);
	if (!a->notifier) {
		mm_notify_conf_free(&nc);
		return -1;
	}
	mm_notifier_set_log(a->notifier, (struct mm_logsink){notify_log, a});
	mm_notifier_set_conf(a->notifier, &nc);
	size_t queued = mm_outbox_backlog(mm_notifier_outbox(a->notifier), NULL);
	if (queued)
		mm_log_notice(&d->log, "alarm: %zu queued notices from before the restart", queued);
	read_silences(a);
	if (d->httpd)
		mm_http_route(d, "/api/alarms", on_api, a);
	mm_schedule_add(&d->sched, "alarms", mm_config_duration_ms(d->conf, "alarm", "tick"), 0,
			mm_mono_ms(), on_tick, a);
	return 0;
}

static int alarms_check(struct mm_daemon *d, const struct mm_config *next, struct mm_err *err)
{
	struct mm_alarm_defs defs;
	struct mm_notify_conf nc;
	if (load(d, next, &defs, &nc, err) < 0)
		return -1;
	mm_alarm_defs_free(&defs);
	mm_notify_conf_free(&nc);
	return 0;
}

static void alarms_apply(struct mm_daemon *d, const struct mm_config *old)
{
	(void)old;
	struct mm_alarms *a = d->alarms;
	struct mm_alarm_defs defs;
	struct mm_notify_conf nc;
	struct mm_err err = {{0}};
	if (load(d, d->conf, &defs, &nc, &err) < 0) {
		mm_log_err(&d->log, "alarm: %s", err.msg); /* check passed: not expected */
		return;
	}
	/* pending events point at the old definitions */
	mm_notifier_flush(a->notifier, mm_wall_ms());
	mm_alarm_defs_free(&a->defs);
	a->defs = defs;
	mm_alarm_set_defs(a->engine, &a->defs);
	mm_notifier_set_conf(a->notifier, &nc);
	save(a);
}

static void alarms_free(struct mm_daemon *d)
{
	struct mm_alarms *a = d->alarms;
	if (!a)
		return;
	if (d->httpd)
		mm_http_unroute(d, "/api/alarms");
	if (a->engine) {
		save(a);
		mm_alarm_engine_free(a->engine);
	}
	mm_notifier_free(a->notifier);
	if (a->penv)
		mm_probe_env_free(a->penv);
	mm_alarm_defs_free(&a->defs);
	free(a->state_path);
	free(a->silence_path);
	free(a->outbox_dir);
	free(a);
	d->alarms = NULL;
}

/* [alarm] and every [alarm.NAME] as the engine and the notifier hold
 * them: "alarm.KEY" and "alarm.NAME.KEY"; durations in ms. */
static void alarms_in_effect(struct mm_daemon *d, json_t *out)
{
	struct mm_alarms *a = d->alarms;
	if (!a || !a->notifier)
		return;
	const struct mm_notify_conf *c = mm_notifier_conf(a->notifier);
	json_object_set_new(out, "alarm.mail", json_string(c->mail ? "yes" : "no"));
	json_object_set_new(out, "alarm.noticehost", json_string(c->host));
	json_object_set_new(out, "alarm.noticeport", json_integer(c->port));
	json_object_set_new(out, "alarm.noticesender", json_string(c->from));
	json_object_set_new(out, "alarm.noticercpt", json_string(c->to));
	json_object_set_new(out, "alarm.noticetimeout", json_integer(c->timeout_ms));
	json_object_set_new(out, "alarm.noticetemplate",
			    c->template_path[0] ? json_string(c->template_path) : json_null());
	json_object_set_new(out, "alarm.node", json_string(c->node));
	json_object_set_new(out, "alarm.digest_window", json_integer(c->digest_window_ms));
	json_object_set_new(out, "alarm.digest_min", json_integer(c->digest_min));
	json_object_set_new(out, "alarm.retry_min", json_integer(c->retry_min_ms));
	json_object_set_new(out, "alarm.retry_max", json_integer(c->retry_max_ms));
	json_object_set_new(out, "alarm.alertmanager_url",
			    c->am_url[0] ? json_string(c->am_url) : json_null());
	json_object_set_new(out, "alarm.alertmanager_timeout", json_integer(c->am_timeout_ms));
	json_object_set_new(out, "alarm.exec", c->exec_line[0] ? json_string(c->exec_line)
							      : json_null());
	json_object_set_new(out, "alarm.exec_timeout", json_integer(c->exec_timeout_ms));
	for (size_t i = 0; i < a->defs.n; i++) {
		const struct mm_alarm_def *df = &a->defs.v[i];
		char k[MM_ALARM_NAME_MAX + 40], cy[32];
#define KEY(key_) (snprintf(k, sizeof k, "alarm.%s.%s", df->name, key_), k)
		json_object_set_new(out, KEY("enable"), json_string(df->enable ? "yes" : "no"));
		json_object_set_new(out, KEY("metric"), json_string(df->metric));
		json_object_set_new(out, KEY("statinterval"), json_integer(df->statinterval_ms));
		json_object_set_new(out, KEY("threshold"), json_real(df->threshold));
		json_object_set_new(out, KEY("thresholddirection"),
				    json_string(df->direction > 0 ? "above" : "below"));
		snprintf(cy, sizeof cy, "%d/%d", df->cycles_n, df->cycles_m);
		json_object_set_new(out, KEY("cycles"), json_string(cy));
		json_object_set_new(out, KEY("severity"), json_string(df->severity));
		json_object_set_new(out, KEY("warninginterval"), json_integer(df->warninginterval_ms));
		json_object_set_new(out, KEY("description"), json_string(df->description));
#undef KEY
	}
}

const struct mm_module mm_module_alarms = {
	.name = "alarms",
	.conf = {&mm_conf_table_alarm},
	.init = alarms_init,
	.check = alarms_check,
	.apply = alarms_apply,
	.in_effect = alarms_in_effect,
	.free = alarms_free,
};

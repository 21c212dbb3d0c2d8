/*
 * services: the daemon side of the watcher (seed: watcher + msprobe).
 *
 * Each [service.NAME] gets a job on the heartbeat schedule with its own
 * interval. A cycle scans its processes (/proc, quick and bounded) and
 * starts its probe; probes of all services run concurrently in the loop,
 * so a hung target only occupies its own slot until its timeout. The
 * probe's result and the process count go to the service's watcher
 * (src/services/watcher.c), which may ask for a restart: the restart
 * command (or start) runs as a child reaped by the loop, then, after
 * verify_delay, the service is re-probed and the outcome recorded. A
 * restart of a member of a restart_group restarts the whole group.
 * Events are logged with their reason and the last ones kept for the API.
 *
 * Endpoints: /api/services (state, timings, processes, events) and
 * /api/counterutil (the seed's counterutil objects).
 *
 * Reload: after a successful SIGHUP reload (seen by the services.reload
 * job), services take their new settings and keep their state; sections
 * added start, sections removed stop being watched.
 *
 * Ownership: struct mm_services owns the per-service state, the probe
 * environment, probes and commands in flight.
 */
#include "daemon/services.h"
#include "core/utf8.h"
#include "daemon/module.h"
#include "metrics/registry.h"

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/childproc.h"
#include "daemon/privsep.h"
#include "core/clock.h"
#include "core/cmdline.h"
#include "core/parse.h"
#include "core/strutil.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "services/conntable.h"
#include "services/service_conf.h"
#include "services/watcher.h"

#define EVENT_RING 64

struct svc {
	struct mm_services *owner;
	bool removed; /* gone from the config at a reload; kept until exit */
	struct mm_service_conf sc;
	struct mm_watch w;
	struct mm_probe *probe;
	bool probe_verifying;
	struct mm_child *cmd;
	uint32_t ps_cmd; /* a command asked of the privileged helper (privsep.c) */
	bool start_after_stop; /* "stop" is running; "start" follows */
	bool stop_done;	       /* this restart already ran stop */
	struct event *ev_verify;
	struct mm_proc_stats ps;
	bool have_ps;
	struct mm_probe_result last;
	bool have_last;
	int64_t last_wall_ms;
	uint64_t probes, probe_failures, skipped, fail_by_class[MM_PF_COUNT];
	char last_failure[384];
	int64_t last_failure_wall_ms;
	int64_t last_ok_wall_ms;
};

struct mm_services {
	struct mm_daemon *d;
	struct mm_probe_env *env;
	struct evdns_base *dns; /* only when a service names a host by name */
	struct svc **v;		/* each allocated once: jobs and probes point at them */
	size_t n, cap;
	struct mm_metric *f[16]; /* registry families, see defs[] */
	bool conn_job;
	struct mm_svc_event ring[EVENT_RING];
	size_t nev; /* total ever; ring index nev % EVENT_RING */
	struct mm_conntable conns; /* inbound connections to the probed ports */
	uint32_t *max_established; /* per conns.ports[i], since start */
	bool conns_ok;
	char conns_err[256];
};

static void on_event(const struct mm_svc_event *ev, void *arg)
{
	struct svc *s = arg;
	struct mm_services *ss = s->owner;
	ss->ring[ss->nev++ % EVENT_RING] = *ev;
	int level = ev->type == MM_SVC_EV_UP || ev->type == MM_SVC_EV_VERIFY_OK ? LOG_NOTICE
		    : ev->type == MM_SVC_EV_SLOW || ev->type == MM_SVC_EV_CERT    ? LOG_WARNING
										  : LOG_ERR;
	char event[64], restarts[16];
	snprintf(event, sizeof event, "service %s", mm_svc_event_name(ev->type));
	snprintf(restarts, sizeof restarts, "%d", ev->restarts_in_window);
	mm_log_event(&ss->d->log, level, event, "service", ev->service, "reason", ev->reason,
		     "restarts_in_window", restarts, NULL);
}

static void start_probe(struct svc *s, bool verifying);
static void do_restart(struct svc *s, const char *why);

static bool procs_ok(const struct svc *s)
{
	return !s->sc.has_procs || s->ps.count >= s->sc.proc_min;
}

/* After a restart: the processes are scanned again and the service is
 * re-probed; both must pass for the restart to count as verified. */
static void verify_now(evutil_socket_t fd, short what, void *arg)
{
	struct svc *s = arg;
	s->stop_done = false; /* the next restart may stop again */
	if (s->removed)
		return;
	if (s->sc.has_procs) {
		mm_proc_scan(&s->sc.procs, "/proc", mm_mono_ms(), &s->ps);
		s->have_ps = true;
	}
	if (s->sc.has_probe) {
		start_probe(s, true);
		return;
	}
	bool ok = procs_ok(s);
	mm_watch_verified(&s->w, mm_wall_ms(), ok, MM_PF_NONE,
			  ok ? "processes running" : s->ps.detail);
}

static void run_command(struct svc *s);

static void on_cmd_done(const struct mm_child_result *res, void *arg)
{
	struct svc *s = arg;
	s->cmd = NULL;
	s->ps_cmd = 0;
	char d[256];
	mm_child_describe(res, d, sizeof d);
	bool ok = !res->timed_out && !res->signal && res->exit_code == 0;
	if (s->start_after_stop) {
		/* stop then start: start runs whatever stop's outcome was. */
		mm_log_event(&s->owner->d->log, LOG_INFO, "stop command done", "service", s->sc.name,
			     "result", d, NULL);
		s->start_after_stop = false;
		run_command(s);
		return;
	}
	mm_watch_command_done(&s->w, mm_wall_ms(), ok, d);
	mm_log_event(&s->owner->d->log, LOG_INFO, "restart command done", "service", s->sc.name,
		     "result", d, NULL);
	struct timeval tv = {s->sc.verify_delay_ms / 1000, (s->sc.verify_delay_ms % 1000) * 1000};
	event_add(s->ev_verify, &tv);
}

/* restart if set; else start, preceded by stop when one is configured
 * and the service's processes are still there (a hang, not a crash). */
static void run_command(struct svc *s)
{
	const char *line = s->sc.restart ? s->sc.restart : s->sc.start;
	if (!s->sc.restart && s->sc.stop && !s->stop_done) {
		bool crashed = s->sc.has_procs && s->ps.count < s->sc.proc_min;
		if (!crashed) {
			line = s->sc.stop;
			s->start_after_stop = true;
		}
	}
	s->stop_done = true;
	struct mm_err err;
	if (s->owner->d->privsep) {
		/* Separated: the helper runs the same line, from its own read
		 * of the root-owned config; only the service and kind go over. */
		enum mm_ps_cmd kind = line == s->sc.restart ? MM_PS_CMD_RESTART
				      : line == s->sc.stop  ? MM_PS_CMD_STOP
							    : MM_PS_CMD_START;
		s->ps_cmd = mm_privsep_run(s->owner->d, s->sc.name, kind, on_cmd_done, s);
		if (!s->ps_cmd) {
			s->start_after_stop = false;
			mm_watch_command_done(&s->w, mm_wall_ms(), false,
					      "the privileged helper is not available");
			struct timeval tv = {0, 0};
			event_add(s->ev_verify, &tv);
		}
		return;
	}
	char **argv = mm_cmdline_argv(line, s->sc.shell, &err);
	struct mm_child_params cp = {.argv = argv, .timeout_ms = s->sc.command_timeout_ms};
	s->cmd = argv ? mm_child_start(s->owner->d->base, &cp, on_cmd_done, s, &err) : NULL;
	free(argv);
	if (!s->cmd) {
		s->start_after_stop = false;
		mm_watch_command_done(&s->w, mm_wall_ms(), false, err.msg);
		struct timeval tv = {0, 0};
		event_add(s->ev_verify, &tv);
	}
}

/* The watcher decided to restart s: run its command, and restart every
 * other member of its restart group. */
static void do_restart(struct svc *s, const char *why)
{
	run_command(s);
	if (!s->sc.group)
		return;
	struct mm_services *ss = s->owner;
	char gwhy[300];
	snprintf(gwhy, sizeof gwhy, "restart group %s: %s is being restarted", s->sc.group,
		 s->sc.name);
	for (size_t i = 0; i < ss->n; i++) {
		struct svc *o = ss->v[i];
		if (o == s || o->removed || !o->sc.group || strcmp(o->sc.group, s->sc.group) != 0 || o->cmd ||
		    o->ps_cmd)
			continue;
		if (o->probe) {
			mm_probe_cancel(o->probe);
			o->probe = NULL;
		}
		if (mm_watch_group_restart(&o->w, mm_mono_ms(), mm_wall_ms(), gwhy) == MM_WA_RESTART)
			run_command(o);
	}
	(void)why;
}

static void evaluate(struct svc *s, const struct mm_probe_result *res)
{
	struct mm_watch_obs obs = {0};
	char detail[400] = "";
	if (s->sc.has_procs) {
		obs.procs_checked = true;
		obs.procs_ok = s->ps.count >= s->sc.proc_min;
		obs.procs_over = s->sc.proc_max > 0 && s->ps.count > s->sc.proc_max;
		if (!obs.procs_ok)
			snprintf(detail, sizeof detail, "%d process%s running, %d expected: %.200s",
				 s->ps.count, s->ps.count == 1 ? "" : "es", s->sc.proc_min,
				 s->ps.detail[0] ? s->ps.detail : "none found");
		else if (obs.procs_over)
			snprintf(detail, sizeof detail, "%d processes running, at most %d expected",
				 s->ps.count, s->sc.proc_max);
	}
	if (res) {
		obs.probed = true;
		obs.probe_ok = res->fail == MM_PF_NONE;
		obs.fail = res->fail;
		obs.slow = obs.probe_ok && s->sc.warning_ms > 0 &&
			   res->total_us > s->sc.warning_ms * 1000;
		if (!obs.probe_ok || !detail[0])
			snprintf(detail, sizeof detail, "%s%s%s",
				 obs.probe_ok ? "" : mm_probe_fail_name(res->fail),
				 obs.probe_ok ? "" : ": ", res->msg);
		if (obs.slow)
			snprintf(detail, sizeof detail, "answered in %.3f s, warning at %.3f s",
				 (double)res->total_us / 1e6, (double)s->sc.warning_ms / 1000);
	}
	/* mailmond's own shortage is never the service's failure. */
	if ((res && res->fail == MM_PF_MONITOR) || (s->sc.has_procs && s->ps.exhausted)) {
		obs.monitor_error = true;
		if (s->sc.has_procs && s->ps.exhausted)
			snprintf(detail, sizeof detail,
				 "mailmond could not read /proc (out of file descriptors or memory)");
		s->owner->d->self_errors[MM_SE_RESOURCES]++;
	}
	obs.detail = detail;
	if (!obs.monitor_error &&
	    ((obs.procs_checked && !obs.procs_ok) || (obs.probed && !obs.probe_ok))) {
		mm_strlcpy(s->last_failure, detail, sizeof s->last_failure);
		s->last_failure_wall_ms = mm_wall_ms();
	}
	if (mm_watch_cycle(&s->w, mm_mono_ms(), mm_wall_ms(), &obs) == MM_WA_RESTART)
		do_restart(s, detail);
}

/* A probe that failed to connect or to finish may have failed on our
 * side: when mailmond cannot open a file right now, the failure is its
 * own (class monitor-error), whatever the probe saw. */
static void classify_ours(struct mm_probe_result *r)
{
	if ((r->fail == MM_PF_REFUSED || r->fail == MM_PF_TIMEOUT || r->fail == MM_PF_TLS ||
	     r->fail == MM_PF_PROTOCOL || r->fail == MM_PF_INTERNAL) &&
	    mm_fds_exhausted()) {
		char msg[sizeof r->msg];
		snprintf(msg, sizeof msg, "mailmond is out of file descriptors (%.*s)",
			 (int)sizeof msg - 48, r->msg);
		mm_strlcpy(r->msg, msg, sizeof r->msg);
		r->fail = MM_PF_MONITOR;
	}
}

static void on_probe(const struct mm_probe_result *res_in, void *arg)
{
	struct svc *s = arg;
	struct mm_probe_result copy = *res_in;
	classify_ours(&copy);
	const struct mm_probe_result *res = &copy;
	bool verifying = s->probe_verifying;
	s->probe = NULL;
	s->probe_verifying = false;
	s->probes++;
	s->last = *res;
	s->have_last = true;
	s->last_wall_ms = mm_wall_ms();
	if (res->fail != MM_PF_NONE) {
		s->probe_failures++;
		s->fail_by_class[res->fail]++;
	} else {
		s->last_ok_wall_ms = s->last_wall_ms;
	}
	if (res->have_cert)
		mm_watch_cert(&s->w, mm_mono_ms(), mm_wall_ms(), res->cert_days,
			      s->sc.cert_warning_days);
	if (verifying) {
		bool ok = res->fail == MM_PF_NONE && procs_ok(s);
		mm_watch_verified(&s->w, mm_wall_ms(), ok, res->fail,
				  procs_ok(s) ? res->msg : s->ps.detail);
		return;
	}
	evaluate(s, res);
}

static void start_probe(struct svc *s, bool verifying)
{
	struct mm_err err;
	s->probe_verifying = verifying;
	if (mm_fds_exhausted()) {
		struct mm_probe_result r = {.fail = MM_PF_MONITOR};
		mm_strlcpy(r.msg, "not probed: mailmond is out of file descriptors", sizeof r.msg);
		s->probe = NULL;
		on_probe(&r, s);
		return;
	}
	s->probe = mm_probe_start(s->owner->env, &s->sc.probe, on_probe, s, &err);
	if (!s->probe) {
		struct mm_probe_result r = {.fail = MM_PF_INTERNAL};
		mm_strlcpy(r.msg, err.msg, sizeof r.msg);
		on_probe(&r, s);
	}
}

static void cycle(void *arg, int64_t now_ms)
{
	struct svc *s = arg;
	if (s->removed)
		return;
	/* One cycle at a time per service: a probe still running (its
	 * timeout is longer than the interval), a restart or its
	 * verification under way. Other services are not affected. */
	if (s->probe || s->cmd || s->ps_cmd || s->w.state == MM_WS_VERIFYING) {
		s->skipped++;
		return;
	}
	if (s->sc.has_procs) {
		mm_proc_scan(&s->sc.procs, "/proc", now_ms, &s->ps);
		s->have_ps = true;
	}
	if (s->sc.has_probe)
		start_probe(s, false);
	else
		evaluate(s, NULL);
}

static void conn_cycle(void *arg, int64_t now_ms)
{
	struct mm_services *ss = arg;
	struct mm_err err;
	ss->conns_ok = mm_conntable_scan(&ss->conns, "/proc", false, &err) == 0;
	if (!ss->conns_ok) {
		mm_strlcpy(ss->conns_err, err.msg, sizeof ss->conns_err);
		return;
	}
	for (size_t i = 0; i < ss->conns.nports; i++)
		if (ss->conns.ports[i].established > ss->max_established[i])
			ss->max_established[i] = ss->conns.ports[i].established;
}

static json_t *conns_json(struct mm_services *ss)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < ss->conns.nports && ss->conns_ok; i++) {
		const struct mm_conn_port *p = &ss->conns.ports[i];
		json_t *states = json_object();
		for (int st = 1; st < MM_TCP_NSTATES; st++)
			if (p->by_state[st])
				json_object_set_new(states, mm_tcp_state_name(st),
						    json_integer(p->by_state[st]));
		struct mm_conn_client top[10];
		size_t n = mm_conntable_top(p, top, 10);
		json_t *tj = json_array();
		for (size_t k = 0; k < n; k++)
			json_array_append_new(tj, json_pack("{s:s, s:i}", "address", top[k].addr,
							    "connections", (int)top[k].count));
		json_array_append_new(
			arr, json_pack("{s:i, s:b, s:i, s:i, s:i, s:i, s:o, s:o, s:I}", "port",
				       (int)p->port, "listening", p->listening, "established",
				       (int)p->established, "max_established",
				       (int)ss->max_established[i], "syn_recv", (int)p->syn_recv,
				       "total", (int)p->total, "by_state", states, "top_clients", tj,
				       "clients_dropped", (json_int_t)p->clients_dropped));
	}
	return json_pack("{s:s, s:o, s:o}", "source",
			 !ss->conns_ok ? "unavailable" : ss->conns.via_netlink ? "sock_diag" : "/proc/net/tcp",
			 "ports", arr, "error", ss->conns_ok ? json_null() : mm_json_text(ss->conns_err));
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *result_json(const struct mm_probe_result *r)
{
	json_t *stages = json_object();
	for (size_t i = 0; i < r->nstages; i++)
		json_object_set_new(stages, r->stages[i].name,
				    json_real((double)r->stages[i].us / 1000.0));
	json_t *o = json_pack("{s:b, s:s, s:o, s:o, s:f, s:o, s:I}", "ok", r->fail == MM_PF_NONE,
			      "failure", mm_probe_fail_name(r->fail), "stage", mm_json_text(r->stage),
			      "message", mm_json_text(r->msg), "response_ms", (double)r->total_us / 1000.0, "stages_ms",
			      stages, "bytes_read", (json_int_t)r->bytes_read);
	if (r->have_cert)
		json_object_set_new(o, "cert_days", json_integer(r->cert_days));
	if (r->http_status)
		json_object_set_new(o, "http_status", json_integer(r->http_status));
	return o;
}

static json_t *event_json(const struct mm_svc_event *ev)
{
	return json_pack("{s:o, s:s, s:I, s:s, s:i, s:o}", "service", mm_json_text(ev->service), "type",
			 mm_svc_event_name(ev->type), "at_ms", (json_int_t)ev->wall_ms, "failure",
			 mm_probe_fail_name(ev->fail), "restarts_in_window", ev->restarts_in_window,
			 "reason", mm_json_text(ev->reason));
}

static const char *yn(bool b)
{
	return b ? "yes" : "no";
}

/* Every [service.NAME] key as the running service holds it (not as the
 * config file says): what a reload test compares with the file. Times in
 * ms; the credentials as the file path and the user it gave. */
static json_t *in_effect_json(const struct mm_service_conf *c)
{
	const struct mm_probe_params *p = &c->probe;
	json_t *o = json_object();
#define S(k, v) json_object_set_new(o, k, (v) ? json_string(v) : json_null())
#define I(k, v) json_object_set_new(o, k, json_integer((json_int_t)(v)))
	if (c->has_probe) {
		char url[MM_PROBE_STR + 1200];
		bool v6 = strchr(p->host, ':') != NULL;
		if (p->unix_path[0])
			snprintf(url, sizeof url, "%s://%s", p->scheme, p->unix_path);
		else
			snprintf(url, sizeof url, "%s://%s%s%s:%d%s", p->scheme, v6 ? "[" : "", p->host,
				 v6 ? "]" : "", p->port, p->path);
		json_object_set_new(o, "url", json_string(url));
		S("credentials_user", p->user[0] ? p->user : NULL);
	}
	S("credentials_file", c->credentials_file);
	I("interval", c->interval_ms);
	I("connect_timeout", p->connect_timeout_ms);
	I("timeout", p->timeout_ms);
	I("warning", c->warning_ms);
	S("starttls", yn(p->starttls));
	S("tls_verify", yn(!p->insecure));
	S("ca_file", p->ca_file[0] ? p->ca_file : NULL);
	S("rcpt", p->rcpt[0] ? p->rcpt : NULL);
	S("mail_from", p->mail_from);
	S("helo", p->helo);
	S("match", p->match[0] ? p->match : NULL);
	S("pidfile", c->has_procs && c->procs.pidfile[0] ? c->procs.pidfile : NULL);
	S("process_name", c->has_procs && c->procs.name[0] ? c->procs.name : NULL);
	S("process_cmdline", c->has_procs && c->procs.has_re ? c->procs.re_src : NULL);
	S("parent_pidfile",
	  c->has_procs && c->procs.parent_pidfile[0] ? c->procs.parent_pidfile : NULL);
	I("process_min", c->proc_min);
	I("process_max", c->proc_max);
	S("restart", c->restart);
	S("start", c->start);
	S("stop", c->stop);
	S("shell", yn(c->shell));
	I("command_timeout", c->command_timeout_ms);
	S("restart_group", c->group);
	I("failures", c->watch.failures);
	I("cycles", c->watch.cycles);
	I("flap_limit", c->watch.flap_limit);
	I("flap_window", c->watch.flap_window_ms);
	I("verify_delay", c->verify_delay_ms);
	S("autorestart", yn(c->autorestart));
	I("cert_warning_days", c->cert_warning_days);
#undef S
#undef I
	return o;
}

static json_t *svc_json(struct svc *s, int64_t mono)
{
	const struct mm_service_conf *c = &s->sc;
	json_t *o = json_pack(
		"{s:o, s:s, s:I, s:i, s:i, s:i, s:i, s:I, s:I, s:I}", "name", mm_json_text(c->name), "state",
		mm_watch_state_name(s->w.state), "interval_ms", (json_int_t)c->interval_ms,
		"failed_cycles", mm_watch_failed_cycles(&s->w), "cycles", s->w.conf.cycles,
		"restarts_in_window", mm_watch_restarts_in_window(&s->w, mono), "restarts_total",
		s->w.nrestarts_total, "probes", (json_int_t)s->probes, "probe_failures",
		(json_int_t)s->probe_failures, "skipped_cycles", (json_int_t)s->skipped);
	json_object_set_new(o, "flap_limit", json_integer(s->w.conf.flap_limit));
	json_object_set_new(o, "flap_window_ms", json_integer(s->w.conf.flap_window_ms));
	if (c->group)
		json_object_set_new(o, "restart_group", mm_json_text(c->group));
	if (c->has_probe) {
		/* Never the credentials: scheme, host and port only. */
		bool v6 = strchr(c->probe.host, ':') != NULL;
		char url[MM_PROBE_STR + 64];
		if (c->probe.unix_path[0])
			snprintf(url, sizeof url, "%s://%s", c->probe.scheme, c->probe.unix_path);
		else
			snprintf(url, sizeof url, "%s://%s%s%s:%d", c->probe.scheme, v6 ? "[" : "",
				 c->probe.host, v6 ? "]" : "", c->probe.port);
		json_object_set_new(o, "probe", mm_json_text(url));
		json_object_set_new(o, "protocol", json_string(mm_probe_proto_name(c->probe.proto)));
	}
	if (s->have_last) {
		json_t *l = result_json(&s->last);
		json_object_set_new(l, "at_ms", json_integer(s->last_wall_ms));
		json_object_set_new(o, "last", l);
	}
	if (s->last_failure[0])
		json_object_set_new(o, "last_failure",
				    json_pack("{s:o, s:I}", "message", mm_json_text(s->last_failure), "at_ms",
					      (json_int_t)s->last_failure_wall_ms));
	if (s->have_ps) {
		json_t *p = json_pack("{s:i, s:i, s:i, s:i, s:I, s:I, s:i}", "count", s->ps.count,
				      "min", c->proc_min, "max", c->proc_max, "workers", s->ps.workers,
				      "rss_bytes", (json_int_t)s->ps.rss_bytes, "oldest_age_s",
				      (json_int_t)s->ps.oldest_age_s, "main_pid", (int)s->ps.main_pid);
		json_object_set_new(p, "cpu_pct", s->ps.cpu_pct < 0 ? json_null()
								    : json_real(s->ps.cpu_pct));
		json_object_set_new(o, "processes", p);
	}
	json_t *fails = json_object();
	for (int f = 1; f < MM_PF_COUNT; f++)
		if (s->fail_by_class[f])
			json_object_set_new(fails, mm_probe_fail_name((enum mm_probe_fail)f),
					    json_integer((json_int_t)s->fail_by_class[f]));
	json_object_set_new(o, "failures_by_class", fails);
	json_object_set_new(o, "in_effect", in_effect_json(c));
	return o;
}


static void on_api_services(struct evhttp_request *req, void *arg)
{
	struct mm_services *ss = arg;
	int64_t mono = mm_mono_ms();
	json_t *arr = json_array();
	for (size_t i = 0; i < ss->n; i++)
		if (!ss->v[i]->removed)
			json_array_append_new(arr, svc_json(ss->v[i], mono));
	json_t *events = json_array();
	size_t first = ss->nev > EVENT_RING ? ss->nev - EVENT_RING : 0;
	for (size_t i = first; i < ss->nev; i++)
		json_array_append_new(events, event_json(&ss->ring[i % EVENT_RING]));
	mm_http_reply_json(req, 200, json_pack("{s:o, s:o, s:o}", "services", arr, "events", events,
				  "connections", conns_json(ss)));
	/* A document for 500 services is megabytes of short-lived objects;
	 * hand the freed heap back instead of keeping it as resident memory. */
	malloc_trim(0);
}

/* counterutil: the seed's objects. Values come from the probes, the
 * process checks and (later) the log parsers; a field no source fills
 * yet is null and named in "unwired". */
/* A log figure of the protocol's channel, from the registry (the logs
 * module publishes the channel counters there); JSON null when the logs
 * do not give it. */
static json_t *log_figure(struct mm_services *ss, enum mm_probe_proto proto, const char *family,
			  const char *result)
{
	const char *chan = proto == MM_PROTO_IMAP   ? "imap"
			   : proto == MM_PROTO_POP3 ? "pop3"
			   : proto == MM_PROTO_SMTP ? "smtpd"
						    : NULL;
	double v;
	if (!chan || !mm_registry_value(ss->d->metrics, family,
					result ? (const char *[]){chan, result}
					       : (const char *[]){chan},
					&v))
		return json_null();
	return json_integer((json_int_t)v);
}

static json_t *stat_object(struct mm_services *ss, enum mm_probe_proto proto, bool http)
{
	int64_t start_s = 0, last_ok = 0;
	uint64_t failed = 0, cur = 0, max = 0;
	int nsvc = 0;
	/* Connections: every distinct port probed with this protocol. */
	for (size_t i = 0; i < ss->conns.nports && ss->conns_ok; i++) {
		bool mine = false;
		for (size_t k = 0; k < ss->n && !mine; k++)
			mine = !ss->v[k]->removed && ss->v[k]->sc.has_probe &&
			       ss->v[k]->sc.probe.proto == proto &&
			       ss->v[k]->sc.probe.port == ss->conns.ports[i].port;
		if (mine) {
			cur += ss->conns.ports[i].established;
			max += ss->max_established[i];
		}
	}
	for (size_t i = 0; i < ss->n; i++) {
		struct svc *s = ss->v[i];
		if (s->removed || !s->sc.has_probe || s->sc.probe.proto != proto)
			continue;
		nsvc++;
		failed += s->fail_by_class[MM_PF_REFUSED] + s->fail_by_class[MM_PF_TIMEOUT] +
			  s->fail_by_class[MM_PF_TLS];
		if (s->last_ok_wall_ms > last_ok)
			last_ok = s->last_ok_wall_ms;
		if (s->have_ps && s->ps.main_pid > 0) {
			struct mm_proc_stat st;
			if (mm_proc_read_stat("/proc", s->ps.main_pid, &st)) {
				FILE *f = fopen("/proc/stat", "r");
				char line[256];
				long long btime = 0;
				while (f && fgets(line, sizeof line, f))
					if (sscanf(line, "btime %lld", &btime) == 1)
						break;
				if (f)
					fclose(f);
				long tck = sysconf(_SC_CLK_TCK);
				int64_t t = btime + (int64_t)(st.starttime / (uint64_t)(tck > 0 ? tck : 100));
				if (!start_s || t < start_s)
					start_s = t;
			}
		}
	}
	json_t *o = json_object();
	json_object_set_new(o, "services", json_integer(nsvc));
	json_object_set_new(o, "global.currentStartTime", start_s ? json_integer(start_s) : json_null());
	json_object_set_new(o, "global.lastConnectionTime",
			    last_ok ? json_integer(last_ok / 1000) : json_null());
	json_object_set_new(o, "global.maxConnections",
			    nsvc && ss->conns_ok ? json_integer((json_int_t)max) : json_null());
	/* Connection and login totals come from the mail logs, through the
	 * channel counters in the registry: the login process's lines for
	 * IMAP and POP3, smtpd's connects for SMTP. Absent without logs:
	 * null, not 0. */
	bool smtp = proto == MM_PROTO_SMTP;
	json_t *nconn = log_figure(ss, proto,
				   smtp ? "mailmon_inbound_associations_total"
					: "mailmon_login_connections_total",
				   NULL);
	bool logs = !json_is_null(nconn);
	json_object_set_new(o, "global.numConnections", nconn);
	json_object_set_new(o, "global.numCurrentConnections",
			    nsvc && ss->conns_ok ? json_integer((json_int_t)cur) : json_null());
	json_object_set_new(o, "global.numFailedConnections", json_integer((json_int_t)failed));
	json_object_set_new(o, "global.numFailedLogins",
			    smtp ? json_null() : log_figure(ss, proto, "mailmon_logins_total", "failed"));
	json_object_set_new(o, "global.numGoodLogins",
			    smtp ? json_null() : log_figure(ss, proto, "mailmon_logins_total", "good"));
	json_object_set_new(
		o, "sources",
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "global.currentStartTime",
			  "start of the oldest watched server process (/proc)",
			  "global.lastConnectionTime", "last successful mailmon probe",
			  "global.numFailedConnections",
			  "mailmon probes refused, timed out or failing TLS",
			  "global.numCurrentConnections",
			  "ESTABLISHED sockets on the probed ports (kernel connection table)",
			  "global.maxConnections", "highest numCurrentConnections seen since mailmond started",
			  "global.numConnections",
			  proto == MM_PROTO_SMTP
				  ? "smtpd connections in the mail log (channel counters)"
				  : "login process connections in the Dovecot log (channel counters)",
			  "global.numGoodLogins / numFailedLogins",
			  proto == MM_PROTO_SMTP ? "not logged for SMTP AUTH yet: null"
						 : "Dovecot Login: lines / failed attempts",
			  "unwired", logs ? "-" : "no log counters for this protocol yet: null"));
	(void)http;
	return o;
}

/* counterutil's "e2e" object: per [e2e.NAME] probe, read from the metric
 * registry where the e2e module publishes (no reader reaches into
 * another module's state). Times in seconds, from the last run. */
static void e2e_field(json_t *o, const struct mm_metric *m, const char *stage, const char *field)
{
	for (size_t i = 0; m && i < mm_metric_nseries(m); i++) {
		const struct mm_series *se = mm_metric_series(m, i);
		if (stage && strcmp(se->lv[1], stage) != 0)
			continue;
		json_t *p = json_object_get(o, se->lv[0]);
		if (!p) {
			p = json_object();
			json_object_set_new(o, se->lv[0], p);
		}
		json_t *old = json_object_get(p, field);
		double v = se->value + (old && !stage ? json_number_value(old) : 0);
		bool count = strncmp(field, "num", 3) == 0 || strcmp(field, "lastSuccessTime") == 0;
		json_object_set_new(p, field, count ? json_integer((json_int_t)v) : json_real(v));
	}
}

static json_t *e2e_object(struct mm_daemon *d)
{
	json_t *o = json_object();
	if (!d->metrics)
		return o;
	mm_registry_collect(d->metrics);
	static const struct {
		const char *family, *stage, *field;
	} rows[] = {
		{"mailmon_e2e_runs_total", NULL, "numRuns"},
		{"mailmon_e2e_failures_total", NULL, "numFailed"},
		{"mailmon_e2e_late_total", NULL, "numLate"},
		{"mailmon_e2e_lost_total", NULL, "numLost"},
		{"mailmon_e2e_last_success_timestamp_seconds", NULL, "lastSuccessTime"},
		{"mailmon_e2e_last_seconds", "ldap", "lastLdapTime"},
		{"mailmon_e2e_last_seconds", "smtp", "lastSmtpTime"},
		{"mailmon_e2e_last_seconds", "delivery", "lastDeliveryTime"},
		{"mailmon_e2e_last_seconds", "retrieve", "lastRetrieveTime"},
		{"mailmon_e2e_last_seconds", "total", "lastTotalTime"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		e2e_field(o, mm_registry_find(d->metrics, rows[i].family), rows[i].stage,
			  rows[i].field);
	return o;
}

static void on_api_counterutil(struct evhttp_request *req, void *arg)
{
	struct mm_services *ss = arg;
	mm_daemon_collect(ss->d); /* the log figures come from the registry */
	json_t *sr = json_object();
	for (size_t i = 0; i < ss->n; i++) {
		struct svc *s = ss->v[i];
		if (s->removed || !s->have_last)
			continue;
		json_object_set_new(
			sr, s->sc.name,
			json_pack("{s:f, s:I, s:b}", "responsetime",
				  (double)s->last.total_us / 1e6, "laststattime",
				  (json_int_t)(s->last_wall_ms / 1000), "ok",
				  s->last.fail == MM_PF_NONE));
	}
	json_t *doc = json_pack(
		"{s:o, s:o, s:o, s:o, s:o, s:o}", "imapstat", stat_object(ss, MM_PROTO_IMAP, false),
		"popstat", stat_object(ss, MM_PROTO_POP3, false), "httpstat",
		stat_object(ss, MM_PROTO_HTTP, true), "smtpstat",
		stat_object(ss, MM_PROTO_SMTP, false), "serverresponse", sr, "diskusage",
		json_pack("{s:b, s:s}", "available", 0, "note",
			  "disk usage is filled by a later issue"));
	json_object_set_new(doc, "e2e", e2e_object(ss->d));
	mm_http_reply_json(req, 200, doc);
}

/* ---- life cycle ------------------------------------------------------------ */

struct collect {
	char **names;
	size_t n, cap;
};

static void collect_name(const char *name, void *arg)
{
	struct collect *c = arg;
	c->names = xgrow(c->names, &c->cap, c->n + 1, sizeof *c->names);
	c->names[c->n++] = xstrdup(name);
}

static struct svc *find_svc(struct mm_services *ss, const char *name)
{
	for (size_t i = 0; i < ss->n; i++)
		if (strcmp(ss->v[i]->sc.name, name) == 0)
			return ss->v[i];
	return NULL;
}

/* A resolver only when some service names its host by name: a
 * numeric-only config never sends a DNS query. */
static void need_dns(struct mm_services *ss, const struct mm_service_conf *sc)
{
	if (ss->dns || !sc->has_probe || sc->probe.unix_path[0] || sc->probe.proto == MM_PROTO_LDAP ||
	    mm_is_numeric_ip(sc->probe.host))
		return;
	ss->dns = evdns_base_new(ss->d->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	mm_probe_env_set_dns(ss->env, ss->dns);
}

static void job_name(const struct svc *s, char *buf, size_t cap)
{
	snprintf(buf, cap, "service.%.38s", s->sc.name);
}

/* A new service from sc (taken over): its state, its job, first run at
 * first_ms from now. */
static void add_service(struct mm_services *ss, struct mm_service_conf *sc, int64_t now,
			int64_t first_ms)
{
	struct svc *s = xcalloc(1, sizeof *s);
	s->owner = ss;
	s->sc = *sc;
	need_dns(ss, &s->sc);
	mm_watch_init(&s->w, s->sc.name, &s->sc.watch, on_event, s);
	s->ev_verify = evtimer_new(ss->d->base, verify_now, s);
	ss->v = xgrow(ss->v, &ss->cap, ss->n + 1, sizeof *ss->v);
	ss->v[ss->n++] = s;
	char job[48];
	job_name(s, job, sizeof job);
	mm_schedule_add(&ss->d->sched, job, s->sc.interval_ms, first_ms, now, cycle, s);
}

/* The connection table follows the probed ports of the live services. */
static void build_conntable(struct mm_services *ss, int64_t now)
{
	mm_conntable_free(&ss->conns);
	free(ss->max_established);
	uint16_t *ports = xcalloc(ss->n ? ss->n : 1, sizeof *ports);
	size_t np = 0;
	int64_t conn_period = 10000;
	for (size_t i = 0; i < ss->n; i++) {
		const struct svc *s = ss->v[i];
		if (s->removed)
			continue;
		if (s->sc.has_probe && s->sc.probe.proto != MM_PROTO_LDAP && !s->sc.probe.unix_path[0])
			ports[np++] = (uint16_t)s->sc.probe.port;
		if (s->sc.interval_ms < conn_period)
			conn_period = s->sc.interval_ms;
	}
	mm_conntable_init(&ss->conns, ports, np);
	free(ports);
	ss->max_established = xcalloc(ss->conns.nports ? ss->conns.nports : 1, sizeof(uint32_t));
	ss->conns_ok = false;
	if (ss->conns.nports && !ss->conn_job) {
		mm_schedule_add(&ss->d->sched, "services.connections", conn_period, 0, now, conn_cycle,
				ss);
		ss->conn_job = true;
	} else if (ss->conn_job) {
		mm_schedule_set_period(&ss->d->sched, "services.connections", conn_period);
	}
}

/* After a SIGHUP reload: services keep their state (history, restarts,
 * counters) and take their new settings; new sections start, removed ones
 * stop. A section that no longer loads (e.g. an unreadable credentials
 * file) keeps its old settings, and the reason is logged. */
static void reconfigure(struct mm_services *ss)
{
	struct mm_daemon *d = ss->d;
	struct collect names = {0};
	mm_config_each_instance(d->conf, "service", collect_name, &names);
	int64_t now = mm_mono_ms();
	for (size_t i = 0; i < ss->n; i++) {
		bool keep = false;
		for (size_t k = 0; k < names.n && !keep; k++)
			keep = strcmp(names.names[k], ss->v[i]->sc.name) == 0;
		struct svc *s = ss->v[i];
		if (!keep && !s->removed) {
			s->removed = true;
			mm_probe_cancel(s->probe);
			s->probe = NULL;
			event_del(s->ev_verify);
			mm_log_notice(&d->log, "service %s: removed from the config; no longer watched",
				      s->sc.name);
		}
	}
	for (size_t k = 0; k < names.n; k++) {
		struct mm_service_conf sc;
		struct mm_err err;
		struct svc *s = find_svc(ss, names.names[k]);
		if (mm_service_conf_load(d->conf, names.names[k], &sc, &err) < 0) {
			mm_log_err(&d->log, "reload: %s%s", err.msg,
				   s && !s->removed ? "; the service keeps its previous settings" : "");
			continue;
		}
		if (!s) {
			add_service(ss, &sc, now, 0);
			mm_log_notice(&d->log, "service %s: added", sc.name);
			continue;
		}
		bool was_removed = s->removed;
		mm_service_conf_free(&s->sc);
		s->sc = sc;
		s->removed = false;
		need_dns(ss, &s->sc);
		mm_watch_set_conf(&s->w, &s->sc.watch);
		if (s->w.state == MM_WS_FAILED) {
			mm_watch_reset_failed(&s->w);
			mm_log_notice(&d->log, "service %s: reload: no longer failed, watched afresh",
				      s->sc.name);
		}
		char job[48];
		job_name(s, job, sizeof job);
		mm_schedule_set_period(&d->sched, job, s->sc.interval_ms);
		if (was_removed)
			mm_log_notice(&d->log, "service %s: added again", s->sc.name);
	}
	build_conntable(ss, now);
	for (size_t i = 0; i < names.n; i++)
		free(names.names[i]);
	free(names.names);
}

/* ---- the registry ---- */

enum {
	F_UP,
	F_STATE,
	F_RESPONSE,
	F_STAGE,
	F_RESTARTS,
	F_PROBES,
	F_PROBE_FAIL,
	F_CERT,
	F_PROC_COUNT,
	F_PROC_CPU,
	F_PROC_RSS,
	F_PROC_AGE,
	F_PROC_STOPPED,
	F_CONN,
	F_CONN_MAX,
	F_N
};

static const char *const watch_states[] = {"unknown",	 "up",	      "slow",  "down",
					   "restarting", "verifying", "failed", "monitor_error"};

static const struct mm_metric_def defs[F_N] = {
	[F_UP] = {"mailmon_service_up",
		  "1 when the service's last check passed (up or slow), 0 when it failed.",
		  MM_METRIC_GAUGE, {"service"}},
	[F_STATE] = {"mailmon_service_state",
		     "The watcher's state of the service: 1 for the current state.",
		     MM_METRIC_STATESET, {"service", "state"}, .states = watch_states,
		     .nstates = sizeof watch_states / sizeof watch_states[0], .max_series = 7000},
	[F_RESPONSE] = {"mailmon_service_response_seconds",
			"Response time of the last probe of the service, in seconds.",
			MM_METRIC_GAUGE, {"service"}},
	[F_STAGE] = {"mailmon_service_stage_seconds",
		     "Time of each stage of the last probe (connect, greeting, login, ...), in "
		     "seconds.",
		     MM_METRIC_GAUGE, {"service", "stage"}, .fold_label = 2, .max_series = 8000},
	[F_RESTARTS] = {"mailmon_service_restarts_total",
			"Restart commands run for the service since mailmond started.",
			MM_METRIC_COUNTER, {"service"}},
	[F_PROBES] = {"mailmon_service_probes_total", "Probes run against the service.",
		      MM_METRIC_COUNTER, {"service"}},
	[F_PROBE_FAIL] = {"mailmon_service_probe_failures_total",
			  "Failed probes by failure class (connect, timeout, protocol, rejected, "
			  "...).",
			  MM_METRIC_COUNTER, {"service", "class"}, .fold_label = 1,
			  .max_series = 8000},
	[F_CERT] = {"mailmon_certificate_expiry_days",
		    "Whole days until the service's TLS certificate expires (negative: expired).",
		    MM_METRIC_GAUGE, {"service"}},
	[F_PROC_COUNT] = {"mailmon_process_count", "Processes matching the service's process check.",
			  MM_METRIC_GAUGE, {"service"}},
	[F_PROC_CPU] = {"mailmon_process_cpu_ratio",
			"CPU used by the service's processes since the previous check, as a "
			"fraction of one core.",
			MM_METRIC_GAUGE, {"service"}},
	[F_PROC_RSS] = {"mailmon_process_resident_bytes",
			"Resident memory of the service's processes, in bytes.", MM_METRIC_GAUGE,
			{"service"}},
	[F_PROC_AGE] = {"mailmon_process_oldest_age_seconds",
			"Age of the service's oldest worker process, in seconds (the seed's "
			"MAX_LIFE_TIME check).",
			MM_METRIC_GAUGE, {"service"}},
	[F_PROC_STOPPED] = {"mailmon_process_stopped",
			    "The service's processes in state T (stopped: kill -STOP, a "
			    "debugger).",
			    MM_METRIC_GAUGE, {"service"}},
	[F_CONN] = {"mailmon_connections",
		    "TCP connections to the probed ports, by TCP state (ESTABLISHED, "
		    "SYN_RECV, ...).",
		    MM_METRIC_GAUGE, {"port", "state"}, .fold_label = 1},
	[F_CONN_MAX] = {"mailmon_connections_established_max",
			"Most ESTABLISHED connections seen on the port since mailmond started.",
			MM_METRIC_GAUGE, {"port"}},
};

static void collect(void *arg, struct mm_registry *r)
{
	struct mm_services *ss = arg;
	for (size_t i = 0; i < ss->n; i++) {
		const struct svc *s = ss->v[i];
		if (s->removed)
			continue;
		const char *sl[] = {s->sc.name};
		mm_metric_set_state(ss->f[F_STATE], sl,
				    (size_t)s->w.state < sizeof watch_states / sizeof watch_states[0]
					    ? watch_states[s->w.state]
					    : "unknown");
		mm_metric_set(ss->f[F_RESTARTS], sl, (double)s->w.nrestarts_total);
		mm_metric_set(ss->f[F_PROBES], sl, (double)s->probes);
		for (int f = 1; f < MM_PF_COUNT; f++)
			if (s->fail_by_class[f])
				mm_metric_set(ss->f[F_PROBE_FAIL],
					      (const char *[]){s->sc.name,
							       mm_probe_fail_name((enum mm_probe_fail)f)},
					      (double)s->fail_by_class[f]);
		if (s->w.state != MM_WS_UNKNOWN && s->w.state != MM_WS_MONITOR)
			mm_metric_set(ss->f[F_UP], sl,
				      s->w.state == MM_WS_UP || s->w.state == MM_WS_SLOW ? 1 : 0);
		if (s->have_last) {
			mm_metric_set(ss->f[F_RESPONSE], sl, (double)s->last.total_us / 1e6);
			for (size_t k = 0; k < s->last.nstages; k++)
				mm_metric_set(ss->f[F_STAGE],
					      (const char *[]){s->sc.name, s->last.stages[k].name},
					      (double)s->last.stages[k].us / 1e6);
			if (s->last.have_cert)
				mm_metric_set(ss->f[F_CERT], sl, (double)s->last.cert_days);
		}
		if (s->have_ps) {
			mm_metric_set(ss->f[F_PROC_COUNT], sl, (double)s->ps.count);
			if (s->ps.cpu_pct >= 0)
				mm_metric_set(ss->f[F_PROC_CPU], sl, s->ps.cpu_pct / 100.0);
			mm_metric_set(ss->f[F_PROC_RSS], sl, (double)s->ps.rss_bytes);
			mm_metric_set(ss->f[F_PROC_AGE], sl, (double)s->ps.oldest_age_s);
			mm_metric_set(ss->f[F_PROC_STOPPED], sl, (double)s->ps.stopped);
		}
	}
	for (size_t i = 0; i < ss->conns.nports && ss->conns_ok; i++) {
		const struct mm_conn_port *p = &ss->conns.ports[i];
		char port[8];
		snprintf(port, sizeof port, "%u", (unsigned)p->port);
		for (int st = 1; st < MM_TCP_NSTATES; st++)
			mm_metric_set(ss->f[F_CONN], (const char *[]){port, mm_tcp_state_name(st)},
				      (double)p->by_state[st]);
		mm_metric_set(ss->f[F_CONN_MAX], (const char *[]){port},
			      (double)ss->max_established[i]);
	}
}

/* Reload, phase 1: every [service.NAME] of next must load (URL, regex,
 * credentials file, commands), or the whole reload is refused. */
static int services_check(struct mm_daemon *d, const struct mm_config *next, struct mm_err *err)
{
	struct collect names = {0};
	mm_config_each_instance(next, "service", collect_name, &names);
	int rc = 0;
	for (size_t i = 0; i < names.n && rc == 0; i++) {
		struct mm_service_conf sc;
		if (mm_service_conf_load(next, names.names[i], &sc, err) < 0)
			rc = -1;
		else
			mm_service_conf_free(&sc);
	}
	for (size_t i = 0; i < names.n; i++)
		free(names.names[i]);
	free(names.names);
	return rc;
}

static void services_apply(struct mm_daemon *d, const struct mm_config *old)
{
	if (d->services)
		reconfigure(d->services);
}

static int services_init(struct mm_daemon *d, struct mm_err *err)
{
	struct collect names = {0};
	mm_config_each_instance(d->conf, "service", collect_name, &names);
	struct mm_services *ss = xcalloc(1, sizeof *ss);
	ss->d = d;
	d->services = ss;
	int rc = 0;
	ss->env = mm_probe_env_new(d->base, NULL, err);
	if (!ss->env) {
		rc = -1;
		goto out;
	}
	int64_t now = mm_mono_ms();
	for (size_t i = 0; i < names.n; i++) {
		struct mm_service_conf sc;
		if (mm_service_conf_load(d->conf, names.names[i], &sc, err) < 0) {
			rc = -1;
			goto out;
		}
		/* Spread the first runs over one interval so 500 services do not
		 * all connect in the same millisecond. */
		add_service(ss, &sc, now, (sc.interval_ms * (int64_t)i) / (int64_t)names.n);
	}
	build_conntable(ss, now);
	if (mm_registry_add_all(d->metrics, defs, F_N, ss->f, err) < 0) {
		rc = -1;
		goto out;
	}
	mm_registry_add_collector(d->metrics, collect, ss);
	if (d->httpd) {
		mm_http_route(d, "/api/services", on_api_services, ss);
		mm_http_route(d, "/api/counterutil", on_api_counterutil, ss);
	}
out:
	for (size_t i = 0; i < names.n; i++)
		free(names.names[i]);
	free(names.names);
	return rc;
}

static void services_free(struct mm_daemon *d)
{
	struct mm_services *ss = d->services;
	if (!ss)
		return;
	mm_registry_remove_collector(d->metrics, ss);
	for (size_t i = 0; i < ss->n; i++) {
		struct svc *s = ss->v[i];
		mm_probe_cancel(s->probe);
		mm_child_cancel(s->cmd);
		mm_privsep_cancel(d, s->ps_cmd);
		if (s->ev_verify)
			event_free(s->ev_verify);
		mm_service_conf_free(&s->sc);
		free(s);
	}
	/* The schedule still points at our jobs; the daemon frees it next. */
	for (size_t i = 0; i < d->sched.n; i++)
		if (strncmp(d->sched.jobs[i].name, "service", 7) == 0)
			d->sched.jobs[i].fn = NULL;
	free(ss->v);
	mm_conntable_free(&ss->conns);
	free(ss->max_established);
	mm_probe_env_free(ss->env);
	if (ss->dns)
		evdns_base_free(ss->dns, 0);
	free(ss);
	d->services = NULL;
}

const struct mm_module mm_module_services = {
	.name = "services",
	.conf = {&mm_conf_table_services},
	.init = services_init,
	.check = services_check,
	.apply = services_apply,
	.free = services_free,
};

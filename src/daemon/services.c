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
 * This file: the probe cycle, restarts and their verification, reload
 * and the module row. The readers live beside it, behind the private
 * services_impl.h: services_api.c (/api/services), services_counterutil.c
 * (/api/counterutil), services_metrics.c (the registry families).
 *
 * Ownership: struct mm_services owns the per-service state, the probe
 * environment, probes and commands in flight (see services_impl.h).
 */
#include "daemon/services.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/childproc.h"
#include "core/clock.h"
#include "core/cmdline.h"
#include "core/parse.h"
#include "core/strutil.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/module.h"
#include "daemon/privsep.h"
#include "daemon/services_impl.h"
#include "metrics/registry.h"

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

/* The scan runs on connscan's thread (it stalled the loop for up to
 * 290 ms on a loaded host); the loop only asks for one. */
static void conn_cycle(void *arg, int64_t now_ms)
{
	struct mm_services *ss = arg;
	if (ss->connscan)
		mm_connscan_request(ss->connscan);
}

static void conn_done(void *arg, const struct mm_conntable *t, bool ok, const char *why)
{
	struct mm_services *ss = arg;
	ss->conns = t;
	ss->conns_ok = ok;
	if (!ok) {
		mm_strlcpy(ss->conns_err, why, sizeof ss->conns_err);
		return;
	}
	for (size_t i = 0; i < t->nports; i++)
		if (t->ports[i].established > ss->max_established[i])
			ss->max_established[i] = t->ports[i].established;
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
	mm_connscan_free(ss->connscan);
	ss->connscan = NULL;
	ss->conns = NULL;
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
	/* One entry per port given, at least as many as the table keeps. */
	ss->max_established = xcalloc(np ? np : 1, sizeof(uint32_t));
	ss->conns_ok = false;
	mm_strlcpy(ss->conns_err, "not scanned yet", sizeof ss->conns_err);
	if (np) {
		struct mm_err err;
		ss->connscan = mm_connscan_new(ss->d->base, ports, np, conn_done, ss, &err);
		if (!ss->connscan)
			mm_strlcpy(ss->conns_err, err.msg, sizeof ss->conns_err);
	}
	free(ports);
	if (np && !ss->conn_job) {
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
	if (mm_services_metrics_add(ss, err) < 0) {
		rc = -1;
		goto out;
	}
	if (d->httpd) {
		mm_http_route(d, "/api/services", mm_services_api, ss);
		mm_http_route(d, "/api/counterutil", mm_services_api_counterutil, ss);
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
	mm_connscan_free(ss->connscan);
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

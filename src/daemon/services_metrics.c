/*
 * services_metrics: the services module's families in the metric
 * registry (mailmon_service_*, mailmon_certificate_expiry_days,
 * mailmon_process_*, mailmon_connections*) and the collector that sets
 * them from struct mm_services at each scrape.
 *
 * The registry owns the families; ss->f[] only points at them. The
 * collector reads ss on the loop's thread and owns nothing.
 */
#include <stdio.h>

#include "daemon/daemon.h"
#include "daemon/services_impl.h"
#include "metrics/registry.h"

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
	for (size_t i = 0; ss->conns_ok && i < ss->conns->nports; i++) {
		const struct mm_conn_port *p = &ss->conns->ports[i];
		char port[8];
		snprintf(port, sizeof port, "%u", (unsigned)p->port);
		for (int st = 1; st < MM_TCP_NSTATES; st++)
			mm_metric_set(ss->f[F_CONN], (const char *[]){port, mm_tcp_state_name(st)},
				      (double)p->by_state[st]);
		mm_metric_set(ss->f[F_CONN_MAX], (const char *[]){port},
			      (double)ss->max_established[i]);
	}
}
_Static_assert(F_N <= sizeof((struct mm_services *)0)->f / sizeof(struct mm_metric *),
	       "struct mm_services f[] holds every family");

int mm_services_metrics_add(struct mm_services *ss, struct mm_err *err)
{
	if (mm_registry_add_all(ss->d->metrics, defs, F_N, ss->f, err) < 0)
		return -1;
	mm_registry_add_collector(ss->d->metrics, collect, ss);
	return 0;
}

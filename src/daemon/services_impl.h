/*
 * services_impl: the services module's private state, shared by the files
 * that make up the module and included by nothing else:
 *   services.c             probe cycle, restarts, reload, module row
 *   services_api.c         GET /api/services (state, in_effect, events)
 *   services_counterutil.c GET /api/counterutil (the seed's objects)
 *   services_metrics.c     the mailmon_service_*, mailmon_process_* and
 *                          mailmon_connections families and their collector
 *
 * Ownership: struct mm_services (in d->services) owns every struct svc
 * (each allocated once, since jobs, probes and timers point at it), the
 * probe environment, the resolver and the connection table. The readers
 * (API, collector) only read it, on the loop's thread.
 */
#ifndef MAILMON_DAEMON_SERVICES_IMPL_H
#define MAILMON_DAEMON_SERVICES_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "services/connscan.h"
#include "services/conntable.h"
#include "services/service_conf.h"
#include "services/watcher.h"

struct evdns_base;
struct evhttp_request;
struct event;
struct mm_child;
struct mm_daemon;
struct mm_metric;
struct mm_probe;
struct mm_probe_env;

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
	struct mm_metric *f[16]; /* registry families, see services_metrics.c */
	bool conn_job;
	struct mm_svc_event ring[EVENT_RING];
	size_t nev; /* total ever; ring index nev % EVENT_RING */
	/* Inbound connections to the probed ports, scanned off the loop:
	 * conns is the last finished scan (owned by connscan, NULL before
	 * the first), valid while conns_ok. */
	struct mm_connscan *connscan;
	const struct mm_conntable *conns;
	uint32_t *max_established; /* per conns->ports[i], since start */
	bool conns_ok;
	char conns_err[256];
};

/* services_api.c: GET /api/services; arg is the struct mm_services. */
void mm_services_api(struct evhttp_request *req, void *arg);

/* services_counterutil.c: GET /api/counterutil; arg as above. */
void mm_services_api_counterutil(struct evhttp_request *req, void *arg);

/* services_metrics.c: registers the families in d->metrics and the
 * collector reading ss; 0, or -1 with err set. The caller removes the
 * collector (mm_registry_remove_collector(d->metrics, ss)) before
 * freeing ss. */
int mm_services_metrics_add(struct mm_services *ss, struct mm_err *err);

#endif

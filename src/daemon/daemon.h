/*
 * daemon: mailmond's top-level context.
 *
 * struct mm_daemon owns all of the daemon's state: the event loop, the
 * current config, the log sink, the periodic schedule and every module's
 * state as later issues add them. It is the only mutable state with a
 * lifetime of the whole process; everything else is reached through it.
 *
 * Files of this directory:
 *   main.c      options, --help, daemonising, start and exit
 *   daemon.c    the loop: signals, heartbeat, systemd notify and watchdog;
 *               starts and frees the modules of modules.c (module.h)
 *   reload.c    SIGHUP: load, let every module check, then apply, or keep
 *               the last good config
 *   self.c      the "self" module: log level, mailmond's own metrics
 *   http_api.c  the "http" module: evhttp, /api/status, /metrics
 *   metrics_api.c  /metrics and /api/metrics, readers of the registry
 *   one glue file per other module (logwatch.c, queuewatch.c, ...)
 */
#ifndef MAILMON_DAEMON_DAEMON_H
#define MAILMON_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/log.h"
#include "core/schedule.h"

struct event_base;
struct event;
struct mm_httpd;
struct mm_services;
struct mm_logwatch;
struct mm_registry;
struct mm_e2e_mod;
struct mm_self;
struct mm_www;
struct mm_history;
struct mm_alarms;
struct mm_snmp;
struct mm_diskwatch;
struct mm_cpuwatch;
struct mm_cluster;
struct mm_baseline_mod;
struct mm_isolate;
struct evbuffer;

#define MM_MAX_MODULES 16

/* A module's part in the last reload. */
struct mm_module_status {
	bool ok;
	int64_t at_wall_ms;
	uint64_t applied;
	char msg[256];
};

struct mm_reload_status {
	int64_t at_wall_ms;
	bool ok;
	uint64_t count, failures;
	char msg[1024];
};

/* mailmond's own errors by kind, published by self.c as
 * mailmon_errors_total{kind} (the built-in alarm.selferrors watches it). */
enum mm_self_error {
	MM_SE_RESOURCES, /* a check failed for lack of fds or memory on our side */
	MM_SE_FILES,	 /* a damaged file of ours was set aside and recreated */
	MM_SE_N
};

struct mm_daemon {
	struct event_base *base;
	struct mm_log log;
	struct mm_config *conf; /* the last good config; never NULL once started */
	char *conf_path;	/* NULL: defaults only */
	char *pidfile;		/* NULL: none written */
	bool foreground;

	struct event *ev_term, *ev_int, *ev_hup, *ev_heartbeat, *ev_watchdog;
	struct event *ev_usr1; /* reopens [daemon] log_file */
	struct mm_schedule sched;
	struct mm_httpd *httpd; /* core/httpd.c; add routes with mm_http_route */
	char http_bound[128]; /* "127.0.0.1:9925" once listening */
	struct mm_services *services; /* daemon/services.c */

	int64_t started_wall_ms, started_mono_ms;
	uint64_t heartbeats;
	struct mm_reload_status reload;
	int exit_code;

	struct mm_logwatch *logwatch; /* logwatch.c: [log] sources */
	struct mm_queuewatch *queue;  /* queuewatch.c: [queue] gauges, /api/queue */

	struct mm_registry *metrics; /* every module's measurements (metrics/registry.h) */
	struct mm_e2e_mod *e2e;	     /* e2e.c: [e2e.NAME] end-to-end delivery probes */
	struct mm_module_status mod[MM_MAX_MODULES]; /* per mm_modules[] row */
	size_t modules_started;		 /* rows whose init ran */
	struct mm_self *self;		 /* self.c */
	struct mm_privsep *privsep;	 /* privsep.c; NULL: not separated */
	struct mm_www *www;		 /* www.c: the dashboard's files */
	struct mm_history *history;	 /* history.c: [history], /api/v1/history */
	struct mm_alarms *alarms;	 /* alarms.c */
	uint64_t self_errors[MM_SE_N];	 /* see enum mm_self_error */
	struct mm_snmp *snmp;		 /* snmp.c: [snmp], the AgentX subagent */
	struct mm_diskwatch *disk;	 /* diskwatch.c */
	struct mm_cpuwatch *cpu;	 /* cpuwatch.c */
	struct mm_cluster *cluster;	 /* cluster.c: node verdict, HAProxy agent */
	struct mm_baseline_mod *baseline; /* baseline.c: [baseline], /api/v1/baseline */
	struct mm_isolate *isolate;	 /* isolate.c: flooded-destination isolation */
	int64_t last_beat_mono_ms, loop_lag_ms, loop_lag_max_ms;
};

/* Sets up the loop, signals, timers and listeners from d->conf. Returns 0
 * or -1 with err (the caller reports it). */
int mm_daemon_init(struct mm_daemon *d, struct mm_err *err);
/* Runs until SIGTERM/SIGINT; returns the exit code. */
int mm_daemon_run(struct mm_daemon *d);
void mm_daemon_free(struct mm_daemon *d);

/* reload.c: re-read d->conf_path; when it loads and every module's check
 * passes, adopt it and let every module apply it; otherwise log every
 * problem and keep the current config. */
void mm_daemon_reload(struct mm_daemon *d);

/* http_api.c */
/* Sends doc (consumed) as the JSON answer with HTTP status code; every
 * endpoint answers through it, so all speak the same format. */
struct evhttp_request;
typedef struct json_t json_t;
void mm_http_reply_json(struct evhttp_request *req, int code, json_t *doc);
/* Sends text/plain (or another type) with HTTP status code. */
void mm_http_reply_text(struct evhttp_request *req, int code, const char *type,
			struct evbuffer *body);
/* Serves path (NULL: every unrouted path) with fn after the request
 * checks of core/httpd.c; does nothing when HTTP is off. */
void mm_http_route(struct mm_daemon *d, const char *path,
		   void (*fn)(struct evhttp_request *, void *), void *arg);
void mm_http_unroute(struct mm_daemon *d, const char *path);
/* mm_http_route for a path that also takes POST (core/httpd.h). */
void mm_http_route_post(struct mm_daemon *d, const char *path,
			void (*fn)(struct evhttp_request *, void *), void *arg);
/* isolate.c: the isolated destinations, pending changes and last results
 * (/api/isolate); JSON null when [isolate] is off. */
json_t *mm_isolate_json(const struct mm_daemon *d);
/* health.c: adds /healthz (200 or 503 from mailmond's own state). */
void mm_health_routes(struct mm_daemon *d);
/* history.c: false (and why) when the history is on but cannot write. */
bool mm_history_healthy(const struct mm_daemon *d, char *why, size_t cap);
/* history.c: the history database's path, or NULL when the history is off. */
const char *mm_history_path(const struct mm_daemon *d);
/* metrics_api.c: adds /metrics and /api/metrics through mm_http_route. */
void mm_metrics_api_routes(struct mm_daemon *d);
/* The %-decoded value of query parameter key of req, copied into out;
 * false when absent, longer than cap - 1, or the query is over 1 KiB. */
bool mm_http_query_param(struct evhttp_request *req, const char *key, char *out, size_t cap);
/* Runs every collector of d->metrics: readers call it before walking. */
void mm_daemon_collect(struct mm_daemon *d);

#endif

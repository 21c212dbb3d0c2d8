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
 *   daemon.c    the loop: signals, heartbeat, systemd notify and watchdog
 *   reload.c    SIGHUP: load, validate, adopt or keep the last good config
 *   http_api.c  the JSON API served by libevent's evhttp
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
struct evhttp;
struct mm_services;
struct mm_logwatch;

struct mm_reload_status {
	int64_t at_wall_ms;
	bool ok;
	uint64_t count, failures;
	char msg[1024];
};

struct mm_daemon {
	struct event_base *base;
	struct mm_log log;
	struct mm_config *conf; /* the last good config; never NULL once started */
	char *conf_path;	/* NULL: defaults only */
	char *pidfile;		/* NULL: none written */
	bool foreground;

	struct event *ev_term, *ev_int, *ev_hup, *ev_heartbeat, *ev_watchdog;
	struct mm_schedule sched;
	struct evhttp *http;
	char http_bound[128]; /* "127.0.0.1:9925" once listening */
	struct mm_services *services; /* daemon/services.c */

	int64_t started_wall_ms, started_mono_ms;
	uint64_t heartbeats;
	struct mm_reload_status reload;
	int exit_code;

	struct mm_logwatch *logwatch; /* logwatch.c: [log] sources */
	struct mm_queuewatch *queue;  /* queuewatch.c: [queue] gauges, /api/queue */
};

/* Sets up the loop, signals, timers and listeners from d->conf. Returns 0
 * or -1 with err (the caller reports it). */
int mm_daemon_init(struct mm_daemon *d, struct mm_err *err);
/* Runs until SIGTERM/SIGINT; returns the exit code. */
int mm_daemon_run(struct mm_daemon *d);
void mm_daemon_free(struct mm_daemon *d);

/* reload.c: re-read d->conf_path; on success adopt it, otherwise log every
 * problem and keep the current config. */
void mm_daemon_reload(struct mm_daemon *d);
/* Applies the reloadable settings of d->conf to running modules. */
void mm_daemon_apply_config(struct mm_daemon *d);

/* http_api.c */
int mm_http_api_start(struct mm_daemon *d, struct mm_err *err);
/* Sends doc (consumed) as the JSON answer with HTTP status code; every
 * endpoint answers through it, so all speak the same format. */
struct evhttp_request;
typedef struct json_t json_t;
void mm_http_reply_json(struct evhttp_request *req, int code, json_t *doc);
void mm_http_api_stop(struct mm_daemon *d);

#endif

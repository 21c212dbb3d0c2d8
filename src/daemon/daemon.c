/*
 * daemon: the event loop (see daemon.h).
 *
 * One libevent base, one heartbeat timer on the monotonic clock, signals
 * delivered as events so handlers run in the loop and never race it. When
 * started by systemd (Type=notify) it reports readiness, reloads and the
 * watchdog keep-alive; without systemd those calls do nothing.
 */
#include "daemon/daemon.h"
#include "daemon/privsep.h"

#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "core/clock.h"
#include "core/xalloc.h"
#include "daemon/module.h"
#include "metrics/registry.h"

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct mm_daemon *d = arg;
	mm_log_event(&d->log, LOG_NOTICE, "stopping", "signal",
		     sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
	sd_notify(0, "STOPPING=1");
	event_base_loopbreak(d->base);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct mm_daemon *d = arg;
	sd_notify(0, "RELOADING=1");
	mm_daemon_reload(d);
	sd_notify(0, "READY=1");
}

/* SIGUSR1: logrotate moved [daemon] log_file away; write to a new one. */
static void on_usr1(evutil_socket_t sig, short what, void *arg)
{
	struct mm_daemon *d = arg;
	struct mm_err err;
	if (mm_log_reopen(&d->log, &err) < 0)
		mm_log_event(&d->log, LOG_ERR, "log file not reopened", "error", err.msg, NULL);
	else if (d->log.sink == MM_LOG_FILE)
		mm_log_event(&d->log, LOG_NOTICE, "log file reopened", "path", d->log.path, NULL);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct mm_daemon *d = arg;
	d->heartbeats++;
	int64_t now = mm_mono_ms();
	/* Loop lag: how late this beat came. A stalled loop shows here
	 * before anything else notices. */
	int64_t period = mm_config_duration_ms(d->conf, "daemon", "heartbeat");
	if (d->last_beat_mono_ms) {
		int64_t lag = now - d->last_beat_mono_ms - period;
		d->loop_lag_ms = lag > 0 ? lag : 0;
		if (d->loop_lag_ms > d->loop_lag_max_ms)
			d->loop_lag_max_ms = d->loop_lag_ms;
	}
	d->last_beat_mono_ms = now;
	mm_schedule_tick(&d->sched, now);
}

/* The watchdog is fed from its own timer, not the heartbeat, so a stuck
 * job (which stalls the loop) stops the keep-alive and systemd restarts us. */
static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

static struct event *add_timer(struct mm_daemon *d, int64_t period_ms,
			       event_callback_fn fn)
{
	struct event *ev = event_new(d->base, -1, EV_PERSIST, fn, d);
	struct timeval tv = {.tv_sec = period_ms / 1000,
			     .tv_usec = (period_ms % 1000) * 1000};
	event_add(ev, &tv);
	return ev;
}

int mm_daemon_init(struct mm_daemon *d, struct mm_err *err)
{
	struct event_config *cfg = event_config_new();
	/* Timers must follow CLOCK_MONOTONIC; a wall-clock step must not fire
	 * or starve periodic checks. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	d->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (!d->base)
		return mm_err_set(err, "cannot create the event loop");

	d->started_wall_ms = mm_wall_ms();
	d->started_mono_ms = mm_mono_ms();
	signal(SIGPIPE, SIG_IGN);
	d->ev_term = evsignal_new(d->base, SIGTERM, on_stop_signal, d);
	d->ev_int = evsignal_new(d->base, SIGINT, on_stop_signal, d);
	d->ev_hup = evsignal_new(d->base, SIGHUP, on_hup, d);
	d->ev_usr1 = evsignal_new(d->base, SIGUSR1, on_usr1, d);
	event_add(d->ev_term, NULL);
	event_add(d->ev_int, NULL);
	event_add(d->ev_hup, NULL);
	event_add(d->ev_usr1, NULL);

	d->ev_heartbeat =
		add_timer(d, mm_config_duration_ms(d->conf, "daemon", "heartbeat"), on_heartbeat);

	uint64_t wd_usec = 0;
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0)
		d->ev_watchdog = add_timer(d, (int64_t)(wd_usec / 2000), on_watchdog);

	d->metrics = mm_registry_new();
	for (size_t i = 0; i < mm_nmodules; i++) {
		const struct mm_module *m = mm_modules[i];
		d->modules_started = i + 1;
		d->mod[i] = (struct mm_module_status){.ok = true, .at_wall_ms = mm_wall_ms()};
		snprintf(d->mod[i].msg, sizeof d->mod[i].msg, "started");
		if (m->init && m->init(d, err) < 0)
			return -1;
	}
	return 0;
}

void mm_daemon_collect(struct mm_daemon *d)
{
	mm_registry_collect(d->metrics);
}

int mm_daemon_run(struct mm_daemon *d)
{
	char pid[24], api[160];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	snprintf(api, sizeof api, "http://%s", d->http_bound);
	mm_log_event(&d->log, LOG_NOTICE, "mailmond started", "version", MAILMON_VERSION, "pid", pid,
		     "config", d->conf_path ? d->conf_path : "defaults", "api",
		     d->http_bound[0] ? api : "off", NULL);
	sd_notify(0, "READY=1");
	event_base_dispatch(d->base);
	mm_log_event(&d->log, LOG_NOTICE, "mailmond stopped", "exit", d->exit_code ? "1" : "0", NULL);
	return d->exit_code;
}

void mm_daemon_free(struct mm_daemon *d)
{
	mm_privsep_free(d);
	/* Reverse order: a module may still use what an earlier one made
	 * (the HTTP listener, the log pipeline) until it is freed. */
	for (size_t i = d->modules_started; i-- > 0;)
		if (mm_modules[i]->free)
			mm_modules[i]->free(d);
	d->modules_started = 0;
	mm_registry_free(d->metrics);
	d->metrics = NULL;
	struct event **evs[] = {&d->ev_term, &d->ev_int, &d->ev_hup, &d->ev_usr1, &d->ev_heartbeat,
				&d->ev_watchdog};
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
		if (*evs[i])
			event_free(*evs[i]);
		*evs[i] = NULL;
	}
	mm_schedule_free(&d->sched);
	if (d->base)
		event_base_free(d->base);
	mm_config_free(d->conf);
	free(d->conf_path);
	free(d->pidfile);
	d->base = NULL;
	d->conf = NULL;
}

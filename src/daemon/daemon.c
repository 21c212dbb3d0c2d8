/*
 * daemon: the event loop (see daemon.h).
 *
 * One libevent base, one heartbeat timer on the monotonic clock, signals
 * delivered as events so handlers run in the loop and never race it. When
 * started by systemd (Type=notify) it reports readiness, reloads and the
 * watchdog keep-alive; without systemd those calls do nothing.
 */
#include "daemon/daemon.h"

#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "core/clock.h"
#include "core/xalloc.h"
#include "daemon/services.h"
#include "daemon/counters_api.h"
#include "daemon/logwatch.h"
#include "daemon/queuewatch.h"

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct mm_daemon *d = arg;
	mm_log_notice(&d->log, "received %s, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
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

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct mm_daemon *d = arg;
	d->heartbeats++;
	mm_schedule_tick(&d->sched, mm_mono_ms());
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
	event_add(d->ev_term, NULL);
	event_add(d->ev_int, NULL);
	event_add(d->ev_hup, NULL);

	d->ev_heartbeat =
		add_timer(d, mm_config_duration_ms(d->conf, "daemon", "heartbeat"), on_heartbeat);

	uint64_t wd_usec = 0;
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0)
		d->ev_watchdog = add_timer(d, (int64_t)(wd_usec / 2000), on_watchdog);

	if (mm_config_bool(d->conf, "http", "enable") && mm_http_api_start(d, err) < 0)
		return -1;
	mm_daemon_apply_config(d);
	if (mm_services_init(d, err) < 0)
		return -1;
	if (mm_logwatch_init(d, err) < 0)
		return -1;
	if (mm_counters_api_init(d, err) < 0)
		return -1;
	if (mm_queuewatch_init(d, err) < 0)
		return -1;
	return 0;
}

int mm_daemon_run(struct mm_daemon *d)
{
	mm_log_notice(&d->log, "mailmond %s started (pid %d, config %s%s%s)", MAILMON_VERSION,
		      (int)getpid(), d->conf_path ? d->conf_path : "defaults",
		      d->http_bound[0] ? ", API http://" : "", d->http_bound);
	sd_notify(0, "READY=1");
	event_base_dispatch(d->base);
	mm_log_notice(&d->log, "mailmond stopped");
	return d->exit_code;
}

void mm_daemon_free(struct mm_daemon *d)
{
	mm_services_free(d);
	mm_logwatch_free(d);
	mm_counters_api_free(d);
	mm_queuewatch_free(d);
	mm_http_api_stop(d);
	struct event **evs[] = {&d->ev_term, &d->ev_int, &d->ev_hup, &d->ev_heartbeat,
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

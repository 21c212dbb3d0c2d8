/*
 * snmp: the "snmp" daemon module ([snmp]): the AgentX subagent
 * (export/snmp_agentx.h) driven by the event loop. The descriptors and the
 * next timeout net-snmp asks for become libevent events, re-read after
 * every callback, so the library never waits in select() of its own and
 * a lost master is reconnected by its alarms running from our timer.
 *
 * Requests are answered from an export/snmp_view.h view of the registry,
 * rebuilt (after a collection) when the one at hand is older than
 * VIEW_MAX_AGE_MS: a walk of a large mtaGroupTable does not collect once
 * per object.
 *
 * Publishes mailmon_snmp_agentx_connected and mailmon_snmp_requests_total.
 * Ownership: struct mm_snmp lives in d->snmp.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "core/clock.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/module.h"
#include "export/snmp_agentx.h"
#include "metrics/registry.h"

#define VIEW_MAX_AGE_MS 2000

enum { F_CONNECTED, F_REQUESTS, F_N };

static const struct mm_metric_def defs[F_N] = {
	[F_CONNECTED] = {"mailmon_snmp_agentx_connected",
			 "1 while the AgentX session with the snmpd master is open.",
			 MM_METRIC_GAUGE},
	[F_REQUESTS] = {"mailmon_snmp_requests_total",
			"SNMP variables (GET/GETNEXT) answered through AgentX.", MM_METRIC_COUNTER},
};

struct mm_snmp {
	struct mm_daemon *d;
	struct mm_snmp_agent *agent;
	struct mm_snmp_view view;
	int64_t built_ms;
	int fds[MM_SNMP_MAX_FDS];
	struct event *fdev[MM_SNMP_MAX_FDS];
	size_t nfds;
	struct event *timer;
	struct mm_metric *f[F_N];
};

static const struct mm_snmp_view *refresh(void *arg)
{
	struct mm_snmp *s = arg;
	int64_t now = mm_mono_ms();
	if (s->built_ms && now - s->built_ms < VIEW_MAX_AGE_MS)
		return &s->view;
	mm_daemon_collect(s->d);
	struct mm_snmp_info info = {
		.mta_name = mm_config_get(s->d->conf, "mta", "type"),
		.version = MAILMON_VERSION,
		.now_unix = mm_wall_ms() / 1000,
		.uptime_cs = (now - s->d->started_mono_ms) / 10,
	};
	mm_snmp_view_build(&s->view, s->d->metrics, &info);
	s->built_ms = now;
	return &s->view;
}

static void log_line(void *arg, int priority, const char *msg)
{
	struct mm_snmp *s = arg;
	mm_log(&s->d->log, priority <= LOG_WARNING ? LOG_WARNING : LOG_INFO, "snmp: %s", msg);
}

static void rearm(struct mm_snmp *s);

static void on_fd(evutil_socket_t fd, short what, void *arg)
{
	struct mm_snmp *s = arg;
	int f = (int)fd;
	mm_snmp_agent_process(s->agent, &f, 1);
	rearm(s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mm_snmp *s = arg;
	mm_snmp_agent_process(s->agent, NULL, 0);
	rearm(s);
}

/* Watches what net-snmp wants watched now. */
static void rearm(struct mm_snmp *s)
{
	int fds[MM_SNMP_MAX_FDS];
	size_t n;
	int64_t timeout_ms;
	mm_snmp_agent_poll(s->agent, fds, &n, &timeout_ms);
	if (n != s->nfds || memcmp(fds, s->fds, n * sizeof fds[0]) != 0) {
		for (size_t i = 0; i < s->nfds; i++)
			event_free(s->fdev[i]);
		for (size_t i = 0; i < n; i++) {
			s->fdev[i] = event_new(s->d->base, fds[i], EV_READ | EV_PERSIST, on_fd, s);
			event_add(s->fdev[i], NULL);
		}
		memcpy(s->fds, fds, n * sizeof fds[0]);
		s->nfds = n;
	}
	/* No timer wanted: still look again each second (a reconnect alarm
	 * added by a callback we did not see). */
	if (timeout_ms < 0 || timeout_ms > 1000)
		timeout_ms = 1000;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	evtimer_add(s->timer, &tv);
}

static void collect(void *arg, struct mm_registry *r)
{
	struct mm_snmp *s = arg;
	mm_metric_set(s->f[F_CONNECTED], NULL, mm_snmp_agent_connected(s->agent));
	mm_metric_set(s->f[F_REQUESTS], NULL, (double)mm_snmp_agent_requests(s->agent));
}

static int snmp_init(struct mm_daemon *d, struct mm_err *err)
{
	if (!mm_config_bool(d->conf, "snmp", "enable"))
		return 0;
	struct mm_snmp *s = xcalloc(1, sizeof *s);
	s->d = d;
	int ping_s = (int)(mm_config_duration_ms(d->conf, "snmp", "ping_interval") / 1000);
	s->agent = mm_snmp_agent_start(mm_config_get(d->conf, "snmp", "agentx_socket"), ping_s,
				       refresh, log_line, s, err);
	if (!s->agent) {
		free(s);
		return -1;
	}
	d->snmp = s;
	if (mm_registry_add_all(d->metrics, defs, F_N, s->f, err) < 0)
		return -1;
	mm_registry_add_collector(d->metrics, collect, s);
	s->timer = evtimer_new(d->base, on_timer, s);
	rearm(s);
	return 0;
}

static void snmp_free(struct mm_daemon *d)
{
	struct mm_snmp *s = d->snmp;
	if (!s)
		return;
	mm_registry_remove_collector(d->metrics, s);
	for (size_t i = 0; i < s->nfds; i++)
		event_free(s->fdev[i]);
	if (s->timer)
		event_free(s->timer);
	mm_snmp_agent_stop(s->agent);
	mm_snmp_view_free(&s->view);
	free(s);
	d->snmp = NULL;
}

const struct mm_module mm_module_snmp = {
	.name = "snmp",
	.conf = {&mm_conf_table_snmp},
	.init = snmp_init,
	.free = snmp_free,
};

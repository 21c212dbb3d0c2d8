/*
 * watcher: see watcher.h. The event texts are in one table below.
 */
#include "services/watcher.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/strutil.h"

static const char *const event_names[MM_SVC_EV_COUNT] = {
	[MM_SVC_EV_UP] = "up",
	[MM_SVC_EV_DOWN] = "down",
	[MM_SVC_EV_SLOW] = "slow",
	[MM_SVC_EV_CRASH] = "crash",
	[MM_SVC_EV_HANG] = "hang",
	[MM_SVC_EV_PROCS] = "process-count",
	[MM_SVC_EV_RESTART] = "restart",
	[MM_SVC_EV_COMMAND_FAILED] = "command-failed",
	[MM_SVC_EV_VERIFY_OK] = "verify-ok",
	[MM_SVC_EV_VERIFY_FAILED] = "verify-failed",
	[MM_SVC_EV_GAVE_UP] = "gave-up",
	[MM_SVC_EV_CERT] = "certificate-expiring",
	[MM_SVC_EV_MONITOR] = "monitor-error",
};

const char *mm_svc_event_name(enum mm_svc_event_type t)
{
	return (unsigned)t < MM_SVC_EV_COUNT ? event_names[t] : "?";
}

const char *mm_watch_state_name(enum mm_watch_state s)
{
	switch (s) {
	case MM_WS_UNKNOWN: return "unknown";
	case MM_WS_UP: return "up";
	case MM_WS_SLOW: return "slow";
	case MM_WS_DOWN: return "down";
	case MM_WS_RESTARTING: return "restarting";
	case MM_WS_VERIFYING: return "verifying";
	case MM_WS_FAILED: return "failed";
	case MM_WS_MONITOR: return "unknown (monitor error)";
	}
	return "?";
}


static void emit(struct mm_watch *w, enum mm_svc_event_type t, int64_t wall_ms,
		 enum mm_probe_fail fail, int64_t mono_ms, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void emit(struct mm_watch *w, enum mm_svc_event_type t, int64_t wall_ms,
		 enum mm_probe_fail fail, int64_t mono_ms, const char *fmt, ...)
{
	struct mm_svc_event ev = {.type = t, .wall_ms = wall_ms, .fail = fail};
	mm_strlcpy(ev.service, w->name, sizeof ev.service);
	ev.restarts_in_window = mm_watch_restarts_in_window(w, mono_ms);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ev.reason, sizeof ev.reason, fmt, ap);
	va_end(ap);
	if (w->emit)
		w->emit(&ev, w->arg);
}

void mm_watch_reset_failed(struct mm_watch *w)
{
	if (w->state != MM_WS_FAILED)
		return;
	w->state = MM_WS_UNKNOWN;
	w->history = 0;
	w->nhistory = 0;
	memset(w->restarts, 0, sizeof w->restarts);
	w->nrestarts_total = 0;
}

void mm_watch_set_conf(struct mm_watch *w, const struct mm_watch_conf *conf)
{
	w->conf = *conf;
	if (w->conf.cycles < 1)
		w->conf.cycles = 1;
	if (w->conf.cycles > 64)
		w->conf.cycles = 64;
	if (w->conf.failures > w->conf.cycles)
		w->conf.failures = w->conf.cycles;
	if (w->conf.flap_limit > MM_WATCH_MAX_FLAP)
		w->conf.flap_limit = MM_WATCH_MAX_FLAP;
}

void mm_watch_init(struct mm_watch *w, const char *name, const struct mm_watch_conf *conf,
		   mm_svc_event_fn *fn, void *arg)
{
	memset(w, 0, sizeof *w);
	mm_strlcpy(w->name, name, sizeof w->name);
	mm_watch_set_conf(w, conf);
	w->emit = fn;
	w->arg = arg;
}

int mm_watch_restarts_in_window(const struct mm_watch *w, int64_t mono_ms)
{
	int n = 0;
	int have = w->nrestarts_total < MM_WATCH_MAX_FLAP ? w->nrestarts_total : MM_WATCH_MAX_FLAP;
	for (int i = 0; i < have; i++)
		if (mono_ms - w->restarts[i] < w->conf.flap_window_ms)
			n++;
	return n;
}

int mm_watch_failed_cycles(const struct mm_watch *w)
{
	int n = 0;
	for (int i = 0; i < w->nhistory && i < w->conf.cycles; i++)
		if (w->history & ((uint64_t)1 << i))
			n++;
	return n;
}

/* Decides between a restart and giving up (flap limit). */
static enum mm_watch_action try_restart(struct mm_watch *w, int64_t mono_ms, int64_t wall_ms,
					enum mm_probe_fail fail, const char *why)
{
	if (!w->conf.can_restart)
		return MM_WA_NONE;
	if (mm_watch_restarts_in_window(w, mono_ms) >= w->conf.flap_limit) {
		w->state = MM_WS_FAILED;
		emit(w, MM_SVC_EV_GAVE_UP, wall_ms, fail, mono_ms,
		     "%d restarts within %llds: not restarting again (%s); needs a human",
		     w->conf.flap_limit, (long long)(w->conf.flap_window_ms / 1000), why);
		return MM_WA_NONE;
	}
	w->restarts[w->nrestarts_total % MM_WATCH_MAX_FLAP] = mono_ms;
	w->nrestarts_total++;
	w->state = MM_WS_RESTARTING;
	emit(w, MM_SVC_EV_RESTART, wall_ms, fail, mono_ms, "restarting: %s", why);
	return MM_WA_RESTART;
}

enum mm_watch_action mm_watch_cycle(struct mm_watch *w, int64_t mono_ms, int64_t wall_ms,
				    const struct mm_watch_obs *o)
{
	/* mailmond could not look: the cycle is not recorded, nothing acts,
	 * and the service shows as unknown until a cycle sees it again. */
	if (o->monitor_error) {
		if (w->state == MM_WS_RESTARTING || w->state == MM_WS_VERIFYING ||
		    w->state == MM_WS_FAILED)
			return MM_WA_NONE;
		if (w->state != MM_WS_MONITOR)
			emit(w, MM_SVC_EV_MONITOR, wall_ms, MM_PF_MONITOR, mono_ms, "%s",
			     o->detail ? o->detail : "");
		w->state = MM_WS_MONITOR;
		return MM_WA_NONE;
	}
	/* While a restart or its verification is under way, and after giving
	 * up, cycles are still recorded but never act. */
	bool crashed = o->procs_checked && !o->procs_ok;
	bool failed = crashed || (o->probed && !o->probe_ok);
	w->history = (w->history << 1) | (failed ? 1u : 0u);
	if (w->nhistory < 64)
		w->nhistory++;
	const char *detail = o->detail ? o->detail : "";
	enum mm_watch_state before = w->state;

	if (w->state == MM_WS_RESTARTING || w->state == MM_WS_VERIFYING)
		return MM_WA_NONE;
	if (!failed) {
		enum mm_watch_state now = o->slow ? MM_WS_SLOW : MM_WS_UP;
		if (w->state == MM_WS_FAILED)
			return MM_WA_NONE; /* stays failed until a human resets it */
		if (before == MM_WS_DOWN || before == MM_WS_MONITOR)
			emit(w, MM_SVC_EV_UP, wall_ms, MM_PF_NONE, mono_ms, "answering again");
		if (now == MM_WS_SLOW && before != MM_WS_SLOW)
			emit(w, MM_SVC_EV_SLOW, wall_ms, MM_PF_NONE, mono_ms, "%s", detail);
		if (o->procs_over)
			emit(w, MM_SVC_EV_PROCS, wall_ms, MM_PF_NONE, mono_ms, "%s", detail);
		w->state = now;
		return MM_WA_NONE;
	}
	if (w->state == MM_WS_FAILED)
		return MM_WA_NONE;
	if (before != MM_WS_DOWN)
		emit(w, MM_SVC_EV_DOWN, wall_ms, o->fail, mono_ms, "%s", detail);
	w->state = MM_WS_DOWN;
	char why[300];
	if (crashed) {
		snprintf(why, sizeof why, "crash: %s", detail);
		emit(w, MM_SVC_EV_CRASH, wall_ms, o->fail, mono_ms, "%s", detail);
		return try_restart(w, mono_ms, wall_ms, o->fail, why);
	}
	int nfail = mm_watch_failed_cycles(w);
	if (nfail >= w->conf.failures) {
		snprintf(why, sizeof why, "hang: %d of the last %d probes failed, last: %s", nfail,
			 w->conf.cycles, detail);
		emit(w, MM_SVC_EV_HANG, wall_ms, o->fail, mono_ms, "%s", why + 6);
		return try_restart(w, mono_ms, wall_ms, o->fail, why);
	}
	return MM_WA_NONE;
}

enum mm_watch_action mm_watch_group_restart(struct mm_watch *w, int64_t mono_ms, int64_t wall_ms,
					    const char *why)
{
	if (w->state == MM_WS_FAILED || w->state == MM_WS_RESTARTING || w->state == MM_WS_VERIFYING)
		return MM_WA_NONE;
	return try_restart(w, mono_ms, wall_ms, MM_PF_NONE, why);
}

void mm_watch_cert(struct mm_watch *w, int64_t mono_ms, int64_t wall_ms, int days,
		   int warn_days)
{
	if (days >= warn_days) {
		w->cert_warned = false;
		return;
	}
	if (w->cert_warned)
		return;
	w->cert_warned = true;
	emit(w, MM_SVC_EV_CERT, wall_ms, MM_PF_NONE, mono_ms,
	     days < 0 ? "certificate expired %d days ago" : "certificate expires in %d days",
	     days < 0 ? -days : days);
}

void mm_watch_command_done(struct mm_watch *w, int64_t wall_ms, bool ok, const char *detail)
{
	if (!ok)
		emit(w, MM_SVC_EV_COMMAND_FAILED, wall_ms, MM_PF_NONE, w->restarts[(w->nrestarts_total + MM_WATCH_MAX_FLAP - 1) % MM_WATCH_MAX_FLAP],
		     "%s", detail ? detail : "");
	w->state = MM_WS_VERIFYING;
}

void mm_watch_verified(struct mm_watch *w, int64_t wall_ms, bool ok, enum mm_probe_fail fail,
		       const char *detail)
{
	int64_t last = w->restarts[(w->nrestarts_total + MM_WATCH_MAX_FLAP - 1) % MM_WATCH_MAX_FLAP];
	if (ok) {
		w->history = 0; /* a fresh start: old failures do not count again */
		w->state = MM_WS_UP;
		emit(w, MM_SVC_EV_VERIFY_OK, wall_ms, MM_PF_NONE, last, "up after restart: %s",
		     detail ? detail : "");
	} else {
		w->state = MM_WS_DOWN;
		emit(w, MM_SVC_EV_VERIFY_FAILED, wall_ms, fail, last, "still failing after restart: %s",
		     detail ? detail : "");
	}
}

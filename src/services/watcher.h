/*
 * watcher: the per-service decision machine of the seed's watcher and
 * msprobe, without I/O so it can be tested cycle by cycle.
 *
 * Each cycle the caller reports what it saw (mm_watch_cycle): whether the
 * processes are there and whether the probe passed. The watcher keeps the
 * last M outcomes and decides:
 *   - crash: processes gone -> restart now;
 *   - hang: the probe failed in N of the last M cycles -> restart;
 *   - flap limit: at most K restarts per window; the next one instead
 *     marks the service failed (MM_WS_FAILED) and it is left for a human;
 *   - verify: after the restart command the caller re-probes and reports
 *     it with mm_watch_verified().
 * Every state change and decision is emitted as a typed event
 * (service_event.h) through the callback given at init.
 *
 * Ownership: struct mm_watch is a value owned by the caller; it holds no
 * pointers except the event callback and its argument.
 */
#ifndef MAILMON_SERVICES_WATCHER_H
#define MAILMON_SERVICES_WATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "services/service_event.h"

#define MM_WATCH_MAX_FLAP 64

enum mm_watch_state {
	MM_WS_UNKNOWN,	  /* no cycle yet */
	MM_WS_UP,
	MM_WS_SLOW,	  /* up, over its warning threshold */
	MM_WS_DOWN,	  /* failing, not (yet) acted on */
	MM_WS_RESTARTING, /* a restart command runs */
	MM_WS_VERIFYING,  /* waiting to re-probe after a restart */
	MM_WS_FAILED,	  /* flap limit reached: left for a human */
	MM_WS_MONITOR,	  /* unknown: mailmond could not look (its own fds or
			     memory ran out); never acted on */
};

struct mm_watch_conf {
	int failures, cycles;	/* N of M */
	int flap_limit;		/* K */
	int64_t flap_window_ms;
	bool can_restart;	/* a command is configured and autorestart is on */
};

struct mm_watch {
	char name[64];
	struct mm_watch_conf conf;
	enum mm_watch_state state;
	uint64_t history;	/* bit i: cycle i ago failed */
	int nhistory;
	int64_t restarts[MM_WATCH_MAX_FLAP]; /* mono ms, ring */
	int nrestarts_total;
	bool cert_warned;
	mm_svc_event_fn *emit;
	void *arg;
};

/* What the caller must do after a cycle. */
enum mm_watch_action { MM_WA_NONE, MM_WA_RESTART };

struct mm_watch_obs {
	bool procs_checked, procs_ok;	/* procs_ok: at least the minimum */
	bool procs_over;		/* more than the maximum (reported only) */
	bool probed, probe_ok, slow;
	enum mm_probe_fail fail;
	bool monitor_error;		/* the check failed on mailmond's side */
	const char *detail;		/* the probe's or the process check's message */
};

void mm_watch_init(struct mm_watch *w, const char *name, const struct mm_watch_conf *conf,
		   mm_svc_event_fn *emit, void *arg);
/* A human's "try again" (mailmond reload): a failed service forgets its
 * history and restarts and is watched afresh. No effect in other states. */
void mm_watch_reset_failed(struct mm_watch *w);
/* New settings (a reload); history, restarts and state are kept. */
void mm_watch_set_conf(struct mm_watch *w, const struct mm_watch_conf *conf);
enum mm_watch_action mm_watch_cycle(struct mm_watch *w, int64_t mono_ms, int64_t wall_ms,
				    const struct mm_watch_obs *obs);
/* A group member restarts because another one asked; returns MM_WA_NONE
 * when this service's flap limit forbids it. */
enum mm_watch_action mm_watch_group_restart(struct mm_watch *w, int64_t mono_ms, int64_t wall_ms,
					    const char *why);
/* The restart command ended (ok: exit 0 within its timeout). */
void mm_watch_command_done(struct mm_watch *w, int64_t wall_ms, bool ok, const char *detail);
/* The verification re-probe's outcome. */
void mm_watch_verified(struct mm_watch *w, int64_t wall_ms, bool ok, enum mm_probe_fail fail,
		       const char *detail);
/* Certificate days from a TLS probe: emits MM_SVC_EV_CERT once when the
 * days fall below warn_days, again only after they went back above. */
void mm_watch_cert(struct mm_watch *w, int64_t mono_ms, int64_t wall_ms, int days,
		   int warn_days);
/* Restarts within the flap window ending at mono_ms. */
int mm_watch_restarts_in_window(const struct mm_watch *w, int64_t mono_ms);
/* Failed cycles among the last M. */
int mm_watch_failed_cycles(const struct mm_watch *w);
const char *mm_watch_state_name(enum mm_watch_state s);

#endif

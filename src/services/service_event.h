/*
 * service_event: the typed events of the service watcher.
 *
 * Every change of a service's state and every action the watcher takes is
 * one event with its reason. mailmond logs them and keeps the last ones
 * for /api/services; the alarm engine (a later issue) turns them into
 * mail. Texts for each type live in one table (mm_svc_event_name).
 *
 * Ownership: an event is a value; its strings are arrays inside it.
 */
#ifndef MAILMON_SERVICES_SERVICE_EVENT_H
#define MAILMON_SERVICES_SERVICE_EVENT_H

#include <stdint.h>

#include "probes/probe.h"

enum mm_svc_event_type {
	MM_SVC_EV_UP,		  /* answered again after being down */
	MM_SVC_EV_DOWN,		  /* a probe or process check failed (first of a run) */
	MM_SVC_EV_SLOW,		  /* answered, slower than its warning threshold */
	MM_SVC_EV_CRASH,	  /* its processes are gone or too few */
	MM_SVC_EV_HANG,		  /* probe failed N of the last M cycles */
	MM_SVC_EV_PROCS,	  /* process count outside min..max (not a crash) */
	MM_SVC_EV_RESTART,	  /* a restart command was started */
	MM_SVC_EV_COMMAND_FAILED, /* the command exited non-zero or timed out */
	MM_SVC_EV_VERIFY_OK,	  /* re-probe after the restart succeeded */
	MM_SVC_EV_VERIFY_FAILED,  /* re-probe after the restart failed */
	MM_SVC_EV_GAVE_UP,	  /* flap limit reached: marked failed, left for a human */
	MM_SVC_EV_CERT,		  /* certificate expires within 21 days */
	MM_SVC_EV_MONITOR,	  /* mailmond could not check: its own error */
};
#define MM_SVC_EV_COUNT (MM_SVC_EV_MONITOR + 1)

struct mm_svc_event {
	enum mm_svc_event_type type;
	char service[64];
	int64_t wall_ms;
	enum mm_probe_fail fail; /* the probe failure behind it, if any */
	int restarts_in_window;
	char reason[320];
};

typedef void mm_svc_event_fn(const struct mm_svc_event *ev, void *arg);

/* "restart", "gave-up", ... (stable names for JSON and logs). */
const char *mm_svc_event_name(enum mm_svc_event_type t);

#endif

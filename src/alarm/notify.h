/*
 * notify: turns alarm events into notices and delivers them: postmaster
 * mail over SMTP (the probe engine's SMTP client, non-blocking, with a
 * timeout and byte caps), Alertmanager v2 (when configured) and an exec
 * hook (core/childproc).
 *
 * Events are held for digest_window: when more than digest_min arrive in
 * it they go out as one digest mail, otherwise one mail each. Mail and
 * Alertmanager notices pass through the outbox (outbox.h) in the state
 * directory: written before the first attempt, removed after the server
 * accepted them, retried with backoff in between. The exec hook runs once
 * per event; its failure is reported, not retried.
 *
 *   mm_notify_conf_load(conf, out, err)
 *   mm_notifier_new(base, probe_env, outbox_dir, engine, err)
 *   mm_notifier_set_conf(n, nc)       takes nc (after a reload too)
 *   mm_notifier_events(n, evs, count, reg, now_ms)
 *   mm_notifier_flush(n, now_ms)      sends what the window holds now
 *                                     (before the definitions change)
 *   mm_notifier_test(n, now_ms, done, arg)  one test notice through
 *                                     every channel, bypassing the outbox
 *
 * Results are written into the engine's instances (last_result) and the
 * outbox counters; log lines go to the log callback.
 * Ownership: the notifier owns its outbox, conf and pending events; the
 * engine, the loop and the probe env are the caller's and outlive it.
 */
#ifndef MAILMON_ALARM_NOTIFY_H
#define MAILMON_ALARM_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarm/alarm.h"
#include "alarm/outbox.h"
#include "core/config.h"
#include "core/err.h"
#include "core/logsink.h"

struct event_base;
struct mm_probe_env;

#define MM_NOTIFY_AM_HOLD_S 300
#define MM_NOTIFY_AM_REFRESH_MS 60000

struct mm_notify_conf {
	bool mail;
	char host[64];
	int port;
	char from[256], to[256];
	int64_t timeout_ms;
	char *template_text; /* NULL: built-in body */
	char node[256];
	int64_t digest_window_ms;
	int digest_min;
	int64_t retry_min_ms, retry_max_ms;
	char am_url[256]; /* "" when unset */
	char am_host[64];
	int am_port;
	int64_t am_timeout_ms;
	char **exec_argv; /* NULL when unset */
	char exec_line[512];	  /* as configured, for /api/status */
	char template_path[512];  /* "" when unset */
	int64_t exec_timeout_ms;
};

typedef void mm_notify_test_fn(void *arg, const char *channel, int ok, const char *detail);

int mm_notify_conf_load(const struct mm_config *conf, struct mm_notify_conf *out,
			struct mm_err *err);
void mm_notify_conf_free(struct mm_notify_conf *nc);

struct mm_notifier;

struct mm_notifier *mm_notifier_new(struct event_base *base, struct mm_probe_env *penv,
				    const char *outbox_dir, struct mm_alarm_engine *engine,
				    struct mm_err *err);
void mm_notifier_free(struct mm_notifier *n);
void mm_notifier_set_conf(struct mm_notifier *n, struct mm_notify_conf *nc);
/* Where the notifier reports notices sent (LOG_INFO) and failed
 * (LOG_WARNING); see logsink.h. */
void mm_notifier_set_log(struct mm_notifier *n, struct mm_logsink log);
void mm_notifier_events(struct mm_notifier *n, const struct mm_alarm_event *evs, size_t count,
			const struct mm_registry *reg, int64_t now_ms);
void mm_notifier_flush(struct mm_notifier *n, int64_t now_ms);
const struct mm_outbox *mm_notifier_outbox(const struct mm_notifier *n);
/* The settings in use (after mm_notifier_set_conf). */
const struct mm_notify_conf *mm_notifier_conf(const struct mm_notifier *n);
/* Alertmanager forgets an alert it has not heard of for a while: every
 * raised, notified, unsilenced instance is posted again with endsAt
 * MM_NOTIFY_AM_HOLD_S ahead (call it every minute or so). */
void mm_notifier_am_refresh(struct mm_notifier *n, const struct mm_alarm_engine *e,
			    const struct mm_alarm_defs *defs, const struct mm_registry *reg,
			    int64_t now_ms);
/* Sends a test notice on every configured channel; done is called once
 * per channel. Returns the number of channels tried. */
int mm_notifier_test(struct mm_notifier *n, int64_t now_ms, mm_notify_test_fn *done, void *arg);

#endif

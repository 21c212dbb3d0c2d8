/*
 * module: one row per daemon module (logs, queue, services, http, ...).
 *
 * mailmond walks mm_modules[] (modules.c) to start, reload and stop
 * everything; daemon.c and reload.c never name a module. A row gives:
 *
 *   name    shown in `mailmon status` with the module's last reload result
 *   conf    its config rows (the module's own struct mm_conf_tables), used
 *           to name the restart-only keys that a reload changed
 *   init    start from d->conf: state into struct mm_daemon, periodic jobs,
 *           HTTP endpoints, registry families and collector. -1 with err
 *           stops mailmond from starting.
 *   check   (may be NULL) validate next, a freshly loaded config, without
 *           side effects: a reload is applied only when every module's
 *           check passes (transactional reload).
 *   apply   (may be NULL) d->conf is now the new config, old the previous
 *           one: take every reloadable key into effect now.
 *   free    stop and free (reverse table order); must tolerate a module
 *           whose init failed or never ran.
 *
 * Modules reach each other only through struct mm_daemon and the metric
 * registry (d->metrics).
 */
#ifndef MAILMON_DAEMON_MODULE_H
#define MAILMON_DAEMON_MODULE_H

#include "core/config.h"
#include "core/config_schema.h"
#include "core/err.h"

typedef struct json_t json_t;

struct mm_daemon;

struct mm_module {
	const char *name;
	const struct mm_conf_table *conf[2]; /* its rows; unused slots NULL */
	int (*init)(struct mm_daemon *d, struct mm_err *err);
	int (*check)(struct mm_daemon *d, const struct mm_config *next, struct mm_err *err);
	void (*apply)(struct mm_daemon *d, const struct mm_config *old);
	/* (may be NULL) adds "section.key": value for each of its reloadable
	 * keys as the running module holds it, not as d->conf says: what
	 * proves a reload took effect (/api/status "in_effect"). Durations
	 * in ms. */
	void (*in_effect)(struct mm_daemon *d, json_t *out);
	/* (may be NULL) adds the module's top-level keys to /api/status
	 * (the cluster module's "verdict"). */
	void (*status)(struct mm_daemon *d, json_t *out);
	void (*free)(struct mm_daemon *d);
};

extern const struct mm_module *const mm_modules[];
extern const size_t mm_nmodules;

/* One per line, so that modules added at the same time merge cleanly. */
extern const struct mm_module mm_module_self;
extern const struct mm_module mm_module_http;
extern const struct mm_module mm_module_logs;
extern const struct mm_module mm_module_counters;
extern const struct mm_module mm_module_queue;
extern const struct mm_module mm_module_services;
extern const struct mm_module mm_module_e2e;
extern const struct mm_module mm_module_disk;
extern const struct mm_module mm_module_cpu;
extern const struct mm_module mm_module_www;
extern const struct mm_module mm_module_alarms;
extern const struct mm_module mm_module_snmp;
extern const struct mm_module mm_module_history;
extern const struct mm_module mm_module_cluster;
extern const struct mm_module mm_module_baseline;
extern const struct mm_module mm_module_isolate;

#endif

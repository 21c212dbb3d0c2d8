/*
 * service_conf: one [service.NAME] section read from a loaded config into
 * plain values: the probe params, the process match, the commands and
 * the watcher settings.
 *
 * Ownership: struct mm_service_conf owns its strings and the compiled
 * process match; free with mm_service_conf_free(). Credentials are read
 * from credentials_file at load (and on every reload).
 */
#ifndef MAILMON_SERVICES_SERVICE_CONF_H
#define MAILMON_SERVICES_SERVICE_CONF_H

#include <stdbool.h>

#include "core/config.h"
#include "probes/probe.h"
#include "services/proc.h"
#include "services/watcher.h"

struct mm_service_conf {
	char name[64];
	bool has_probe;
	struct mm_probe_params probe;
	bool has_procs;
	struct mm_proc_match procs;
	int proc_min, proc_max;
	char *restart, *start, *stop; /* NULL when unset */
	bool shell;
	bool autorestart;
	char *credentials_file; /* as configured, NULL when unset */
	int64_t interval_ms, warning_ms, command_timeout_ms, verify_delay_ms;
	int cert_warning_days;
	char *group; /* restart_group or NULL */
	struct mm_watch_conf watch;
};

int mm_service_conf_load(const struct mm_config *conf, const char *name,
			 struct mm_service_conf *out, struct mm_err *err);
void mm_service_conf_free(struct mm_service_conf *sc);

#endif

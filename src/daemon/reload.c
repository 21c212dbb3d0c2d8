/*
 * reload: SIGHUP handling (see daemon.h).
 *
 * A bad file never takes the daemon down: every problem is logged with its
 * file, line and key, the reload is recorded as failed (visible in
 * `mailmon status`), and the last good config stays in force. Settings
 * that cannot change at run time are named in a warning and take effect
 * at the next restart.
 */
#include "daemon/daemon.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/strutil.h"

void mm_daemon_apply_config(struct mm_daemon *d)
{
	int level = mm_log_level_from_name(mm_config_get(d->conf, "daemon", "log_level"));
	if (level >= 0)
		d->log.min_level = level;
}

static int same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Names the non-reloadable keys whose value differs between old and new. */
static void warn_restart_keys(struct mm_daemon *d, const struct mm_config *old,
			      const struct mm_config *new)
{
	char list[512] = "";
	size_t used = 0;
	for (size_t i = 0; i < mm_conf_key_count(); i++) {
		const struct mm_conf_key *row = mm_conf_key_at(i);
		if (row->reloadable || strchr(row->section, '*'))
			continue;
		if (same(mm_config_get(old, row->section, row->name),
			 mm_config_get(new, row->section, row->name)))
			continue;
		int n = snprintf(list + used, sizeof list - used, "%s%s.%s", used ? ", " : "",
				 row->section, row->name);
		if (n > 0 && (size_t)n < sizeof list - used)
			used += (size_t)n;
	}
	if (used)
		mm_log_warn(&d->log, "%s: changed settings need a restart to apply: %s",
			    d->conf_path, list);
}

void mm_daemon_reload(struct mm_daemon *d)
{
	struct mm_reload_status *r = &d->reload;
	r->at_wall_ms = mm_wall_ms();
	r->count++;
	if (!d->conf_path) {
		r->ok = true;
		mm_strlcpy(r->msg, "no config file; running on defaults", sizeof r->msg);
		mm_log_notice(&d->log, "reload: %s", r->msg);
		return;
	}
	struct mm_diags diags = {0};
	struct mm_config *conf = mm_config_load(d->conf_path, &diags);
	if (!conf) {
		r->ok = false;
		r->failures++;
		for (size_t i = 0; i < diags.n; i++)
			mm_log_err(&d->log, "reload: %s", diags.msgs[i]);
		snprintf(r->msg, sizeof r->msg, "%zu error%s, kept the last good config; first: %s",
			 diags.n, diags.n == 1 ? "" : "s", diags.n ? diags.msgs[0] : "?");
		mm_log_err(&d->log, "reload of %s failed: kept the last good config", d->conf_path);
		mm_diags_free(&diags);
		return;
	}
	warn_restart_keys(d, d->conf, conf);
	mm_config_free(d->conf);
	d->conf = conf;
	mm_daemon_apply_config(d);
	r->ok = true;
	snprintf(r->msg, sizeof r->msg, "reloaded %s", d->conf_path);
	mm_log_notice(&d->log, "%s", r->msg);
}

/*
 * reload: SIGHUP handling (see daemon.h).
 *
 * Transactional: the file is loaded, then every module checks the new
 * config without changing anything; only when all of them accept it does
 * d->conf change and every module apply it. A bad file, or a config one
 * module cannot use (a service whose credentials file is unreadable),
 * leaves every module on the last good config: nothing is half-applied.
 * Each module's part is recorded (d->mod[], shown by `mailmon status`)
 * and every problem is logged with its file, line and key. Settings that
 * cannot change at run time are named in a warning, per module, and take
 * effect at the next restart.
 */
#include "daemon/daemon.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "daemon/module.h"

static int same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Names the module's restart-only keys whose value differs between old
 * and new, into list; returns how many. */
static size_t restart_keys(const struct mm_conf_table *t, const struct mm_config *old,
			   const struct mm_config *new, char *list, size_t cap)
{
	size_t used = strlen(list), n = 0;
	for (size_t i = 0; t && i < t->nkeys; i++) {
		const struct mm_conf_key *row = &t->keys[i];
		if (row->reloadable || strchr(row->section, '*'))
			continue;
		if (same(mm_config_get(old, row->section, row->name),
			 mm_config_get(new, row->section, row->name)))
			continue;
		int k = snprintf(list + used, cap - used, "%s%s.%s", used ? ", " : "", row->section,
				 row->name);
		if (k > 0 && (size_t)k < cap - used)
			used += (size_t)k;
		n++;
	}
	return n;
}

static void fail_all(struct mm_daemon *d, const char *why)
{
	for (size_t i = 0; i < d->modules_started; i++) {
		d->mod[i].ok = false;
		d->mod[i].at_wall_ms = d->reload.at_wall_ms;
		snprintf(d->mod[i].msg, sizeof d->mod[i].msg, "kept the last good config: %s", why);
	}
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
		fail_all(d, "the file does not load");
		mm_diags_free(&diags);
		return;
	}

	/* An empty file, or one without a single section, is far more likely
	 * a truncated write or the wrong file than a wish to reset everything
	 * to the defaults. */
	if (conf->nsections == 0) {
		r->ok = false;
		r->failures++;
		snprintf(r->msg, sizeof r->msg,
			 "%s has no section (empty or truncated?); kept the last good config",
			 d->conf_path);
		mm_log_err(&d->log, "reload refused: %s", r->msg);
		fail_all(d, "the file has no section");
		mm_config_free(conf);
		return;
	}

	/* Phase 1: every module checks; nothing changes yet. */
	size_t bad = 0;
	char first[MM_ERR_MAX] = "";
	for (size_t i = 0; i < d->modules_started; i++) {
		const struct mm_module *m = mm_modules[i];
		struct mm_err err = {{0}};
		d->mod[i].at_wall_ms = r->at_wall_ms;
		if (m->check && m->check(d, conf, &err) < 0) {
			bad++;
			d->mod[i].ok = false;
			snprintf(d->mod[i].msg, sizeof d->mod[i].msg, "refused: %.240s", err.msg);
			mm_log_err(&d->log, "reload: %s: %s", m->name, err.msg);
			if (!first[0])
				snprintf(first, sizeof first, "%s: %.400s", m->name, err.msg);
		} else {
			d->mod[i].ok = true;
		}
	}
	if (bad) {
		r->ok = false;
		r->failures++;
		snprintf(r->msg, sizeof r->msg,
			 "%zu module%s refused the new config, kept the last good config; first: %s",
			 bad, bad == 1 ? "" : "s", first);
		mm_log_err(&d->log, "reload of %s failed: kept the last good config", d->conf_path);
		for (size_t i = 0; i < d->modules_started; i++)
			if (d->mod[i].ok)
				snprintf(d->mod[i].msg, sizeof d->mod[i].msg,
					 "accepted, not applied: another module refused");
		mm_config_free(conf);
		return;
	}

	/* Phase 2: adopt, then every module applies. */
	struct mm_config *old = d->conf;
	d->conf = conf;
	char restart[512] = "";
	for (size_t i = 0; i < d->modules_started; i++) {
		const struct mm_module *m = mm_modules[i];
		char mine[512] = "";
		size_t n = restart_keys(m->conf[0], old, conf, mine, sizeof mine) +
			   restart_keys(m->conf[1], old, conf, mine, sizeof mine);
		if (m->apply)
			m->apply(d, old);
		d->mod[i].applied++;
		if (n)
			snprintf(d->mod[i].msg, sizeof d->mod[i].msg,
				 "applied; needs a restart for: %.200s", mine);
		else
			snprintf(d->mod[i].msg, sizeof d->mod[i].msg, "applied");
		if (n)
			snprintf(restart + strlen(restart), sizeof restart - strlen(restart), "%s%s",
				 restart[0] ? ", " : "", mine);
	}
	if (restart[0])
		mm_log_warn(&d->log, "%s: changed settings need a restart to apply: %s",
			    d->conf_path, restart);
	mm_config_free(old);
	r->ok = true;
	snprintf(r->msg, sizeof r->msg, "reloaded %s", d->conf_path);
	mm_log_notice(&d->log, "%s", r->msg);
}

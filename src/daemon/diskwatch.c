/*
 * diskwatch: the "disk" daemon module: the mail partitions' free space
 * (host/disk.h) checked at an interval that shrinks as they fill, the
 * partition lock and unlock commands with hysteresis, and the values in
 * the registry (mailmon_disk_*), GET /api/disk and counterutil's
 * diskusage object.
 *
 * A statvfs that has not answered after [alarm] diskstattimeout is
 * counted (mailmon_disk_stat_timeouts_total, alarm diskstat) and left
 * running in its thread; no second one starts for that path until it
 * returns. Lock state is saved in STATE/disk-locks so a restart neither
 * forgets to unlock nor locks twice.
 *
 * Ownership: struct mm_diskwatch lives in d->disk.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "core/atomicfile.h"
#include "core/childproc.h"
#include "core/clock.h"
#include "core/cmdline.h"
#include "core/envp.h"
#include "core/pct.h"
#include "core/strbuf.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/module.h"
#include "daemon/privsep.h"
#include "host/disk.h"
#include "host/disk_paths.h"
#include "metrics/registry.h"

enum {
	F_AVAIL,
	F_SIZE,
	F_PCT,
	F_INODES,
	F_INODES_PCT,
	F_LOCKED,
	F_TIMEOUTS,
	F_LAST,
	F_INTERVAL,
	F_ACTIONS,
	F_N
};

static const struct mm_metric_def defs[F_N] = {
	[F_AVAIL] = {"mailmon_disk_avail_bytes", "Space available to mail (f_bavail), in bytes.",
		     MM_METRIC_GAUGE, {"path"}},
	[F_SIZE] = {"mailmon_disk_size_bytes", "Size of the partition, in bytes.", MM_METRIC_GAUGE,
		    {"path"}},
	[F_PCT] = {"mailmon_disk_avail_percent",
		   "Space available, in percent of the usable space (as df shows it).",
		   MM_METRIC_GAUGE, {"path"}},
	[F_INODES] = {"mailmon_disk_inodes_avail", "Inodes available.", MM_METRIC_GAUGE, {"path"}},
	[F_INODES_PCT] = {"mailmon_disk_inodes_avail_percent", "Inodes available, in percent.",
			  MM_METRIC_GAUGE, {"path"}},
	[F_LOCKED] = {"mailmon_disk_locked",
		      "1 while the partition is locked by [disk] lock_command, else 0.",
		      MM_METRIC_GAUGE, {"path"}},
	[F_TIMEOUTS] = {"mailmon_disk_stat_timeouts_total",
			"statvfs calls that took longer than [alarm] diskstattimeout.",
			MM_METRIC_COUNTER, {"path"}},
	[F_LAST] = {"mailmon_disk_last_stat_timestamp_seconds",
		    "When the partition was last measured (counterutil lastStatTime).",
		    MM_METRIC_GAUGE, {"path"}},
	[F_INTERVAL] = {"mailmon_disk_check_interval_seconds",
			"The current (adaptive) check interval.", MM_METRIC_GAUGE, {"path"}},
	[F_ACTIONS] = {"mailmon_disk_lock_actions_total",
		       "Lock and unlock commands run, by action and result (ok, failed).",
		       MM_METRIC_COUNTER, {"path", "action", "result"}},
};

struct dpath {
	char *path;
	struct mm_disk_job *job;
	int64_t job_started, next_ms, interval_ms;
	bool timed_out, have;
	struct mm_disk_stat st;
	int64_t last_stat; /* Unix s */
	uint64_t timeouts;
	bool locked, busy;
	uint64_t actions[2][2]; /* [lock/unlock][ok/failed] */
	uint32_t ps_id;		/* a command asked of the privileged helper */
	struct mm_diskwatch *w;
};

/* The [disk] settings the module runs on, taken at start and reload. */
struct disk_settings {
	bool enable, shell;
	char *paths; /* as configured ("" when unset) */
	int64_t interval_min, interval_max, command_timeout;
	int64_t stat_timeout; /* [alarm] diskstattimeout */
	double near, threshold, hysteresis;
	char *lock_command, *unlock_command; /* NULL when unset */
};

struct mm_diskwatch {
	struct mm_daemon *d;
	struct dpath *p;
	size_t n;
	struct mm_metric *f[F_N];
	char *locks_path;
	struct disk_settings s;
};

static char *dup_or_null(const char *v)
{
	return v && *v ? xstrdup(v) : NULL;
}

static double number(const struct mm_config *c, const char *key)
{
	const char *v = mm_config_get(c, "disk", key);
	return v ? strtod(v, NULL) : 0; /* validated by the schema */
}

static void settings_free(struct disk_settings *s)
{
	free(s->paths);
	free(s->lock_command);
	free(s->unlock_command);
	memset(s, 0, sizeof *s);
}

static void settings_load(struct disk_settings *s, const struct mm_config *c)
{
	settings_free(s);
	s->enable = mm_config_bool(c, "disk", "enable");
	s->shell = mm_config_bool(c, "disk", "shell");
	const char *p = mm_config_get(c, "disk", "paths");
	s->paths = xstrdup(p ? p : "");
	s->interval_min = mm_config_duration_ms(c, "disk", "interval_min");
	s->interval_max = mm_config_duration_ms(c, "disk", "interval_max");
	s->command_timeout = mm_config_duration_ms(c, "disk", "command_timeout");
	s->stat_timeout = mm_config_duration_ms(c, "alarm", "diskstattimeout");
	s->near = number(c, "near_percent");
	s->threshold = number(c, "lock_threshold");
	s->hysteresis = number(c, "lock_hysteresis");
	s->lock_command = dup_or_null(mm_config_get(c, "disk", "lock_command"));
	s->unlock_command = dup_or_null(mm_config_get(c, "disk", "unlock_command"));
}

/* ---- lock state file: "locked PATH" lines, PATH %XX-escaped ---- */

static void save_locks(struct mm_diskwatch *w)
{
	struct mm_strbuf b;
	mm_strbuf_init(&b, 1 << 20);
	mm_strbuf_adds(&b, "mailmon-disk-locks 1\n");
	for (size_t i = 0; i < w->n; i++)
		if (w->p[i].locked) {
			mm_strbuf_adds(&b, "locked ");
			mm_pct_encode(&b, w->p[i].path, strlen(w->p[i].path));
			mm_strbuf_addc(&b, '\n');
		}
	struct mm_err err = {{0}};
	if (mm_file_write_atomic(w->locks_path, b.p, b.len, 0600, &err) < 0)
		mm_log_warn(&w->d->log, "disk: lock state not saved: %s", err.msg);
	mm_strbuf_free(&b);
}

static void load_locks(struct mm_diskwatch *w)
{
	size_t len;
	char *text = mm_file_read_capped(w->locks_path, 1 << 20, &len, NULL, NULL);
	if (!text)
		return;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "locked ", 7) != 0)
			continue;
		char path[4096];
		if (mm_pct_decode(line + 7, strlen(line + 7), path, sizeof path,
				  MM_PCT_STRICT | MM_PCT_NO_NUL) < 0)
			continue;
		for (size_t i = 0; i < w->n; i++)
			if (strcmp(w->p[i].path, path) == 0)
				w->p[i].locked = true;
	}
	free(text);
}

/* ---- lock commands ---- */

/* A command in flight names its partition by path, not by a struct dpath
 * pointer: a reload moves the paths into a new array meanwhile. */
struct action {
	struct mm_diskwatch *w;
	char *path;
	int lock; /* 1 lock, 0 unlock */
	char *line;
	char **argv;
	char **envp;
};

static void action_free(struct action *a)
{
	if (!a)
		return;
	free(a->argv);
	free(a->line);
	mm_envp_free(a->envp);
	free(a->path);
	free(a);
}

static struct dpath *find_path(struct mm_diskwatch *w, const char *path)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->p[i].path, path) == 0)
			return &w->p[i];
	return NULL;
}

static void action_done(const struct mm_child_result *res, void *arg)
{
	struct action *a = arg;
	struct mm_diskwatch *w = a->w;
	struct dpath *p = find_path(w, a->path);
	bool ok = res->exit_code == 0 && !res->timed_out && !res->signal;
	char what[300];
	mm_child_describe(res, what, sizeof what);
	if (!p) {
		mm_log_warn(&w->d->log, "disk: %s command for %s (no longer watched): %s",
			    a->lock ? "lock" : "unlock", a->path, what);
		action_free(a);
		return;
	}
	p->busy = false;
	p->ps_id = 0;
	p->actions[a->lock ? 0 : 1][ok ? 0 : 1]++;
	if (ok) {
		p->locked = a->lock;
		save_locks(w);
		mm_log(&w->d->log, LOG_WARNING, "disk: %s %s at %.1f%% used: %s",
		       a->lock ? "locked" : "unlocked", p->path, p->st.used_percent, what);
	} else {
		mm_log_err(&w->d->log, "disk: %s command for %s failed: %s (retried at the next "
				       "check)", a->lock ? "lock" : "unlock", p->path, what);
	}
	action_free(a);
}

static void run_action(struct mm_diskwatch *w, struct dpath *p, int lock)
{
	const char *line = lock ? w->s.lock_command : w->s.unlock_command;
	if (!line)
		return;
	struct mm_err err = {{0}};
	struct action *a = xcalloc(1, sizeof *a);
	a->w = w;
	a->path = xstrdup(p->path);
	a->lock = lock;
	if (w->d->privsep) {
		/* Separated: the helper runs the command of its own read of the
		 * root-owned config, for a path of that config; only the path
		 * and lock/unlock go over. */
		p->busy = true;
		p->ps_id = mm_privsep_disk_run(w->d, p->path, lock, action_done, a);
		if (!p->ps_id) {
			p->busy = false;
			mm_log_err(&w->d->log, "disk: %s command for %s: the privileged helper is "
					       "not available", lock ? "lock" : "unlock", p->path);
			action_free(a);
		}
		return;
	}
	a->line = xstrdup(line); /* the shell form points into it */
	a->argv = mm_cmdline_argv(a->line, w->s.shell, &err);
	if (!a->argv) {
		mm_log_err(&w->d->log, "disk: [disk] %s_command: %s", lock ? "lock" : "unlock",
			   err.msg);
		action_free(a);
		return;
	}
	const char *const kv[][2] = {{"MAILMON_DISK_PATH", p->path},
				     {"MAILMON_DISK_ACTION", lock ? "lock" : "unlock"}};
	a->envp = mm_envp_new(kv, 2);
	struct mm_child_params prm = {
		.argv = a->argv,
		.envp = a->envp,
		.timeout_ms = w->s.command_timeout,
		.max_output = 64 << 10,
		.keep_stderr = true,
	};
	p->busy = true;
	if (!mm_child_start(w->d->base, &prm, action_done, a, &err)) {
		p->busy = false;
		mm_log_err(&w->d->log, "disk: %s command for %s: %s", lock ? "lock" : "unlock",
			   p->path, err.msg);
		action_free(a);
	}
}

/* ---- checks ---- */

static void measured(struct mm_diskwatch *w, struct dpath *p, int64_t now)
{
	const struct disk_settings *s = &w->s;
	if (p->st.err) {
		mm_log_warn(&w->d->log, "disk: statvfs %s: %s", p->path, strerror(p->st.err));
		p->have = false;
		p->next_ms = now + s->interval_min;
		return;
	}
	p->have = true;
	p->last_stat = now / 1000;
	double thr = s->threshold, hyst = s->hysteresis;
	double near = thr > 0 ? thr : s->near;
	p->interval_ms = mm_disk_interval(p->st.used_percent, near, s->interval_min,
					  s->interval_max);
	p->next_ms = now + p->interval_ms;
	if (thr > 0 && !p->busy) {
		enum mm_disk_lock_action act = mm_disk_lock_decide(p->locked, p->st.used_percent,
								   thr, hyst);
		if (act != MM_DISK_KEEP)
			run_action(w, p, act == MM_DISK_LOCK);
	}
}

static void on_tick(void *arg, int64_t now_mono)
{
	(void)now_mono;
	struct mm_diskwatch *w = arg;
	int64_t now = mm_wall_ms();
	int64_t timeout = w->s.stat_timeout;
	for (size_t i = 0; i < w->n; i++) {
		struct dpath *p = &w->p[i];
		if (p->job) {
			if (mm_disk_stat_poll(p->job, &p->st)) {
				mm_disk_stat_drop(p->job);
				p->job = NULL;
				measured(w, p, now);
			} else if (!p->timed_out && now - p->job_started >= timeout) {
				p->timed_out = true;
				p->timeouts++;
				mm_log_err(&w->d->log, "disk: statvfs %s has not answered for %lld ms "
						       "(a hung mount?)", p->path, (long long)timeout);
			}
			continue;
		}
		if (now >= p->next_ms) {
			p->job = mm_disk_stat_start(p->path);
			p->job_started = now;
			p->timed_out = false;
		}
	}
}

static void collect(void *arg, struct mm_registry *r)
{
	(void)r;
	struct mm_diskwatch *w = arg;
	static const char *const act[] = {"lock", "unlock"}, *const res[] = {"ok", "failed"};
	for (size_t i = 0; i < w->n; i++) {
		struct dpath *p = &w->p[i];
		const char *lv[] = {p->path};
		if (p->have) {
			mm_metric_set(w->f[F_AVAIL], lv, (double)p->st.avail_bytes);
			mm_metric_set(w->f[F_SIZE], lv, (double)p->st.size_bytes);
			mm_metric_set(w->f[F_PCT], lv, p->st.avail_percent);
			mm_metric_set(w->f[F_INODES], lv, (double)p->st.inodes_avail);
			mm_metric_set(w->f[F_INODES_PCT], lv, p->st.inodes_avail_percent);
			mm_metric_set(w->f[F_LAST], lv, (double)p->last_stat);
			mm_metric_set(w->f[F_INTERVAL], lv, (double)p->interval_ms / 1000.0);
		}
		mm_metric_set(w->f[F_LOCKED], lv, p->locked ? 1 : 0);
		mm_metric_set(w->f[F_TIMEOUTS], lv, (double)p->timeouts);
		for (int a = 0; a < 2; a++)
			for (int k = 0; k < 2; k++)
				mm_metric_set(w->f[F_ACTIONS], (const char *[]){p->path, act[a], res[k]},
					      (double)p->actions[a][k]);
	}
}

/* The seed's diskusage object per partition, for counterutil. */
static void on_api(struct evhttp_request *req, void *arg)
{
	struct mm_diskwatch *w = arg;
	json_t *list = json_array();
	for (size_t i = 0; i < w->n; i++) {
		struct dpath *p = &w->p[i];
		json_t *o = json_pack("{s:s, s:b, s:I, s:I}", "mailPartitionPath", p->path, "locked",
				      p->locked, "statTimeouts", (json_int_t)p->timeouts,
				      "checkInterval", (json_int_t)(p->interval_ms / 1000));
		if (p->have) {
			json_object_set_new(o, "availSpace",
					    json_integer((json_int_t)(p->st.avail_bytes / 1024)));
			json_object_set_new(o, "totalSpace",
					    json_integer((json_int_t)(p->st.size_bytes / 1024)));
			json_object_set_new(o, "percentAvail", json_real(p->st.avail_percent));
			json_object_set_new(o, "lastStatTime", json_integer(p->last_stat));
		}
		json_array_append_new(list, o);
	}
	mm_http_reply_json(req, 200, json_pack("{s:o}", "diskusage", list));
}

/* The watched paths: host/disk_paths.h (the privileged helper checks a
 * lock request against the same list of its own config). */
static void add_path(struct mm_diskwatch *w, const char *path)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->p[i].path, path) == 0)
			return;
	w->p = xrealloc(w->p, (w->n + 1) * sizeof *w->p);
	struct dpath *p = &w->p[w->n++];
	memset(p, 0, sizeof *p);
	p->path = xstrdup(path);
	p->w = w;
}

static void setup_paths(struct mm_diskwatch *w)
{
	char **v = mm_disk_paths(w->d->conf);
	for (size_t i = 0; v[i]; i++)
		add_path(w, v[i]);
	mm_config_list_free(v);
}

static void free_paths(struct mm_diskwatch *w)
{
	for (size_t i = 0; i < w->n; i++) {
		mm_disk_stat_drop(w->p[i].job);
		if (w->p[i].ps_id)
			action_free(mm_privsep_cancel(w->d, w->p[i].ps_id));
		free(w->p[i].path);
	}
	free(w->p);
	w->p = NULL;
	w->n = 0;
}

static int disk_init(struct mm_daemon *d, struct mm_err *err)
{
	struct mm_diskwatch *w = xcalloc(1, sizeof *w);
	w->d = d;
	d->disk = w;
	w->locks_path = xasprintf("%s/disk-locks", mm_config_get(d->conf, "daemon",
								  "state_directory"));
	if (mm_registry_add_all(d->metrics, defs, F_N, w->f, err) < 0)
		return -1;
	settings_load(&w->s, d->conf);
	if (w->s.enable)
		setup_paths(w);
	load_locks(w);
	mm_registry_add_collector(d->metrics, collect, w);
	if (d->httpd)
		mm_http_route(d, "/api/disk", on_api, w);
	mm_schedule_add(&d->sched, "disk", 1000, 0, mm_mono_ms(), on_tick, w);
	return 0;
}

static void disk_apply(struct mm_daemon *d, const struct mm_config *old)
{
	(void)old;
	struct mm_diskwatch *w = d->disk;
	/* keep each path's lock state; a path no longer watched keeps its
	 * lock in the file until it is watched again (never unlocked blind) */
	struct dpath *oldp = w->p;
	size_t oldn = w->n;
	w->p = NULL;
	w->n = 0;
	settings_load(&w->s, d->conf);
	if (w->s.enable)
		setup_paths(w);
	for (size_t i = 0; i < w->n; i++)
		for (size_t j = 0; j < oldn; j++)
			if (oldp[j].path && strcmp(w->p[i].path, oldp[j].path) == 0) {
				free(w->p[i].path);
				w->p[i] = oldp[j];
				w->p[i].next_ms = 0; /* measure again under the new settings */
				oldp[j].path = NULL;
				oldp[j].job = NULL;
			}
	for (size_t j = 0; j < oldn; j++) {
		mm_disk_stat_drop(oldp[j].job);
		free(oldp[j].path);
	}
	free(oldp);
	load_locks(w);
}

static void disk_free(struct mm_daemon *d)
{
	struct mm_diskwatch *w = d->disk;
	if (!w)
		return;
	if (d->httpd)
		mm_http_unroute(d, "/api/disk");
	mm_registry_remove_collector(d->metrics, w);
	free_paths(w);
	settings_free(&w->s);
	free(w->locks_path);
	free(w);
	d->disk = NULL;
}

static void disk_in_effect(struct mm_daemon *d, json_t *out)
{
	const struct mm_diskwatch *w = d->disk;
	if (!w)
		return;
	const struct disk_settings *s = &w->s;
	json_object_set_new(out, "disk.enable", json_string(s->enable ? "yes" : "no"));
	json_object_set_new(out, "disk.shell", json_string(s->shell ? "yes" : "no"));
	json_object_set_new(out, "disk.paths", json_string(s->paths));
	json_object_set_new(out, "disk.interval_min", json_integer(s->interval_min));
	json_object_set_new(out, "disk.interval_max", json_integer(s->interval_max));
	json_object_set_new(out, "disk.command_timeout", json_integer(s->command_timeout));
	json_object_set_new(out, "alarm.diskstattimeout", json_integer(s->stat_timeout));
	json_object_set_new(out, "disk.near_percent", json_real(s->near));
	json_object_set_new(out, "disk.lock_threshold", json_real(s->threshold));
	json_object_set_new(out, "disk.lock_hysteresis", json_real(s->hysteresis));
	json_object_set_new(out, "disk.lock_command",
			    s->lock_command ? json_string(s->lock_command) : json_null());
	json_object_set_new(out, "disk.unlock_command",
			    s->unlock_command ? json_string(s->unlock_command) : json_null());
}

const struct mm_module mm_module_disk = {
	.name = "disk",
	.conf = {&mm_conf_table_disk},
	.init = disk_init,
	.apply = disk_apply,
	.in_effect = disk_in_effect,
	.free = disk_free,
};

/*
 * self: the "self" module: mailmond's log level and its own measurements
 * in the registry: build, start time, CPU, memory, loop lag, periodic job
 * durations, config reloads per module, series folded by the registry.
 *
 * CPU and RSS come from /proc/self (getrusage and statm), read at each
 * collection. Loop lag is measured by the heartbeat (daemon.c): the
 * gauge is the worst lag since the previous collection, so a scrape
 * every 15 s still sees a one-second stall.
 *
 * Ownership: struct mm_self lives in d->self.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/httpd.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/module.h"
#include "metrics/registry.h"

enum {
	F_BUILD,
	F_START,
	F_CPU,
	F_RSS,
	F_LAG,
	F_JOB_SECONDS,
	F_JOB_MAX,
	F_JOB_RUNS,
	F_RELOADS,
	F_RELOAD_OK,
	F_RELOAD_TIME,
	F_MODULE_OK,
	F_FOLDED,
	F_ERRORS,
	F_N
};

static const struct mm_metric_def defs[F_N] = {
	[F_BUILD] = {"mailmon_build_info", "mailmond's version; the value is always 1.",
		     MM_METRIC_GAUGE, {"version"}},
	[F_START] = {"mailmon_daemon_start_time_seconds",
		     "When mailmond started, in seconds since the epoch.", MM_METRIC_GAUGE},
	[F_CPU] = {"mailmon_daemon_cpu_seconds_total",
		   "CPU time mailmond has used (user + system), in seconds.", MM_METRIC_COUNTER},
	[F_RSS] = {"mailmon_daemon_resident_bytes", "mailmond's resident memory, in bytes.",
		   MM_METRIC_GAUGE},
	[F_LAG] = {"mailmon_daemon_loop_lag_seconds",
		   "Worst delay of the event loop's heartbeat since the previous collection: "
		   "how long mailmond was busy or stalled.",
		   MM_METRIC_GAUGE},
	[F_JOB_SECONDS] = {"mailmon_daemon_job_seconds_total",
			   "Time spent in each periodic job, in seconds.", MM_METRIC_COUNTER,
			   {"job"}},
	[F_JOB_MAX] = {"mailmon_daemon_job_max_seconds",
		       "Longest single run of each periodic job, in seconds.", MM_METRIC_GAUGE,
		       {"job"}},
	[F_JOB_RUNS] = {"mailmon_daemon_job_runs_total", "Runs of each periodic job.",
			MM_METRIC_COUNTER, {"job"}},
	[F_RELOADS] = {"mailmon_config_reloads_total",
		       "Config reloads (SIGHUP) by result: ok, or failed (the last good config "
		       "was kept).",
		       MM_METRIC_COUNTER, {"result"}},
	[F_RELOAD_OK] = {"mailmon_config_last_reload_successful",
			 "1 when the last reload was applied (or none was asked), 0 when it failed.",
			 MM_METRIC_GAUGE},
	[F_RELOAD_TIME] = {"mailmon_config_last_reload_timestamp_seconds",
			   "When the last reload was attempted, in seconds since the epoch (0: none).",
			   MM_METRIC_GAUGE},
	[F_MODULE_OK] = {"mailmon_module_reload_ok",
			 "Per daemon module: 1 when it runs on the newest config file, 0 when it "
			 "refused it or the file did not load.",
			 MM_METRIC_GAUGE, {"module"}},
	[F_FOLDED] = {"mailmon_metric_series_folded_total",
		      "Series folded into label value \"other\" because their family reached its "
		      "series cap.",
		      MM_METRIC_COUNTER, {"family"}},
	[F_ERRORS] = {"mailmon_errors_total",
		      "mailmond's own errors by kind: resources (a check could not run for "
		      "lack of file descriptors or memory; the service is shown as unknown, "
		      "never restarted), files (a damaged file of mailmond's, such as the "
		      "counters file, was set aside and recreated), http_accept (accept() failed).",
		      MM_METRIC_COUNTER, {"kind"}},
};

struct mm_self {
	struct mm_daemon *d;
	struct mm_metric *f[F_N];
	long page;
};

static uint64_t rss_bytes(long page)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;
	if (!fp)
		return 0;
	if (fscanf(fp, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(fp);
	return (uint64_t)res * (uint64_t)page;
}

static void collect(void *arg, struct mm_registry *r)
{
	struct mm_self *me = arg;
	struct mm_daemon *d = me->d;
	mm_metric_set(me->f[F_BUILD], (const char *[]){MAILMON_VERSION}, 1);
	mm_metric_set(me->f[F_START], NULL, (double)d->started_wall_ms / 1000.0);
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		mm_metric_set(me->f[F_CPU], NULL,
			      (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
				      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	mm_metric_set(me->f[F_RSS], NULL, (double)rss_bytes(me->page));
	mm_metric_set(me->f[F_LAG], NULL, (double)d->loop_lag_max_ms / 1000.0);
	d->loop_lag_max_ms = d->loop_lag_ms;
	for (size_t i = 0; i < d->sched.n; i++) {
		const struct mm_job *j = &d->sched.jobs[i];
		const char *lv[] = {j->name};
		mm_metric_set(me->f[F_JOB_SECONDS], lv, (double)j->total_us / 1e6);
		mm_metric_set(me->f[F_JOB_MAX], lv, (double)j->max_us / 1e6);
		mm_metric_set(me->f[F_JOB_RUNS], lv, (double)j->runs);
	}
	mm_metric_set(me->f[F_RELOADS], (const char *[]){"ok"},
		      (double)(d->reload.count - d->reload.failures));
	mm_metric_set(me->f[F_RELOADS], (const char *[]){"failed"}, (double)d->reload.failures);
	mm_metric_set(me->f[F_RELOAD_OK], NULL, d->reload.count == 0 || d->reload.ok ? 1 : 0);
	mm_metric_set(me->f[F_RELOAD_TIME], NULL, (double)d->reload.at_wall_ms / 1000.0);
	for (size_t i = 0; i < d->modules_started; i++)
		mm_metric_set(me->f[F_MODULE_OK], (const char *[]){mm_modules[i]->name},
			      d->mod[i].ok ? 1 : 0);
	mm_metric_set(me->f[F_ERRORS], (const char *[]){"resources"},
		      (double)d->self_errors[MM_SE_RESOURCES]);
	mm_metric_set(me->f[F_ERRORS], (const char *[]){"files"},
		      (double)d->self_errors[MM_SE_FILES]);
	if (d->httpd) {
		struct mm_httpd_stats hs;
		mm_httpd_stats(d->httpd, &hs);
		mm_metric_set(me->f[F_ERRORS], (const char *[]){"http_accept"},
			      (double)hs.accept_errors);
	}
	for (size_t i = 0; i < mm_registry_nfamilies(r); i++) {
		const struct mm_metric *m = mm_registry_family(r, i);
		if (mm_metric_folded(m))
			mm_metric_set(me->f[F_FOLDED], (const char *[]){mm_metric_def(m)->name},
				      (double)mm_metric_folded(m));
	}
}

static void apply(struct mm_daemon *d, const struct mm_config *old)
{
	int level = mm_log_level_from_name(mm_config_get(d->conf, "daemon", "log_level"));
	if (level >= 0)
		d->log.min_level = level;
}

static void in_effect(struct mm_daemon *d, json_t *out)
{
	json_object_set_new(out, "daemon.log_level", json_string(mm_log_level_name(d->log.min_level)));
}

static int init(struct mm_daemon *d, struct mm_err *err)
{
	struct mm_self *me = xcalloc(1, sizeof *me);
	me->d = d;
	me->page = sysconf(_SC_PAGESIZE);
	d->self = me;
	if (mm_registry_add_all(d->metrics, defs, F_N, me->f, err) < 0)
		return -1;
	mm_registry_add_collector(d->metrics, collect, me);
	apply(d, NULL);
	return 0;
}

static void self_free(struct mm_daemon *d)
{
	if (!d->self)
		return;
	mm_registry_remove_collector(d->metrics, d->self);
	free(d->self);
	d->self = NULL;
}

const struct mm_module mm_module_self = {
	.name = "self",
	.conf = {&mm_conf_table_daemon},
	.init = init,
	.apply = apply,
	.in_effect = in_effect,
	.free = self_free,
};

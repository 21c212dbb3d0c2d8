/*
 * cpuwatch: the "cpu" daemon module: system CPU busy share and load
 * average (host/cpu.h) sampled every [cpu] interval into the registry.
 * CPU per service is the services module's mailmon_process_cpu_ratio;
 * the built-in alarms cpu and servicecpu watch both for sustained highs.
 *
 * Ownership: struct mm_cpuwatch lives in d->cpu.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/module.h"
#include "host/cpu.h"
#include "metrics/registry.h"

enum { F_BUSY, F_SECONDS, F_LOAD, F_COUNT, F_N };

static const struct mm_metric_def defs[F_N] = {
	[F_BUSY] = {"mailmon_cpu_busy_ratio",
		    "Share of all CPUs busy (not idle or waiting for I/O) over the last [cpu] "
		    "interval, 0..1.",
		    MM_METRIC_GAUGE},
	[F_SECONDS] = {"mailmon_cpu_seconds_total", "CPU time of the system by mode, in seconds.",
		       MM_METRIC_COUNTER, {"mode"}},
	[F_LOAD] = {"mailmon_load_average", "Load average over 1, 5 and 15 minutes.",
		    MM_METRIC_GAUGE, {"period"}},
	[F_COUNT] = {"mailmon_cpus_online", "CPUs online.", MM_METRIC_GAUGE},
};

struct mm_cpuwatch {
	struct mm_daemon *d;
	struct mm_metric *f[F_N];
	struct mm_cpu_times prev, cur;
	struct mm_loadavg load;
	bool have_prev, have;
	double busy;
	long hz, ncpu;
	bool warned;
};

static void sample(void *arg, int64_t now_mono)
{
	(void)now_mono;
	struct mm_cpuwatch *w = arg;
	struct mm_err err = {{0}};
	struct mm_cpu_times t;
	struct mm_loadavg l;
	if (mm_cpu_read(&t, &l, &err) < 0) {
		if (!w->warned)
			mm_log_warn(&w->d->log, "cpu: %s", err.msg);
		w->warned = true;
		return;
	}
	if (w->have)
		w->busy = mm_cpu_busy(&w->cur, &t);
	w->prev = w->cur;
	w->have_prev = w->have;
	w->cur = t;
	w->load = l;
	w->have = true;
}

static void collect(void *arg, struct mm_registry *r)
{
	(void)r;
	struct mm_cpuwatch *w = arg;
	if (!w->have)
		return;
	if (w->have_prev)
		mm_metric_set(w->f[F_BUSY], NULL, w->busy);
	for (int i = 0; i < MM_CPU_NMODES; i++)
		mm_metric_set(w->f[F_SECONDS], (const char *[]){mm_cpu_mode_names[i]},
			      (double)w->cur.t[i] / (double)w->hz);
	mm_metric_set(w->f[F_LOAD], (const char *[]){"1m"}, w->load.l1);
	mm_metric_set(w->f[F_LOAD], (const char *[]){"5m"}, w->load.l5);
	mm_metric_set(w->f[F_LOAD], (const char *[]){"15m"}, w->load.l15);
	mm_metric_set(w->f[F_COUNT], NULL, (double)w->ncpu);
}

static int cpu_init(struct mm_daemon *d, struct mm_err *err)
{
	struct mm_cpuwatch *w = xcalloc(1, sizeof *w);
	w->d = d;
	d->cpu = w;
	w->hz = sysconf(_SC_CLK_TCK);
	if (w->hz <= 0)
		w->hz = 100;
	w->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (mm_registry_add_all(d->metrics, defs, F_N, w->f, err) < 0)
		return -1;
	mm_registry_add_collector(d->metrics, collect, w);
	sample(w, 0);
	mm_schedule_add(&d->sched, "cpu", mm_config_duration_ms(d->conf, "cpu", "interval"),
			mm_config_duration_ms(d->conf, "cpu", "interval"), mm_mono_ms(), sample, w);
	return 0;
}

static void cpu_apply(struct mm_daemon *d, const struct mm_config *old)
{
	(void)old;
	mm_schedule_set_period(&d->sched, "cpu", mm_config_duration_ms(d->conf, "cpu", "interval"));
}

static void cpu_free(struct mm_daemon *d)
{
	struct mm_cpuwatch *w = d->cpu;
	if (!w)
		return;
	mm_registry_remove_collector(d->metrics, w);
	free(w);
	d->cpu = NULL;
}

static void cpu_in_effect(struct mm_daemon *d, json_t *out)
{
	for (size_t i = 0; i < d->sched.n; i++)
		if (strcmp(d->sched.jobs[i].name, "cpu") == 0)
			json_object_set_new(out, "cpu.interval",
					    json_integer((json_int_t)d->sched.jobs[i].period_ms));
}

const struct mm_module mm_module_cpu = {
	.name = "cpu",
	.conf = {&mm_conf_table_cpu},
	.init = cpu_init,
	.apply = cpu_apply,
	.in_effect = cpu_in_effect,
	.free = cpu_free,
};

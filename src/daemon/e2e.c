/*
 * e2e: the daemon module of the end-to-end delivery probes ([e2e.NAME]).
 *
 * Each section gets a job on the heartbeat schedule with its own interval;
 * a cycle starts one run (src/probes/e2e.c) unless the previous one is
 * still waiting for its message. Results are published into the metric
 * registry; readers (/metrics, the alarm engine, counterutil's "e2e"
 * object) take them from there:
 *
 *   mailmon_e2e_duration_seconds{probe,stage}  histogram, observed per run:
 *       ldap, smtp, delivery, retrieve, total (delivery also for late
 *       messages taken by a later run, with their real delay)
 *   mailmon_e2e_late_total{probe}               delivered after the deadline
 *   mailmon_e2e_lost_total{probe}               not seen within lost_after
 *   mailmon_e2e_last_success_timestamp_seconds{probe}
 *   mailmon_e2e_runs_total{probe}, mailmon_e2e_failures_total{probe,leg}
 *   mailmon_e2e_last_seconds{probe,stage}       every stage of the last run
 *       (delivery: after a run that gave up, the time it waited, so the
 *       built-in deliverytime alarm sees a stuck path)
 *   mailmon_e2e_up{probe}                       1 when the last run delivered
 *
 * Late, not lost: a run whose message did not show within its timeout
 * keeps the message's tag as pending. Later runs of the same probe take
 * (claim) its earlier messages; a pending one found that way is counted
 * late with its delay (delivery time minus the sending time in its tag).
 * A pending tag older than lost_after is counted lost and forgotten.
 *
 * Every key is restart-only (the schema says so); a reload keeps the
 * probes as they were started.
 *
 * Ownership: struct mm_e2e_mod owns the probes' state, the probe
 * environment and the runs in flight.
 */
#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/module.h"
#include "metrics/registry.h"
#include "probes/e2e_conf.h"

#define MAX_PENDING 64

struct pending {
	char tag[MM_PROBE_TAG];
	int64_t sent_wall_ms;
};

struct e2e_probe {
	struct mm_e2e_mod *owner;
	struct mm_e2e_conf c;
	struct mm_e2e *run;
	uint64_t runs, late, lost, skipped, fail_by_leg[MM_E2E_LEG_COUNT];
	int64_t last_success_wall_ms;
	bool have_last;
	struct mm_e2e_result last;
	int64_t last_wall_ms;
	struct pending pending[MAX_PENDING];
	size_t npending;
};

enum {
	F_DURATION,
	F_LATE,
	F_LOST,
	F_LAST_SUCCESS,
	F_RUNS,
	F_FAILURES,
	F_LAST,
	F_UP,
	F_N
};

struct mm_e2e_mod {
	struct mm_daemon *d;
	struct mm_probe_env *env;
	struct e2e_probe **v;
	size_t n;
	struct mm_metric *f[F_N];
};

static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
				 2.5,	5,    10,    30,   60,	120,  300,  600};

static const struct mm_metric_def defs[F_N] = {
	[F_DURATION] = {"mailmon_e2e_duration_seconds",
			"End-to-end probe times by stage: ldap, smtp, delivery (end of DATA to "
			"visible in the mailbox), retrieve, total.",
			MM_METRIC_HISTOGRAM, {"probe", "stage"}, .buckets = buckets,
			.nbuckets = sizeof buckets / sizeof buckets[0], .fold_label = 1},
	[F_LATE] = {"mailmon_e2e_late_total",
		    "Probe messages delivered after the deadline (counted with their real delay).",
		    MM_METRIC_COUNTER, {"probe"}},
	[F_LOST] = {"mailmon_e2e_lost_total",
		    "Probe messages not seen in the mailbox within lost_after of sending.",
		    MM_METRIC_COUNTER, {"probe"}},
	[F_LAST_SUCCESS] = {"mailmon_e2e_last_success_timestamp_seconds",
			    "When the probe's last run delivered its message (Unix time).",
			    MM_METRIC_GAUGE, {"probe"}},
	[F_RUNS] = {"mailmon_e2e_runs_total", "End-to-end probe runs finished.",
		    MM_METRIC_COUNTER, {"probe"}},
	[F_FAILURES] = {"mailmon_e2e_failures_total",
			"Failed runs by the leg that failed: directory, submission, delivery, "
			"retrieval, internal.",
			MM_METRIC_COUNTER, {"probe", "leg"}, .fold_label = 1},
	[F_LAST] = {"mailmon_e2e_last_seconds",
		    "Every stage of the probe's last run (smtp_connect, ..., imap_fetch, "
		    "delivery, hopN_PROTO), in seconds.",
		    MM_METRIC_GAUGE, {"probe", "stage"}, .fold_label = 1, .max_series = 4000},
	[F_UP] = {"mailmon_e2e_up", "1 when the probe's last run delivered its message, else 0.",
		  MM_METRIC_GAUGE, {"probe"}},
};

static void observe(struct e2e_probe *p, const char *stage, int64_t us)
{
	if (us >= 0)
		mm_metric_observe(p->owner->f[F_DURATION], (const char *[]){p->c.name, stage},
				  (double)us / 1e6);
}

static void add_pending(struct e2e_probe *p, const struct mm_e2e_result *r)
{
	if (p->npending == MAX_PENDING) {
		/* Oldest first out: it is counted lost now rather than never. */
		p->lost++;
		memmove(p->pending, p->pending + 1, (MAX_PENDING - 1) * sizeof p->pending[0]);
		p->npending--;
	}
	struct pending *q = &p->pending[p->npending++];
	mm_strlcpy(q->tag, r->tag, sizeof q->tag);
	q->sent_wall_ms = r->sent_wall_ms;
}

/* Earlier runs' messages this run took: late, with their real delay. */
static void take_claimed(struct e2e_probe *p, const struct mm_e2e_result *r)
{
	struct mm_log *log = &p->owner->d->log;
	for (size_t i = 0; i < r->nclaimed; i++) {
		bool was_pending = false;
		for (size_t k = 0; k < p->npending; k++)
			if (strcmp(p->pending[k].tag, r->claimed[i].tag) == 0) {
				memmove(p->pending + k, p->pending + k + 1,
					(p->npending - k - 1) * sizeof p->pending[0]);
				p->npending--;
				was_pending = true;
				break;
			}
		int64_t d = r->claimed[i].delay_ms;
		/* One from before a restart counts too, unless it would have
		 * been counted lost already. */
		if (!was_pending && (d < 0 || d > p->c.lost_after_ms))
			continue;
		p->late++;
		if (d >= 0)
			observe(p, "delivery", d * 1000);
		mm_log_warn(log, "e2e.%s: message sent at %lld arrived late, after %.3f s", p->c.name,
			    (long long)r->claimed[i].sent_wall_ms / 1000, (double)d / 1000);
	}
}

static void expire_pending(struct e2e_probe *p, int64_t now_wall)
{
	size_t o = 0;
	for (size_t i = 0; i < p->npending; i++) {
		if (now_wall - p->pending[i].sent_wall_ms > p->c.lost_after_ms) {
			p->lost++;
			mm_log_warn(&p->owner->d->log, "e2e.%s: message %s lost (not seen in %lld s)",
				    p->c.name, p->pending[i].tag, (long long)p->c.lost_after_ms / 1000);
			continue;
		}
		p->pending[o++] = p->pending[i];
	}
	p->npending = o;
}

static void on_result(const struct mm_e2e_result *r, void *arg)
{
	struct e2e_probe *p = arg;
	p->run = NULL;
	p->runs++;
	p->last = *r;
	p->have_last = true;
	p->last_wall_ms = mm_wall_ms();
	take_claimed(p, r);
	observe(p, "ldap", r->ldap_us);
	observe(p, "smtp", r->smtp_us);
	observe(p, "total", r->total_us);
	if (r->leg == MM_E2E_OK) {
		observe(p, "delivery", r->delivery_us);
		observe(p, "retrieve", r->retrieve_us);
		p->last_success_wall_ms = p->last_wall_ms;
		if (r->late) {
			p->late++;
			mm_log_warn(&p->owner->d->log, "e2e.%s: delivered late, in %.3f s", p->c.name,
				    (double)r->delivery_us / 1e6);
		}
		return;
	}
	p->fail_by_leg[r->leg < MM_E2E_LEG_COUNT ? r->leg : MM_E2E_INTERNAL]++;
	if (r->leg == MM_E2E_DELIVERY)
		add_pending(p, r);
	mm_log_warn(&p->owner->d->log, "e2e.%s: %s failed (%s) at %s: %s", p->c.name,
		    mm_e2e_leg_name(r->leg), mm_probe_fail_name(r->fail), r->stage, r->msg);
}

static void cycle(void *arg, int64_t now_ms)
{
	struct e2e_probe *p = arg;
	expire_pending(p, mm_wall_ms());
	if (p->run) {
		p->skipped++;
		return;
	}
	struct mm_err err;
	p->run = mm_e2e_start(p->owner->env, &p->c.prm, on_result, p, &err);
	if (!p->run) {
		p->runs++;
		p->fail_by_leg[MM_E2E_INTERNAL]++;
		mm_log_warn(&p->owner->d->log, "e2e.%s: cannot start: %s", p->c.name, err.msg);
	}
}

static void collect(void *arg, struct mm_registry *r)
{
	struct mm_e2e_mod *m = arg;
	for (size_t i = 0; i < m->n; i++) {
		const struct e2e_probe *p = m->v[i];
		const char *l[] = {p->c.name};
		mm_metric_set(m->f[F_LATE], l, (double)p->late);
		mm_metric_set(m->f[F_LOST], l, (double)p->lost);
		mm_metric_set(m->f[F_RUNS], l, (double)p->runs);
		if (p->last_success_wall_ms)
			mm_metric_set(m->f[F_LAST_SUCCESS], l, (double)p->last_success_wall_ms / 1000);
		for (int k = 1; k < MM_E2E_LEG_COUNT; k++)
			mm_metric_set(m->f[F_FAILURES],
				      (const char *[]){p->c.name, mm_e2e_leg_name((enum mm_e2e_leg)k)},
				      (double)p->fail_by_leg[k]);
		if (!p->have_last)
			continue;
		const struct mm_e2e_result *res = &p->last;
		mm_metric_set(m->f[F_UP], l, res->leg == MM_E2E_OK ? 1 : 0);
		for (size_t k = 0; k < res->nstages; k++)
			mm_metric_set(m->f[F_LAST], (const char *[]){p->c.name, res->stages[k].name},
				      (double)res->stages[k].us / 1e6);
		/* A message that did not come within the timeout has waited at
		 * least that long: the deliverytime alarm sees a stuck path. */
		static const char *const names[] = {"smtp", "delivery", "retrieve", "total"};
		const int64_t v[] = {res->smtp_us,
				     res->delivery_us >= 0 ? res->delivery_us : res->waited_us,
				     res->retrieve_us, res->total_us};
		for (size_t k = 0; k < 4; k++)
			if (v[k] >= 0)
				mm_metric_set(m->f[F_LAST], (const char *[]){p->c.name, names[k]},
					      (double)v[k] / 1e6);
		for (size_t k = 0; k < res->nhops; k++) {
			char hop[40];
			snprintf(hop, sizeof hop, "hop%zu_%s", k + 1, res->hops[k].with);
			if (res->hop_us[k] >= 0)
				mm_metric_set(m->f[F_LAST], (const char *[]){p->c.name, hop},
					      (double)res->hop_us[k] / 1e6);
		}
	}
}

/* Reload, phase 1: every section of next must still load (a credentials
 * file removed, a URL broken); the running probes keep their settings. */
static int e2e_check(struct mm_daemon *d, const struct mm_config *next, struct mm_err *err)
{
	size_t n;
	const char **names = mm_config_instances(next, "e2e", &n);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct mm_e2e_conf c;
		rc = mm_e2e_conf_load(next, names[i], &c, err);
		OPENSSL_cleanse(&c, sizeof c);
	}
	free(names);
	return rc;
}

static int e2e_init(struct mm_daemon *d, struct mm_err *err)
{
	size_t n;
	const char **names = mm_config_instances(d->conf, "e2e", &n);
	struct mm_e2e_mod *m = xcalloc(1, sizeof *m);
	m->d = d;
	d->e2e = m;
	int rc = -1;
	m->env = mm_probe_env_new(d->base, NULL, err);
	if (!m->env)
		goto out;
	m->v = xcalloc(n ? n : 1, sizeof *m->v);
	int64_t now = mm_mono_ms();
	for (size_t i = 0; i < n; i++) {
		struct e2e_probe *p = xcalloc(1, sizeof *p);
		p->owner = m;
		if (mm_e2e_conf_load(d->conf, names[i], &p->c, err) < 0) {
			free(p);
			goto out;
		}
		m->v[m->n++] = p;
		char job[96];
		snprintf(job, sizeof job, "e2e.%s", p->c.name);
		/* Spread the first runs: not every probe in the same second. */
		mm_schedule_add(&d->sched, job, p->c.interval_ms,
				1000 + (p->c.interval_ms * (int64_t)i) / (int64_t)(n + 1), now, cycle,
				p);
	}
	if (mm_registry_add_all(d->metrics, defs, F_N, m->f, err) < 0)
		goto out;
	mm_registry_add_collector(d->metrics, collect, m);
	rc = 0;
out:
	free(names);
	return rc;
}

static void e2e_free(struct mm_daemon *d)
{
	struct mm_e2e_mod *m = d->e2e;
	if (!m)
		return;
	mm_registry_remove_collector(d->metrics, m);
	for (size_t i = 0; i < d->sched.n; i++)
		if (strncmp(d->sched.jobs[i].name, "e2e.", 4) == 0)
			d->sched.jobs[i].fn = NULL;
	for (size_t i = 0; i < m->n; i++) {
		mm_e2e_cancel(m->v[i]->run);
		OPENSSL_cleanse(&m->v[i]->c, sizeof m->v[i]->c);
		free(m->v[i]);
	}
	free(m->v);
	mm_probe_env_free(m->env);
	free(m);
	d->e2e = NULL;
}

const struct mm_module mm_module_e2e = {
	.name = "e2e",
	.conf = {&mm_conf_table_e2e},
	.init = e2e_init,
	.check = e2e_check,
	.free = e2e_free,
};

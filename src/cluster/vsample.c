/* vsample: see vsample.h. */
#include "cluster/vsample.h"

#include <string.h>

#include "core/strutil.h"
#include "metrics/registry.h"
#include "mta/reason_class.h"

static const char *const qnames[MM_VQ_N] = {"incoming", "active", "deferred"};

void mm_vsample_clear(struct mm_vsample *s, int64_t wall_ms)
{
	memset(s, 0, sizeof *s);
	s->t_ms = wall_ms;
	s->master = s->qmgr = s->qmgr_stopped = s->smtpd_up = -1;
	s->qmgr_lines = s->all_lines = -1;
}

struct mm_vdest *mm_vsample_dest(struct mm_vsample *s, const char *name)
{
	for (size_t i = 0; i < s->ndests; i++)
		if (strcmp(s->dests[i].name, name) == 0)
			return &s->dests[i];
	if (s->ndests == MM_VDEST_MAX)
		return NULL;
	struct mm_vdest *d = &s->dests[s->ndests++];
	memset(d, 0, sizeof *d);
	mm_strlcpy(d->name, name, sizeof d->name);
	return d;
}

static int qindex(const char *q)
{
	for (int i = 0; i < MM_VQ_N; i++)
		if (strcmp(q, qnames[i]) == 0)
			return i;
	return -1;
}

static int rindex_of(const char *r)
{
	for (unsigned c = 0; c < MM_RC_N; c++)
		if (strcmp(r, mm_rclass_name(c)) == 0)
			return (int)c;
	return -1;
}

/* Sum of a counter family over every series; false when absent. */
static bool sum_family(const struct mm_registry *reg, const char *name, double *out)
{
	const struct mm_metric *m = mm_registry_find(reg, name);
	if (!m)
		return false;
	double sum = 0;
	for (size_t i = 0; i < mm_metric_nseries(m); i++)
		sum += mm_metric_series(m, i)->value;
	*out = sum;
	return true;
}

/* Value of a one-label family's series lv, or -1. */
static int one(const struct mm_registry *reg, const char *family, const char *lv)
{
	if (!lv || !*lv)
		return -1;
	const struct mm_metric *m = mm_registry_find(reg, family);
	if (!m)
		return -1;
	const struct mm_series *s = mm_metric_lookup(m, (const char *[]){lv});
	return s ? (int)s->value : -1;
}

/* The series of a one-label family with a value above zero (at most
 * MM_VNAMED_MAX); with gauge set, each one's value is instead that
 * family's series of the same label value (-1 when absent). */
static void take_named(const struct mm_registry *reg, const char *family, const char *gauge,
		       struct mm_vnamed *v, size_t *n)
{
	const struct mm_metric *m = mm_registry_find(reg, family);
	const struct mm_metric *g = gauge ? mm_registry_find(reg, gauge) : NULL;
	*n = 0;
	for (size_t i = 0; m && i < mm_metric_nseries(m) && *n < MM_VNAMED_MAX; i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		if (!(s->value > 0))
			continue;
		mm_strlcpy(v[*n].name, s->lv[0], sizeof v[*n].name);
		v[*n].value = s->value;
		if (gauge) {
			const struct mm_series *gs =
				g ? mm_metric_lookup(g, (const char *[]){s->lv[0]}) : NULL;
			v[*n].value = gs ? gs->value : -1;
		}
		(*n)++;
	}
}

/* A {queue,destination,class} family summed per destination into rc[]
 * (suspended: into suspended_cause[]). */
static void take_dest_classes(const struct mm_registry *reg, const char *family, bool suspended,
			      struct mm_vsample *out)
{
	const struct mm_metric *m = mm_registry_find(reg, family);
	for (size_t i = 0; m && i < mm_metric_nseries(m); i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		int q = qindex(s->lv[0]), c = rindex_of(s->lv[2]);
		if (q < 0 || c < 0 || strcmp(s->lv[1], "other") == 0)
			continue;
		struct mm_vdest *d = mm_vsample_dest(out, s->lv[1]);
		if (d)
			(suspended ? d->suspended_cause : d->rc)[c] += s->value;
	}
}

static void take_queue(const struct mm_registry *reg, struct mm_vsample *out)
{
	const struct mm_metric *m = mm_registry_find(reg, "mailmon_queue_messages");
	if (m && mm_metric_nseries(m) > 0) {
		out->have_queue = true;
		for (int q = 0; q < MM_VQ_N; q++) {
			const struct mm_series *s = mm_metric_lookup(m, (const char *[]){qnames[q]});
			out->qmsgs[q] = s ? s->value : 0;
		}
	}
	m = mm_registry_find(reg, "mailmon_queue_oldest_age_seconds");
	for (int q = 0; m && q < MM_VQ_N; q++) {
		const struct mm_series *s = mm_metric_lookup(m, (const char *[]){qnames[q]});
		out->qoldest[q] = s ? s->value : 0;
	}
	m = mm_registry_find(reg, "mailmon_queue_destination_messages");
	for (size_t i = 0; m && i < mm_metric_nseries(m); i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		int q = qindex(s->lv[0]);
		if (q < 0 || strcmp(s->lv[1], "other") == 0)
			continue;
		struct mm_vdest *d = mm_vsample_dest(out, s->lv[1]);
		if (!d)
			continue;
		d->msgs += s->value;
		if (q == MM_VQ_DEFERRED)
			d->deferred += s->value;
		if (q == MM_VQ_ACTIVE)
			d->active_msgs += s->value;
	}
	m = mm_registry_find(reg, "mailmon_queue_destination_oldest_age_seconds");
	for (size_t i = 0; m && i < mm_metric_nseries(m); i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		if (qindex(s->lv[0]) != MM_VQ_ACTIVE || strcmp(s->lv[1], "other") == 0)
			continue;
		struct mm_vdest *d = mm_vsample_dest(out, s->lv[1]);
		if (d)
			d->active_oldest = s->value;
	}
	take_dest_classes(reg, "mailmon_queue_destination_reason_recipients", false, out);
	take_dest_classes(reg, "mailmon_queue_destination_suspended_recipients", true, out);
	/* The log's delivery numbers, for the destinations read above only. */
	for (size_t k = 0; k < out->ndests; k++)
		out->dests[k].last_delivery_no = -1;
	out->have_dest_delivered =
		sum_family(reg, "mailmon_log_destination_deliveries_total", &out->tally_no) &&
		sum_family(reg, "mailmon_log_destination_evicted_last_delivery_number",
			   &out->tally_evicted_no);
	m = mm_registry_find(reg, "mailmon_log_destination_last_delivery_number");
	for (size_t i = 0; m && i < mm_metric_nseries(m); i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		for (size_t k = 0; k < out->ndests; k++)
			if (strcmp(out->dests[k].name, s->lv[0]) == 0)
				out->dests[k].last_delivery_no = s->value;
	}
}

/* Sum of the series of a {postfix_instance, X} family whose first label
 * is inst and (when x is set) whose second is x; false when the family
 * is absent or has no series at all. */
static bool sum_inst(const struct mm_registry *reg, const char *family, const char *inst,
		     const char *x, double *out)
{
	const struct mm_metric *m = mm_registry_find(reg, family);
	if (!m || mm_metric_nseries(m) == 0)
		return false;
	double sum = 0;
	for (size_t i = 0; i < mm_metric_nseries(m); i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		if (strcmp(s->lv[0], inst) == 0 && (!x || strcmp(s->lv[1], x) == 0))
			sum += s->value;
	}
	*out = sum;
	return true;
}

/* One instance's queue and log figures (see vsample.h). */
static void take_instance(const struct mm_registry *reg, const char *inst, struct mm_vsample *out)
{
	for (int q = 0; q < MM_VQ_N; q++) {
		if (sum_inst(reg, "mailmon_queue_instance_messages", inst, qnames[q], &out->qmsgs[q]))
			out->have_queue = true;
		sum_inst(reg, "mailmon_queue_instance_oldest_age_seconds", inst, qnames[q],
			 &out->qoldest[q]);
	}
	static const char *const fam = "mailmon_log_instance_messages_total";
	bool a = sum_inst(reg, fam, inst, "submitted", &out->inflow);
	bool b = sum_inst(reg, fam, inst, "delivered", &out->delivered);
	bool c = sum_inst(reg, fam, inst, "deferred", &out->deferred);
	bool e = sum_inst(reg, fam, inst, "bounced", &out->bounced);
	out->have_logs = a || b || c || e;
	sum_inst(reg, fam, inst, "unavailable", &out->unavail_deferred);
	static const char *const lines = "mailmon_log_instance_program_lines_total";
	if (sum_inst(reg, lines, inst, "qmgr", &out->qmgr_lines))
		sum_inst(reg, lines, inst, NULL, &out->all_lines);
	const struct mm_metric *m =
		mm_registry_find(reg, "mailmon_log_instance_transport_unavailable_total");
	for (size_t i = 0; m && i < mm_metric_nseries(m) && out->ntransports < MM_VNAMED_MAX; i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		if (strcmp(s->lv[0], inst) != 0 || !(s->value > 0))
			continue;
		struct mm_vnamed *v = &out->transports[out->ntransports++];
		mm_strlcpy(v->name, s->lv[1], sizeof v->name);
		v->value = s->value;
	}
}

/* The node's queue and log figures. */
static void take_node(const struct mm_registry *reg, struct mm_vsample *out)
{
	take_queue(reg, out);
	bool a = sum_family(reg, "mailmon_messages_submitted_total", &out->inflow);
	bool b = sum_family(reg, "mailmon_messages_delivered_total", &out->delivered);
	bool c = sum_family(reg, "mailmon_messages_deferred_total", &out->deferred);
	bool e = sum_family(reg, "mailmon_messages_bounced_total", &out->bounced);
	out->have_logs = a || b || c || e;
	const struct mm_metric *m = mm_registry_find(reg, "mailmon_log_program_lines_total");
	if (m && mm_metric_nseries(m) > 0) { /* no series: no log pipeline */
		const struct mm_series *s = mm_metric_lookup(m, (const char *[]){"qmgr"});
		out->qmgr_lines = s ? s->value : 0;
		sum_family(reg, "mailmon_log_program_lines_total", &out->all_lines);
	}
	sum_family(reg, "mailmon_log_deferred_unavailable_total", &out->unavail_deferred);
	take_named(reg, "mailmon_log_transport_unavailable_total", NULL, out->transports,
		   &out->ntransports);
}

void mm_vsample_take(const struct mm_registry *reg, const struct mm_vsample_names *names,
		     int64_t wall_ms, struct mm_vsample *out)
{
	mm_vsample_clear(out, wall_ms);
	if (names->instance && *names->instance)
		take_instance(reg, names->instance, out);
	else
		take_node(reg, out);
	take_named(reg, "mailmon_disk_locked", "mailmon_disk_avail_percent", out->locked,
		   &out->nlocked);
	out->master = one(reg, "mailmon_process_count", names->master);
	out->qmgr = one(reg, "mailmon_process_count", names->qmgr);
	out->qmgr_stopped = one(reg, "mailmon_process_stopped", names->qmgr);
	out->smtpd_up = one(reg, "mailmon_service_up", names->smtpd);
}

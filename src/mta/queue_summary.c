/*
 * queue_summary: see queue_summary.h. One pass over the snapshot with a
 * per-queue open-addressing table from domain to destination row; then
 * each queue's rows are sorted and cut to the top N.
 */
#include "mta/queue_summary.h"
#include "core/utf8.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nameidx.h"
#include "core/xalloc.h"
#include "mta/qshape.h"
#include "mta/reason_class.h"

const int mm_qsum_age_upper[MM_QSUM_AGES] = {5, 10, 20, 40, 80, 160, 320, 640, 1280, 0};

/* The column of a message of age_s seconds, as qshape counts it. */
static int age_bucket(int64_t age_s)
{
	int64_t min = age_s / 60;
	for (int b = 0; b < MM_QSUM_AGES - 1; b++)
		if (min < mm_qsum_age_upper[b])
			return b;
	return MM_QSUM_AGES - 1;
}

struct table {
	struct mm_qsum_dest *rows;
	size_t n, cap;
	struct mm_nameidx ix;
};

static const char *dest_name(const void *rows, size_t i)
{
	return ((const struct mm_qsum_dest *)rows)[i].name;
}

static struct mm_qsum_dest *dest(struct table *t, const char *name)
{
	mm_nameidx_reserve(&t->ix, t->n + 1, 64, dest_name, t->rows);
	size_t *slot = mm_nameidx_slot(&t->ix, name, dest_name, t->rows);
	if (*slot)
		return &t->rows[*slot - 1];
	t->rows = xgrow(t->rows, &t->cap, t->n + 1, sizeof *t->rows);
	struct mm_qsum_dest *d = &t->rows[t->n];
	memset(d, 0, sizeof *d);
	d->name = xstrdup(name);
	d->oldest = INT64_MAX;
	d->last_msg = UINT64_MAX;
	*slot = ++t->n;
	return d;
}

static int cmp_dest(const void *pa, const void *pb)
{
	const struct mm_qsum_dest *a = pa, *b = pb;
	if (a->msgs != b->msgs)
		return a->msgs > b->msgs ? -1 : 1;
	if (a->rcpts != b->rcpts)
		return a->rcpts > b->rcpts ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void fold(struct mm_qsum_dest *into, const struct mm_qsum_dest *d)
{
	into->msgs += d->msgs;
	into->rcpts += d->rcpts;
	into->bytes += d->bytes;
	if (d->oldest < into->oldest)
		into->oldest = d->oldest;
	for (int c = 0; c < MM_RC_N; c++) {
		into->rclass[c] += d->rclass[c];
		into->suspended_cause[c] += d->suspended_cause[c];
	}
	for (int a = 0; a < MM_QSUM_AGES; a++)
		into->ages[a] += d->ages[a];
}

/* Keeps m as an example of d when it is among the oldest few. */
static void sample(struct mm_qsum_dest *d, const struct mm_qmsg *m, const char *reason)
{
	if (!d->samples)
		d->samples = xcalloc(MM_QSUM_SAMPLES, sizeof *d->samples);
	size_t at = d->nsamples;
	if (at == MM_QSUM_SAMPLES) {
		at = 0; /* replace the newest, if m is older */
		for (size_t i = 1; i < d->nsamples; i++)
			if (d->samples[i].arrival > d->samples[at].arrival)
				at = i;
		if (m->arrival >= d->samples[at].arrival)
			return;
	} else {
		d->nsamples++;
	}
	struct mm_qsum_msg *s = &d->samples[at];
	snprintf(s->id, sizeof s->id, "%s", m->id ? m->id : "");
	s->arrival = m->arrival;
	s->size = m->size;
	snprintf(s->reason, sizeof s->reason, "%s", reason ? reason : "");
}

/* Second pass, for the kept (top) destinations of queue qi only, so the
 * examples cost nothing for a long tail of destinations. */
static void take_samples(const struct mm_qsnap *snap, unsigned qi, struct mm_qsum_queue *q)
{
	struct mm_nameidx ix = {0};
	mm_nameidx_reserve(&ix, q->ndests, 16, dest_name, q->dests);
	for (size_t i = 0; i < q->ndests; i++)
		*mm_nameidx_slot(&ix, q->dests[i].name, dest_name, q->dests) = i + 1;
	for (size_t i = 0; i < snap->n; i++) {
		const struct mm_qmsg *m = snap->msgs[i];
		if (m->queue != qi)
			continue;
		for (uint32_t k = 0; k < m->nrcpt; k++) {
			char dom[512];
			mm_qshape_domain(m->rcpt[k].addr, dom, sizeof dom);
			size_t row = *mm_nameidx_slot(&ix, dom, dest_name, q->dests);
			if (!row || q->dests[row - 1].last_msg == UINT64_MAX - i)
				continue;
			q->dests[row - 1].last_msg = UINT64_MAX - i; /* once per message */
			sample(&q->dests[row - 1], m, m->rcpt[k].reason);
		}
	}
	mm_nameidx_free(&ix);
}

void mm_qsummary_build(const struct mm_qsnap *snap, size_t top, struct mm_qsummary *sum)
{
	memset(sum, 0, sizeof *sum);
	sum->taken_s = snap->taken_s;
	sum->stats = snap->stats;
	struct table tabs[MM_Q_N];
	memset(tabs, 0, sizeof tabs);
	for (int q = 0; q < MM_Q_N; q++) {
		sum->q[q].oldest = INT64_MAX;
		sum->q[q].other.oldest = INT64_MAX;
		for (size_t k = 0; k < MM_MTA_MAX_INSTANCES; k++)
			sum->inst[k].oldest[q] = INT64_MAX;
	}
	for (size_t i = 0; i < snap->n; i++) {
		const struct mm_qmsg *m = snap->msgs[i];
		if (m->queue >= MM_Q_N)
			continue;
		struct mm_qsum_queue *q = &sum->q[m->queue];
		if (m->instance < MM_MTA_MAX_INSTANCES) {
			struct mm_qsum_inst *in = &sum->inst[m->instance];
			in->msgs[m->queue]++;
			if (m->arrival < in->oldest[m->queue])
				in->oldest[m->queue] = m->arrival;
		}
		q->msgs++;
		q->rcpts += m->nrcpt;
		q->bytes += m->size;
		if (m->arrival < q->oldest)
			q->oldest = m->arrival;
		uint32_t classes = 0; /* reason classes of this message's recipients */
		for (uint32_t k = 0; k < m->nrcpt; k++) {
			char dom[512];
			mm_qshape_domain(m->rcpt[k].addr, dom, sizeof dom);
			struct mm_qsum_dest *d = dest(&tabs[m->queue], dom);
			if (d->last_msg != i) {
				d->last_msg = i;
				d->msgs++;
				d->ages[age_bucket(snap->taken_s - m->arrival)]++;
				d->bytes += m->size;
				if (m->arrival < d->oldest)
					d->oldest = m->arrival;
			}
			d->rcpts++;
			if (m->rcpt[k].rclass == MM_RC_SUSPENDED)
				d->suspended_cause[m->rcpt[k].cause < MM_RC_N ? m->rcpt[k].cause
									      : MM_RC_OTHER]++;
			d->rclass[m->rcpt[k].rclass < MM_RC_N ? m->rcpt[k].rclass : MM_RC_OTHER]++;
			q->rclass[m->rcpt[k].rclass < MM_RC_N ? m->rcpt[k].rclass : MM_RC_OTHER]++;
			classes |= 1u << (m->rcpt[k].rclass < MM_RC_N ? m->rcpt[k].rclass : MM_RC_OTHER);
		}
		for (unsigned c = 0; c < MM_RC_N; c++)
			if (classes & (1u << c))
				q->rclass_msgs[c]++;
	}
	for (int qi = 0; qi < MM_Q_N; qi++) {
		struct table *t = &tabs[qi];
		struct mm_qsum_queue *q = &sum->q[qi];
		if (t->n > 1)
			qsort(t->rows, t->n, sizeof *t->rows, cmp_dest);
		size_t keep = top && t->n > top ? top : t->n;
		for (size_t i = keep; i < t->n; i++) {
			fold(&q->other, &t->rows[i]);
			free(t->rows[i].name);
		}
		q->other_dests = t->n - keep;
		q->dests = t->rows;
		q->ndests = keep;
		mm_nameidx_free(&t->ix);
		take_samples(snap, (unsigned)qi, q);
	}
}

json_t *mm_rclass_mix_json(const uint64_t mix[MM_RC_N])
{
	json_t *o = json_object();
	for (int c = 1; c < MM_RC_N; c++)
		if (mix[c])
			json_object_set_new(o, mm_rclass_name((unsigned)c), json_integer((json_int_t)mix[c]));
	return o;
}

static json_t *age_json(int64_t oldest, int64_t now_s)
{
	return oldest == INT64_MAX ? json_null() : json_integer((json_int_t)(now_s - oldest));
}

static json_t *dest_json(const struct mm_qsum_dest *d, const char *name, int64_t now_s)
{
	json_t *ages = json_array();
	for (int a = 0; a < MM_QSUM_AGES; a++)
		json_array_append_new(ages, json_integer((json_int_t)d->ages[a]));
	json_t *o = json_pack("{s:o, s:I, s:I, s:I, s:o, s:o, s:o}", "destination",
			      mm_json_text(name), "messages", (json_int_t)d->msgs, "recipients",
			      (json_int_t)d->rcpts, "bytes", (json_int_t)d->bytes, "oldest_age_s",
			      age_json(d->oldest, now_s), "reasons", mm_rclass_mix_json(d->rclass),
			      "ages", ages);
	if (d->nsamples) {
		json_t *msgs = json_array();
		for (size_t i = 0; i < d->nsamples; i++) {
			const struct mm_qsum_msg *m = &d->samples[i];
			json_array_append_new(msgs, json_pack("{s:o, s:I, s:I, s:o}", "id",
							      mm_json_text(m->id), "arrival",
							      (json_int_t)m->arrival, "size",
							      (json_int_t)m->size, "reason",
							      mm_json_text(m->reason)));
		}
		json_object_set_new(o, "messages_oldest", msgs);
	}
	return o;
}

static json_t *age_edges(void)
{
	json_t *a = json_array();
	for (int i = 0; i < MM_QSUM_AGES; i++)
		json_array_append_new(a, mm_qsum_age_upper[i] ? json_integer(mm_qsum_age_upper[i])
							       : json_string("1280+"));
	return a;
}

json_t *mm_qsummary_json(const struct mm_qsummary *sum, int64_t now_s)
{
	json_t *queues = json_object();
	for (int qi = 0; qi < MM_Q_N; qi++) {
		const struct mm_qsum_queue *q = &sum->q[qi];
		json_t *dests = json_array();
		for (size_t i = 0; i < q->ndests; i++)
			json_array_append_new(dests, dest_json(&q->dests[i], q->dests[i].name, now_s));
		if (q->other_dests) {
			json_t *o = dest_json(&q->other, "other", now_s);
			json_object_set_new(o, "destinations", json_integer((json_int_t)q->other_dests));
			json_array_append_new(dests, o);
		}
		json_object_set_new(
			queues, mm_queue_name((unsigned)qi),
			json_pack("{s:o, s:I, s:I, s:I, s:o, s:o, s:o}", "age_columns_min", age_edges(),
				  "messages", (json_int_t)q->msgs,
				  "recipients", (json_int_t)q->rcpts, "bytes", (json_int_t)q->bytes,
				  "oldest_age_s", age_json(q->oldest, now_s), "reasons",
				  mm_rclass_mix_json(q->rclass), "destinations", dests));
	}
	return queues;
}

void mm_qsummary_free(struct mm_qsummary *sum)
{
	for (int qi = 0; qi < MM_Q_N; qi++) {
		for (size_t i = 0; i < sum->q[qi].ndests; i++) {
			free(sum->q[qi].dests[i].name);
			free(sum->q[qi].dests[i].samples);
		}
		free(sum->q[qi].dests);
	}
	memset(sum, 0, sizeof *sum);
}

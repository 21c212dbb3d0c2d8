/*
 * queue_summary: see queue_summary.h. One pass over the snapshot with a
 * per-queue open-addressing table from domain to destination row; then
 * each queue's rows are sorted and cut to the top N.
 */
#include "mta/queue_summary.h"
#include "core/utf8.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/nameidx.h"
#include "core/xalloc.h"
#include "mta/qshape.h"
#include "mta/reason_class.h"

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
	for (int c = 0; c < MM_RC_N; c++)
		into->rclass[c] += d->rclass[c];
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
	}
	for (size_t i = 0; i < snap->n; i++) {
		const struct mm_qmsg *m = snap->msgs[i];
		if (m->queue >= MM_Q_N)
			continue;
		struct mm_qsum_queue *q = &sum->q[m->queue];
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
				d->bytes += m->size;
				if (m->arrival < d->oldest)
					d->oldest = m->arrival;
			}
			d->rcpts++;
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
	return json_pack("{s:o, s:I, s:I, s:I, s:o, s:o}", "destination", mm_json_text(name), "messages",
			 (json_int_t)d->msgs, "recipients", (json_int_t)d->rcpts, "bytes",
			 (json_int_t)d->bytes, "oldest_age_s", age_json(d->oldest, now_s),
			 "reasons", mm_rclass_mix_json(d->rclass));
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
			json_pack("{s:I, s:I, s:I, s:o, s:o, s:o}", "messages", (json_int_t)q->msgs,
				  "recipients", (json_int_t)q->rcpts, "bytes", (json_int_t)q->bytes,
				  "oldest_age_s", age_json(q->oldest, now_s), "reasons",
				  mm_rclass_mix_json(q->rclass), "destinations", dests));
	}
	return queues;
}

void mm_qsummary_free(struct mm_qsummary *sum)
{
	for (int qi = 0; qi < MM_Q_N; qi++) {
		for (size_t i = 0; i < sum->q[qi].ndests; i++)
			free(sum->q[qi].dests[i].name);
		free(sum->q[qi].dests);
	}
	memset(sum, 0, sizeof *sum);
}

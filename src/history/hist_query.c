/*
 * hist_query: reading the tiered history (see hist_store.h,
 * mm_hist_query). Picks the tier, finds the series whose stored key
 * matches the selector, folds each partition's rows into step-sized
 * buckets (min of mins, sum of sums / sum of counts, max of maxes, the
 * latest last) and turns counters' `last` into rates.
 */
#include "history/hist_store_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

/* Does the stored key (a selector of = matchers) satisfy sel? */
static bool key_matches(const struct mm_selector *sel, const char *key)
{
	struct mm_selector ks;
	struct mm_err e;
	if (mm_selector_parse(key, &ks, &e) < 0)
		return false;
	bool ok = strcmp(ks.name, sel->name) == 0;
	for (size_t i = 0; ok && i < sel->n; i++) {
		const char *v = "";
		for (size_t j = 0; j < ks.n; j++)
			if (strcmp(ks.m[j].label, sel->m[i].label) == 0)
				v = ks.m[j].value;
		ok = mm_matcher_test(&sel->m[i], v);
	}
	mm_selector_free(&ks);
	return ok;
}

static int find_series(struct mm_hist_store *h, const struct mm_selector *sel,
		       struct mm_hist_result *r, int64_t **ids, struct mm_err *err)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(h->db, "SELECT id, key, counter FROM series WHERE name=? ORDER BY key",
				    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return mm_hist_sqlerr(h, err, rc, "series query");
	sqlite3_bind_text(st, 1, sel->name, -1, SQLITE_STATIC);
	size_t cap = 0, idcap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 1);
		if (!key_matches(sel, key))
			continue;
		if (r->nseries == MM_HIST_MAX_SERIES) {
			r->truncated = true;
			break;
		}
		r->series = xgrow(r->series, &cap, r->nseries + 1, sizeof *r->series);
		*ids = xgrow(*ids, &idcap, r->nseries + 1, sizeof **ids);
		struct mm_hist_series *s = &r->series[r->nseries];
		memset(s, 0, sizeof *s);
		s->key = xstrdup(key);
		s->name = xstrdup(sel->name);
		s->counter = sqlite3_column_int(st, 2) != 0;
		(*ids)[r->nseries++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return mm_hist_sqlerr(h, err, rc, "series query");
	return 0;
}

static bool table_exists(struct mm_hist_store *h, const char *tab)
{
	sqlite3_reset(h->has_table);
	sqlite3_bind_text(h->has_table, 1, tab, -1, SQLITE_TRANSIENT);
	bool yes = sqlite3_step(h->has_table) == SQLITE_ROW;
	sqlite3_reset(h->has_table); /* an open statement would block DROP TABLE */
	return yes;
}

/* Folds one stored row (count n, min, sum, max, last at time t) in. */
static void fold(struct mm_hist_series *s, size_t *cap, int64_t step, int64_t t, uint64_t n,
		 double mn, double sm, double mx, double last, double *sum)
{
	int64_t b = mm_hist_floordiv(t, step) * step;
	struct mm_hist_point *p = s->npts ? &s->pts[s->npts - 1] : NULL;
	if (!p || p->t != b) {
		if (p)
			p->avg = p->n ? sum[0] / (double)p->n : NAN;
		if (s->npts == MM_HIST_MAX_POINTS) {
			s->truncated = true;
			return;
		}
		s->pts = xgrow(s->pts, cap, s->npts + 1, sizeof *s->pts);
		p = &s->pts[s->npts++];
		*p = (struct mm_hist_point){.t = b, .min = mn, .max = mx, .rate = NAN};
		sum[0] = 0;
	}
	p->n += n;
	sum[0] += sm;
	if (mn < p->min)
		p->min = mn;
	if (mx > p->max)
		p->max = mx;
	p->last = last;
}

static int read_series(struct mm_hist_store *h, int tier, int64_t id, int64_t from, int64_t to,
		       int64_t step, struct mm_hist_series *s, struct mm_err *err)
{
	const struct mm_hist_tier *t = &mm_hist_tiers[tier];
	size_t cap = 0;
	double sum = 0;
	for (int64_t part = mm_hist_floordiv(from, t->part_s); part <= mm_hist_floordiv(to, t->part_s); part++) {
		char tab[48], sql[256];
		mm_hist_table_name(tab, sizeof tab, tier, part);
		if (!table_exists(h, tab))
			continue;
		if (tier == 0)
			snprintf(sql, sizeof sql,
				 "SELECT t, 1, v, v, v, v FROM %s WHERE series=? AND t BETWEEN ? AND ?"
				 " ORDER BY t",
				 tab);
		else
			snprintf(sql, sizeof sql,
				 "SELECT t, n, mn, sm, mx, last FROM %s WHERE series=? AND t BETWEEN ? AND ?"
				 " ORDER BY t",
				 tab);
		sqlite3_stmt *st;
		int rc = sqlite3_prepare_v2(h->db, sql, -1, &st, NULL);
		if (rc != SQLITE_OK)
			return mm_hist_sqlerr(h, err, rc, "history read");
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, from);
		sqlite3_bind_int64(st, 3, to);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW && !s->truncated)
			fold(s, &cap, step, sqlite3_column_int64(st, 0),
			     (uint64_t)sqlite3_column_int64(st, 1), sqlite3_column_double(st, 2),
			     sqlite3_column_double(st, 3), sqlite3_column_double(st, 4),
			     sqlite3_column_double(st, 5), &sum);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE && rc != SQLITE_ROW)
			return mm_hist_sqlerr(h, err, rc, "history read");
	}
	/* a cut-off answer has its last bucket's average set already */
	if (s->npts && !s->truncated)
		s->pts[s->npts - 1].avg = sum / (double)s->pts[s->npts - 1].n;
	if (s->counter)
		for (size_t i = 1; i < s->npts; i++) {
			double d = s->pts[i].last - s->pts[i - 1].last;
			if (d < 0) /* the counter was reset */
				d = s->pts[i].last;
			s->pts[i].rate = d / (double)(s->pts[i].t - s->pts[i - 1].t);
		}
	return 0;
}

/* The tier and step for [from, to] at now (see mm_hist_query). */
static void plan(int64_t from, int64_t to, int64_t now, int64_t *step, int *tier)
{
	int cover = MM_HIST_TIERS - 1;
	for (int i = 0; i < MM_HIST_TIERS; i++)
		if (from >= now - mm_hist_tiers[i].keep_s) {
			cover = i;
			break;
		}
	int64_t res = mm_hist_tiers[cover].res_s;
	if (*step <= 0) {
		/* about 500 points, on the coarsest resolution that fits: a
		 * 30-day view reads hours, not 43,200 minutes */
		*step = (to - from) / 500 + 1;
		for (int i = MM_HIST_TIERS - 1; i > cover; i--)
			if (*step >= mm_hist_tiers[i].res_s) {
				res = mm_hist_tiers[i].res_s;
				break;
			}
	}
	if (*step < res)
		*step = res;
	*step = (*step + res - 1) / res * res;
	*tier = cover;
	for (int i = cover + 1; i < MM_HIST_TIERS; i++)
		if (*step % mm_hist_tiers[i].res_s == 0)
			*tier = i;
}

int mm_hist_query(struct mm_hist_store *h, const struct mm_selector *sel, int64_t from,
		  int64_t to, int64_t step, int64_t now_s, struct mm_hist_result *out,
		  struct mm_err *err)
{
	memset(out, 0, sizeof *out);
	if (!h->db)
		return mm_err_set(err, "history %s: unavailable (%s)", h->path, h->st.last_error);
	if (to < from)
		return mm_err_set(err, "history: 'to' (%lld) is before 'from' (%lld)",
				  (long long)to, (long long)from);
	plan(from, to, now_s, &step, &out->tier);
	out->from = from;
	out->to = to;
	out->step = step;
	out->resolution = mm_hist_tiers[out->tier].res_s;
	int64_t *ids = NULL;
	int rc = find_series(h, sel, out, &ids, err);
	for (size_t i = 0; rc == 0 && i < out->nseries; i++)
		rc = read_series(h, out->tier, ids[i], from, to, step, &out->series[i], err);
	free(ids);
	if (rc < 0)
		mm_hist_result_free(out);
	return rc;
}

void mm_hist_result_free(struct mm_hist_result *r)
{
	for (size_t i = 0; i < r->nseries; i++) {
		free(r->series[i].key);
		free(r->series[i].name);
		free(r->series[i].pts);
	}
	free(r->series);
	memset(r, 0, sizeof *r);
}

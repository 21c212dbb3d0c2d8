/*
 * registry: families, series, collectors (see registry.h).
 *
 * Each family indexes its series with an open-addressing table keyed by
 * the hash of the label values; the series array keeps insertion order,
 * so outputs are stable from one scrape to the next. Dropping stale
 * series compacts the array and rebuilds the index, which costs one pass
 * per collection and only for families that lost a series.
 */
#include "metrics/registry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/utf8.h"
#include "core/xalloc.h"

#define OTHER "other"

struct mm_metric {
	const struct mm_metric_def *def;
	struct mm_registry *reg;
	size_t nlabels; /* including a state set's state label */
	size_t max_series;
	struct mm_series **s;
	size_t n, cap;
	uint32_t *idx; /* slot -> series index + 1; 0 empty */
	size_t idx_cap; /* power of two */
	uint64_t folded;
	bool collected; /* written by a collector: replaced at each collection */
	uint64_t touched_gen;
};

struct collector {
	mm_collect_fn *fn;
	void *arg;
};

struct mm_registry {
	struct mm_metric **f;
	size_t n, cap;
	struct collector *c;
	size_t nc, ccap;
	uint64_t gen;
	bool collecting;
};

struct mm_registry *mm_registry_new(void)
{
	return xcalloc(1, sizeof(struct mm_registry));
}

static void series_free(struct mm_series *s, size_t nlabels)
{
	for (size_t i = 0; i < nlabels; i++)
		free(s->lv[i]);
	free(s->buckets);
	free(s);
}

static void family_free(struct mm_metric *m)
{
	for (size_t i = 0; i < m->n; i++)
		series_free(m->s[i], m->nlabels);
	free(m->s);
	free(m->idx);
	free(m);
}

void mm_registry_free(struct mm_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		family_free(r->f[i]);
	free(r->f);
	free(r->c);
	free(r);
}

/* Prometheus names: [a-zA-Z_:][a-zA-Z0-9_:]*; labels without ':' and not
 * starting with "__". */
static bool valid_name(const char *s, bool label)
{
	if (!s || !*s || (label && strncmp(s, "__", 2) == 0))
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			  (!label && c == ':') || (p > s && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

static int check_def(const struct mm_metric_def *def, size_t *nlabels, struct mm_err *err)
{
	if (!valid_name(def->name, false))
		return mm_err_set(err, "metric name '%s' is not a valid Prometheus name",
				  def->name ? def->name : "(null)");
	if (!def->help || !*def->help)
		return mm_err_set(err, "metric %s: help text missing", def->name);
	size_t n = 0;
	while (n <= MM_METRIC_MAX_LABELS && def->labels[n])
		n++;
	if (n > MM_METRIC_MAX_LABELS)
		return mm_err_set(err, "metric %s: more than %d labels", def->name,
				  MM_METRIC_MAX_LABELS);
	for (size_t i = 0; i < n; i++) {
		if (!valid_name(def->labels[i], true) || strcmp(def->labels[i], "le") == 0)
			return mm_err_set(err, "metric %s: bad label name '%s'", def->name,
					  def->labels[i]);
		for (size_t k = 0; k < i; k++)
			if (strcmp(def->labels[k], def->labels[i]) == 0)
				return mm_err_set(err, "metric %s: label '%s' twice", def->name,
						  def->labels[i]);
	}
	size_t len = strlen(def->name);
	bool total = len > 6 && strcmp(def->name + len - 6, "_total") == 0;
	if ((def->type == MM_METRIC_COUNTER) != total)
		return mm_err_set(err, "metric %s: counters, and only counters, end in _total",
				  def->name);
	if (def->type == MM_METRIC_HISTOGRAM) {
		if (def->nbuckets == 0 || def->nbuckets > MM_METRIC_MAX_BUCKETS || !def->buckets)
			return mm_err_set(err, "metric %s: histogram needs 1..%d buckets", def->name,
					  MM_METRIC_MAX_BUCKETS);
		for (size_t i = 1; i < def->nbuckets; i++)
			if (!(def->buckets[i] > def->buckets[i - 1]))
				return mm_err_set(err, "metric %s: buckets must ascend", def->name);
	}
	if (def->type == MM_METRIC_STATESET && (n == 0 || def->nstates == 0 || !def->states))
		return mm_err_set(err, "metric %s: a state set needs states and a state label",
				  def->name);
	*nlabels = n;
	return 0;
}

struct mm_metric *mm_registry_add(struct mm_registry *r, const struct mm_metric_def *def,
				  struct mm_err *err)
{
	size_t nlabels = 0;
	if (check_def(def, &nlabels, err) < 0)
		return NULL;
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->f[i]->def->name, def->name) != 0)
			continue;
		if (r->f[i]->def == def)
			return r->f[i];
		mm_err_set(err, "metric %s: registered twice with different definitions", def->name);
		return NULL;
	}
	struct mm_metric *m = xcalloc(1, sizeof *m);
	m->def = def;
	m->reg = r;
	m->nlabels = nlabels;
	m->max_series = def->max_series ? def->max_series : MM_METRIC_DEFAULT_SERIES;
	if (def->type == MM_METRIC_STATESET && m->max_series < def->nstates)
		m->max_series = def->nstates;
	r->f = xgrow(r->f, &r->cap, r->n + 1, sizeof *r->f);
	r->f[r->n++] = m;
	return m;
}

int mm_registry_add_all(struct mm_registry *r, const struct mm_metric_def *defs, size_t n,
			struct mm_metric **out, struct mm_err *err)
{
	for (size_t i = 0; i < n; i++) {
		struct mm_metric *m = mm_registry_add(r, &defs[i], err);
		if (!m)
			return -1;
		if (out)
			out[i] = m;
	}
	return 0;
}

void mm_registry_add_collector(struct mm_registry *r, mm_collect_fn *fn, void *arg)
{
	r->c = xgrow(r->c, &r->ccap, r->nc + 1, sizeof *r->c);
	r->c[r->nc++] = (struct collector){fn, arg};
}

void mm_registry_remove_collector(struct mm_registry *r, void *arg)
{
	size_t k = 0;
	for (size_t i = 0; i < r->nc; i++)
		if (r->c[i].arg != arg)
			r->c[k++] = r->c[i];
	r->nc = k;
}

/* ---- the series index ---- */

/* The label values' hashes chained through the project's one hash
 * (core/hash.h), so ("a","bc") and ("ab","c") differ. */
static uint64_t key_hash(const char *const *lv, size_t n)
{
	uint64_t pair[2] = {n, 0};
	for (size_t i = 0; i < n; i++) {
		const char *v = lv[i] ? lv[i] : "";
		pair[1] = mm_hash64(v, strlen(v));
		pair[0] = mm_hash64(pair, sizeof pair);
	}
	return pair[0];
}

static bool same_key(const struct mm_series *s, const char *const *lv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->lv[i], lv[i] ? lv[i] : "") != 0)
			return false;
	return true;
}

static void index_put(struct mm_metric *m, size_t si)
{
	struct mm_series *s = m->s[si];
	size_t mask = m->idx_cap - 1;
	size_t slot = key_hash((const char *const *)s->lv, m->nlabels) & mask;
	while (m->idx[slot])
		slot = (slot + 1) & mask;
	m->idx[slot] = (uint32_t)(si + 1);
}

static void index_rebuild(struct mm_metric *m)
{
	size_t want = 16;
	while (want < m->n * 2 + 2)
		want *= 2;
	free(m->idx);
	m->idx = xcalloc(want, sizeof *m->idx);
	m->idx_cap = want;
	for (size_t i = 0; i < m->n; i++)
		index_put(m, i);
}

static struct mm_series *find(const struct mm_metric *m, const char *const *lv)
{
	if (!m->idx_cap)
		return NULL;
	size_t mask = m->idx_cap - 1;
	for (size_t slot = key_hash(lv, m->nlabels) & mask; m->idx[slot];
	     slot = (slot + 1) & mask) {
		struct mm_series *s = m->s[m->idx[slot] - 1];
		if (same_key(s, lv, m->nlabels))
			return s;
	}
	return NULL;
}

static struct mm_series *insert(struct mm_metric *m, const char *const *lv, bool folded)
{
	struct mm_series *s = xcalloc(1, sizeof *s);
	for (size_t i = 0; i < m->nlabels; i++)
		s->lv[i] = xstrdup(lv[i] ? lv[i] : "");
	if (m->def->type == MM_METRIC_HISTOGRAM)
		s->buckets = xcalloc(m->def->nbuckets + 1, sizeof *s->buckets);
	s->folded = folded;
	s->gen = m->reg->gen;
	m->s = xgrow(m->s, &m->cap, m->n + 1, sizeof *m->s);
	m->s[m->n++] = s;
	if (m->n * 2 + 2 > m->idx_cap)
		index_rebuild(m);
	else
		index_put(m, m->n - 1);
	return s;
}

/* The series to write for lv: found, created, or the "other" series when
 * the family is full. Label values are cleaned copies. */
static struct mm_series *series_for(struct mm_metric *m, const char *const *lv_in)
{
	char buf[MM_METRIC_MAX_LABELS][MM_METRIC_VALUE_MAX + 4];
	const char *lv[MM_METRIC_MAX_LABELS];
	for (size_t i = 0; i < m->nlabels; i++) {
		mm_utf8_clean(lv_in && lv_in[i] ? lv_in[i] : "", buf[i], sizeof buf[i],
			      MM_METRIC_VALUE_MAX);
		lv[i] = buf[i];
	}
	struct mm_series *s = find(m, lv);
	if (s)
		return s;
	if (m->n < m->max_series)
		return insert(m, lv, false);
	/* Full: fold the most specific label; if even the folded series is
	 * new and the family is at twice its cap, fold every label. */
	m->folded++;
	size_t fold = m->def->fold_label > 0 ? (size_t)m->def->fold_label - 1
					     : m->nlabels - 1 -
						       (m->def->type == MM_METRIC_STATESET ? 1 : 0);
	if (fold < m->nlabels)
		lv[fold] = OTHER;
	s = find(m, lv);
	if (s)
		return s;
	if (m->n >= 2 * m->max_series) {
		for (size_t i = 0; i < m->nlabels; i++)
			if (m->def->type != MM_METRIC_STATESET || i + 1 < m->nlabels)
				lv[i] = OTHER;
		s = find(m, lv);
		if (s)
			return s;
	}
	return insert(m, lv, true);
}

/* Marks s written in this collection. A folded series sums its inputs, so
 * it starts from zero at its first write of each collection. */
static void touch(struct mm_metric *m, struct mm_series *s)
{
	struct mm_registry *r = m->reg;
	if (r->collecting) {
		m->collected = true;
		m->touched_gen = r->gen;
		if (s->folded && s->gen != r->gen) {
			s->value = 0;
			s->count = 0;
			s->sum = 0;
			if (s->buckets)
				memset(s->buckets, 0, (m->def->nbuckets + 1) * sizeof *s->buckets);
		}
	}
	s->gen = r->gen;
}

void mm_metric_set(struct mm_metric *m, const char *const *lv, double v)
{
	struct mm_series *s = series_for(m, lv);
	bool sum = s->folded && m->reg->collecting && s->gen == m->reg->gen;
	touch(m, s);
	s->value = sum ? s->value + v : v;
}

void mm_metric_add(struct mm_metric *m, const char *const *lv, double v)
{
	struct mm_series *s = series_for(m, lv);
	touch(m, s);
	s->value += v;
}

void mm_metric_observe(struct mm_metric *m, const char *const *lv, double v)
{
	if (m->def->type != MM_METRIC_HISTOGRAM)
		return;
	struct mm_series *s = series_for(m, lv);
	touch(m, s);
	size_t b = 0;
	while (b < m->def->nbuckets && !(v <= m->def->buckets[b]))
		b++;
	s->buckets[b]++;
	s->count++;
	if (isfinite(v))
		s->sum += v;
}

void mm_metric_set_histogram(struct mm_metric *m, const char *const *lv,
			     const uint64_t *buckets, uint64_t count, double sum)
{
	if (m->def->type != MM_METRIC_HISTOGRAM)
		return;
	struct mm_series *s = series_for(m, lv);
	bool add = s->folded && m->reg->collecting && s->gen == m->reg->gen;
	touch(m, s);
	for (size_t b = 0; b <= m->def->nbuckets; b++)
		s->buckets[b] = (add ? s->buckets[b] : 0) + buckets[b];
	s->count = (add ? s->count : 0) + count;
	s->sum = (add ? s->sum : 0) + sum;
}

void mm_metric_set_state(struct mm_metric *m, const char *const *lv, const char *state)
{
	if (m->def->type != MM_METRIC_STATESET)
		return;
	const char *full[MM_METRIC_MAX_LABELS];
	for (size_t i = 0; i + 1 < m->nlabels; i++)
		full[i] = lv ? lv[i] : "";
	for (size_t k = 0; k < m->def->nstates; k++) {
		full[m->nlabels - 1] = m->def->states[k];
		mm_metric_set(m, full, state && strcmp(state, m->def->states[k]) == 0 ? 1 : 0);
	}
}

/* ---- collection ---- */

static void drop_stale(struct mm_metric *m, uint64_t gen)
{
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->s[i]->gen == gen)
			m->s[k++] = m->s[i];
		else
			series_free(m->s[i], m->nlabels);
	}
	if (k != m->n) {
		m->n = k;
		index_rebuild(m);
	}
}

void mm_registry_collect(struct mm_registry *r)
{
	r->gen++;
	r->collecting = true;
	for (size_t i = 0; i < r->nc; i++)
		r->c[i].fn(r->c[i].arg, r);
	r->collecting = false;
	for (size_t i = 0; i < r->n; i++)
		if (r->f[i]->collected)
			drop_stale(r->f[i], r->gen);
}

/* ---- reading ---- */

size_t mm_registry_nfamilies(const struct mm_registry *r)
{
	return r->n;
}

const struct mm_metric *mm_registry_family(const struct mm_registry *r, size_t i)
{
	return i < r->n ? r->f[i] : NULL;
}

const struct mm_metric *mm_registry_find(const struct mm_registry *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->f[i]->def->name, name) == 0)
			return r->f[i];
	return NULL;
}

const struct mm_metric_def *mm_metric_def(const struct mm_metric *m)
{
	return m->def;
}

size_t mm_metric_nlabels(const struct mm_metric *m)
{
	return m->nlabels;
}

size_t mm_metric_nseries(const struct mm_metric *m)
{
	return m->n;
}

const struct mm_series *mm_metric_series(const struct mm_metric *m, size_t i)
{
	return i < m->n ? m->s[i] : NULL;
}

uint64_t mm_metric_folded(const struct mm_metric *m)
{
	return m->folded;
}

const struct mm_series *mm_metric_lookup(const struct mm_metric *m, const char *const *lv)
{
	return find(m, lv);
}

const char *mm_metric_type_name(enum mm_metric_type t)
{
	switch (t) {
	case MM_METRIC_COUNTER:
		return "counter";
	case MM_METRIC_GAUGE:
		return "gauge";
	case MM_METRIC_HISTOGRAM:
		return "histogram";
	case MM_METRIC_STATESET:
		return "stateset";
	}
	return "untyped";
}

uint64_t mm_registry_generation(const struct mm_registry *r)
{
	return r->gen;
}

bool mm_registry_value(const struct mm_registry *r, const char *name, const char *const *lv,
		       double *out)
{
	const struct mm_metric *m = mm_registry_find(r, name);
	const struct mm_series *s = m ? find(m, lv) : NULL;
	if (s)
		*out = s->value;
	return s != NULL;
}

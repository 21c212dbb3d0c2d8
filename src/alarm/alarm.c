/*
 * alarm: sampling, debouncing and state changes (see alarm.h).
 */
#include "alarm/alarm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static const struct mm_metric_def firing_def = {
	.name = "mailmon_alarm_firing",
	.help = "1 while the alarm instance is raised, 0 when it is not.",
	.type = MM_METRIC_GAUGE,
	.labels = {"alarm", "instance", NULL},
	.max_series = 5000,
};

struct mm_alarm_engine *mm_alarm_engine_new(void)
{
	return xcalloc(1, sizeof(struct mm_alarm_engine));
}

void mm_alarm_engine_free(struct mm_alarm_engine *e)
{
	if (!e)
		return;
	if (e->reg)
		mm_registry_remove_collector(e->reg, e);
	free(e->next_ms);
	free(e->inst);
	mm_nameidx_free(&e->idx);
	free(e->sil);
	free(e->ev);
	free(e);
}

void mm_alarm_set_defs(struct mm_alarm_engine *e, const struct mm_alarm_defs *defs)
{
	e->defs = defs;
	free(e->next_ms);
	e->next_ms = xcalloc(defs->n ? defs->n : 1, sizeof *e->next_ms);
	size_t j = 0;
	for (size_t i = 0; i < e->ninst; i++) {
		const struct mm_alarm_def *d = mm_alarm_defs_find(defs, e->inst[i].alarm);
		if (d && d->enable)
			e->inst[j++] = e->inst[i];
	}
	if (j != e->ninst) {
		e->dirty = true;
		e->idx_valid = false;
	}
	e->ninst = j;
}

static void collect(void *arg, struct mm_registry *r)
{
	(void)r;
	struct mm_alarm_engine *e = arg;
	for (size_t i = 0; i < e->ninst; i++) {
		const char *lv[] = {e->inst[i].alarm, e->inst[i].instance};
		mm_metric_set(e->m_firing, lv, e->inst[i].warningstate ? 1 : 0);
	}
}

int mm_alarm_publish(struct mm_alarm_engine *e, struct mm_registry *r, struct mm_err *err)
{
	e->m_firing = mm_registry_add(r, &firing_def, err);
	if (!e->m_firing)
		return -1;
	e->reg = r;
	mm_registry_add_collector(r, collect, e);
	return 0;
}

/* The index key of (alarm, instance): both names, joined by a unit
 * separator (neither holds one: the alarm name is a config word, and
 * instance_name() replaces control bytes). */
static void make_key(char *out, size_t cap, const char *alarm, const char *instance)
{
	snprintf(out, cap, "%s\x1f%s", alarm, instance);
}

static const char *row_key(const void *rows, size_t i)
{
	return ((const struct mm_alarm_inst *)rows)[i].key;
}

static void reindex(struct mm_alarm_engine *e)
{
	mm_nameidx_free(&e->idx);
	for (size_t i = 0; i < e->ninst; i++) {
		mm_nameidx_reserve(&e->idx, i + 1, 64, row_key, e->inst);
		*mm_nameidx_slot(&e->idx, e->inst[i].key, row_key, e->inst) = i + 1;
	}
	e->idx_valid = true;
}

struct mm_alarm_inst *mm_alarm_find(struct mm_alarm_engine *e, const char *alarm,
				    const char *instance)
{
	char key[sizeof e->inst->key];
	make_key(key, sizeof key, alarm, instance);
	if (!e->idx_valid)
		reindex(e);
	if (e->ninst == 0)
		return NULL;
	size_t *slot = mm_nameidx_slot(&e->idx, key, row_key, e->inst);
	return *slot ? &e->inst[*slot - 1] : NULL;
}

struct mm_alarm_inst *mm_alarm_add(struct mm_alarm_engine *e, const char *alarm,
				   const char *instance)
{
	if (!e->idx_valid)
		reindex(e);
	e->inst = xgrow(e->inst, &e->instcap, e->ninst + 1, sizeof *e->inst);
	struct mm_alarm_inst *in = &e->inst[e->ninst];
	memset(in, 0, sizeof *in);
	snprintf(in->alarm, sizeof in->alarm, "%s", alarm);
	snprintf(in->instance, sizeof in->instance, "%s", instance);
	make_key(in->key, sizeof in->key, in->alarm, in->instance);
	e->ninst++;
	mm_nameidx_reserve(&e->idx, e->ninst, 64, row_key, e->inst);
	size_t *slot = mm_nameidx_slot(&e->idx, in->key, row_key, e->inst);
	if (*slot == 0)
		*slot = e->ninst;
	e->dirty = true;
	return in;
}

void mm_alarm_silence(struct mm_alarm_engine *e, const char *alarm, const char *instance,
		      int64_t until)
{
	if (!instance)
		instance = "";
	for (size_t i = 0; i < e->nsil; i++) {
		if (strcmp(e->sil[i].alarm, alarm) == 0 && strcmp(e->sil[i].instance, instance) == 0) {
			e->sil[i].until = until;
			e->dirty = true;
			return;
		}
	}
	e->sil = xgrow(e->sil, &e->silcap, e->nsil + 1, sizeof *e->sil);
	struct mm_alarm_silence *s = &e->sil[e->nsil++];
	snprintf(s->alarm, sizeof s->alarm, "%s", alarm);
	snprintf(s->instance, sizeof s->instance, "%s", instance);
	s->until = until;
	e->dirty = true;
}

bool mm_alarm_silenced(const struct mm_alarm_engine *e, const char *alarm,
		       const char *instance, int64_t now_s)
{
	for (size_t i = 0; i < e->nsil; i++) {
		const struct mm_alarm_silence *s = &e->sil[i];
		if (s->until > now_s && strcmp(s->alarm, alarm) == 0 &&
		    (!s->instance[0] || strcmp(s->instance, instance) == 0))
			return true;
	}
	return false;
}

/* Drops expired silences so the state file does not grow. */
static void prune_silences(struct mm_alarm_engine *e, int64_t now_s)
{
	size_t j = 0;
	for (size_t i = 0; i < e->nsil; i++)
		if (e->sil[i].until > now_s)
			e->sil[j++] = e->sil[i];
	if (j != e->nsil)
		e->dirty = true;
	e->nsil = j;
}

static void emit(struct mm_alarm_engine *e, enum mm_alarm_kind kind, const struct mm_alarm_def *d,
		 const struct mm_alarm_inst *in, bool silenced, bool gone)
{
	e->ev = xgrow(e->ev, &e->evcap, e->nev + 1, sizeof *e->ev);
	struct mm_alarm_event *ev = &e->ev[e->nev++];
	ev->kind = kind;
	ev->def = d;
	ev->inst = *in;
	ev->silenced = silenced;
	ev->gone = gone;
	e->dirty = true;
}

/* Whether label i is pinned by an = matcher of the selector. */
static bool pinned(const struct mm_selector *sel, const char *label)
{
	for (size_t i = 0; i < sel->n; i++)
		if (sel->m[i].op == MM_MATCH_EQ && strcmp(sel->m[i].label, label) == 0)
			return true;
	return false;
}

static void instance_name(const struct mm_alarm_def *d, const struct mm_metric *m,
			  const struct mm_series *s, char *out, size_t cap)
{
	const struct mm_metric_def *md = mm_metric_def(m);
	size_t nl = mm_metric_nlabels(m);
	size_t len = 0;
	out[0] = '\0';
	for (int pass = 0; pass < 2 && !out[0]; pass++) {
		len = 0;
		for (size_t i = 0; i < nl; i++) {
			if (pass == 0 && pinned(&d->sel, md->labels[i]))
				continue;
			const char *v = s->lv[i] ? s->lv[i] : "";
			int n = snprintf(out + len, cap - len, "%s%s", len ? "," : "", v);
			if (n < 0 || (size_t)n >= cap - len)
				break;
			len += (size_t)n;
		}
	}
	if (!out[0])
		snprintf(out, cap, "%s", d->name);
	for (char *c = out; *c; c++) /* control bytes (the key separator too) */
		if ((unsigned char)*c < 0x20)
			*c = '?';
}

static unsigned popcount64(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}

static uint64_t low_bits(int n)
{
	return n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
}

/* One sample of one instance: the value as the definition sees it, or
 * false when there is none yet (delta/rate need two raw values). */
static bool derive(const struct mm_alarm_def *d, struct mm_alarm_inst *in, double raw,
		   int64_t now_ms, double *v)
{
	bool had = in->have_prev;
	double prev = in->prev;
	int64_t prev_ms = in->prev_ms;
	if (!had || raw != prev)
		in->changed_ms = now_ms;
	in->have_prev = true;
	in->prev = raw;
	in->prev_ms = now_ms;
	switch (d->fn) {
	case MM_AF_VALUE:
		*v = raw;
		return true;
	case MM_AF_DELTA:
		if (!had)
			return false;
		*v = raw - prev;
		return true;
	case MM_AF_RATE:
		if (!had || now_ms <= prev_ms)
			return false;
		*v = (raw - prev) * 1000.0 / (double)(now_ms - prev_ms);
		return true;
	case MM_AF_UNCHANGED:
		*v = (double)(now_ms - in->changed_ms) / 1000.0;
		return true;
	}
	return false;
}

static void sample(struct mm_alarm_engine *e, const struct mm_alarm_def *d,
		   struct mm_alarm_inst *in, double v, int64_t now_ms)
{
	int64_t now = now_ms / 1000;
	bool first = in->timelastset == 0;
	if (first)
		in->timereset = now;
	in->current = v;
	in->timelastset = now;
	if (first || v > in->high)
		in->high = v;
	if (first || v < in->low)
		in->low = v;
	bool crossed = d->direction > 0 ? v > d->threshold : v < d->threshold;
	in->hist = (in->hist << 1) | (crossed ? 1 : 0);
	if (in->nhist < 64)
		in->nhist++;
	if (crossed)
		in->countoverthreshold++;
	e->dirty = true;

	bool silenced = mm_alarm_silenced(e, in->alarm, in->instance, now);
	unsigned over = popcount64(in->hist & low_bits(d->cycles_m));
	if (!in->warningstate) {
		if (over >= (unsigned)d->cycles_n) {
			in->warningstate = true;
			in->timestatechanged = now;
			in->timelastwarning = now;
			in->notified = !silenced;
			if (!silenced)
				in->countwarningsent++;
			emit(e, MM_ALARM_RAISE, d, in, silenced, false);
		}
		return;
	}
	if (in->nhist >= (unsigned)d->cycles_n && (in->hist & low_bits(d->cycles_n)) == 0) {
		in->warningstate = false;
		in->timestatechanged = now;
		emit(e, MM_ALARM_CLEAR, d, in, !in->notified, false);
		in->notified = false;
		return;
	}
	if (!in->notified && !silenced) {
		/* raised during a silence that has ended */
		in->notified = true;
		in->timelastwarning = now;
		in->countwarningsent++;
		emit(e, MM_ALARM_RAISE, d, in, false, false);
		return;
	}
	if (d->warninginterval_ms > 0 && (now - in->timelastwarning) * 1000 >= d->warninginterval_ms) {
		in->timelastwarning = now;
		if (!silenced)
			in->countwarningsent++;
		emit(e, MM_ALARM_REPEAT, d, in, silenced || !in->notified, false);
	}
}

static void eval_def(struct mm_alarm_engine *e, const struct mm_alarm_def *d,
		     const struct mm_registry *r, int64_t now_ms)
{
	for (size_t i = 0; i < e->ninst; i++)
		if (strcmp(e->inst[i].alarm, d->name) == 0)
			e->inst[i].seen = false;
	const struct mm_metric *m = mm_registry_find(r, d->sel.name);
	size_t ns = m ? mm_metric_nseries(m) : 0;
	for (size_t i = 0; i < ns; i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		if (!mm_selector_match(&d->sel, m, s))
			continue;
		enum mm_metric_type t = mm_metric_def(m)->type;
		if (t == MM_METRIC_HISTOGRAM) /* a state set row is 0 or 1 */
			continue;
		char name[MM_ALARM_TEXT_MAX];
		instance_name(d, m, s, name, sizeof name);
		struct mm_alarm_inst *in = mm_alarm_find(e, d->name, name);
		if (!in)
			in = mm_alarm_add(e, d->name, name);
		if (in->seen)
			continue; /* two series with one name: the first wins */
		in->seen = true;
		double v;
		if (!isfinite(s->value))
			continue;
		if (derive(d, in, s->value, now_ms, &v))
			sample(e, d, in, v, now_ms);
	}
	/* Instances whose series are gone: a raised one is cleared (its
	 * cause went away with it), the others are forgotten. Gone means
	 * absent for a grace period, counted from the engine's start too: a
	 * module that has not published yet after a restart must not clear
	 * (and then raise again) what was raised before. */
	int64_t grace = 3 * d->statinterval_ms;
	if (grace < MM_ALARM_GONE_MIN_MS)
		grace = MM_ALARM_GONE_MIN_MS;
	size_t j = 0;
	for (size_t i = 0; i < e->ninst; i++) {
		struct mm_alarm_inst *in = &e->inst[i];
		if (strcmp(in->alarm, d->name) == 0 && in->seen)
			in->seen_ms = now_ms;
		int64_t last = in->seen_ms > e->started_ms ? in->seen_ms : e->started_ms;
		if (strcmp(in->alarm, d->name) == 0 && !in->seen && now_ms - last >= grace) {
			if (in->warningstate) {
				in->warningstate = false;
				in->timestatechanged = now_ms / 1000;
				emit(e, MM_ALARM_CLEAR, d, in, !in->notified, true);
			}
			e->dirty = true;
			continue;
		}
		e->inst[j++] = *in;
	}
	if (j != e->ninst)
		e->idx_valid = false;
	e->ninst = j;
}

size_t mm_alarm_eval(struct mm_alarm_engine *e, const struct mm_registry *r, int64_t now_ms,
		     const struct mm_alarm_event **out)
{
	e->nev = 0;
	if (!e->started_ms)
		e->started_ms = now_ms;
	if (e->defs) {
		prune_silences(e, now_ms / 1000);
		for (size_t i = 0; i < e->defs->n; i++) {
			const struct mm_alarm_def *d = &e->defs->v[i];
			if (!d->enable || now_ms < e->next_ms[i])
				continue;
			/* next due counted from now: a stall never makes a burst */
			e->next_ms[i] = now_ms + d->statinterval_ms;
			eval_def(e, d, r, now_ms);
		}
	}
	*out = e->ev;
	return e->nev;
}

int64_t mm_alarm_next_due(const struct mm_alarm_engine *e)
{
	int64_t best = INT64_MAX;
	if (!e->defs)
		return best;
	for (size_t i = 0; i < e->defs->n; i++)
		if (e->defs->v[i].enable && e->next_ms[i] < best)
			best = e->next_ms[i];
	return best;
}

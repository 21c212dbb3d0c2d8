/*
 * hist_batch: registry snapshot -> history samples (see hist_batch.h).
 */
#include "history/hist_batch.h"

#include <stdlib.h>
#include <string.h>

#include "core/strbuf.h"
#include "core/xalloc.h"

void mm_hist_batch_add(struct mm_hist_batch *b, const char *key, const char *name, double v,
		       bool counter)
{
	b->s = xgrow(b->s, &b->cap, b->n + 1, sizeof *b->s);
	b->s[b->n++] = (struct mm_hist_sample){
		.key = xstrdup(key), .name = xstrdup(name), .v = v, .counter = counter};
}

/* name+suffix and its key with the series' labels. */
static void add_series(struct mm_hist_batch *b, struct mm_strbuf *name, struct mm_strbuf *key,
		       const struct mm_metric_def *def, const struct mm_series *s, size_t nl,
		       const char *suffix, double v, bool counter)
{
	mm_strbuf_reset(name);
	mm_strbuf_adds(name, def->name);
	mm_strbuf_adds(name, suffix);
	mm_strbuf_reset(key);
	mm_strbuf_adds(key, name->p);
	for (size_t i = 0; i < nl; i++) {
		mm_strbuf_addc(key, i ? ',' : '{');
		mm_strbuf_adds(key, def->labels[i]);
		mm_strbuf_adds(key, "=\"");
		for (const char *c = s->lv[i] ? s->lv[i] : ""; *c; c++) {
			if (*c == '\\' || *c == '"')
				mm_strbuf_addc(key, '\\');
			if (*c == '\n')
				mm_strbuf_adds(key, "\\n");
			else
				mm_strbuf_addc(key, *c);
		}
		mm_strbuf_addc(key, '"');
	}
	if (nl)
		mm_strbuf_addc(key, '}');
	mm_hist_batch_add(b, key->p, name->p, v, counter);
}

void mm_hist_batch_fill(struct mm_hist_batch *b, const struct mm_registry *r, int64_t t)
{
	struct mm_strbuf name, key;
	mm_strbuf_init(&name, 0);
	mm_strbuf_init(&key, 0);
	b->t = t;
	for (size_t f = 0; f < mm_registry_nfamilies(r); f++) {
		const struct mm_metric *m = mm_registry_family(r, f);
		const struct mm_metric_def *def = mm_metric_def(m);
		size_t nl = mm_metric_nlabels(m);
		for (size_t i = 0; i < mm_metric_nseries(m); i++) {
			const struct mm_series *s = mm_metric_series(m, i);
			if (def->type == MM_METRIC_HISTOGRAM) {
				add_series(b, &name, &key, def, s, nl, "_count", (double)s->count,
					   true);
				add_series(b, &name, &key, def, s, nl, "_sum", s->sum, true);
			} else {
				add_series(b, &name, &key, def, s, nl, "", s->value,
					   def->type == MM_METRIC_COUNTER);
			}
		}
	}
	mm_strbuf_free(&name);
	mm_strbuf_free(&key);
}

void mm_hist_batch_free(struct mm_hist_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free((char *)b->s[i].key);
		free((char *)b->s[i].name);
	}
	free(b->s);
	memset(b, 0, sizeof *b);
}

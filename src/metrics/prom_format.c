/*
 * prom_format: text format 0.0.4 writer (see prom_format.h).
 */
#include "metrics/prom_format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/registry.h"

static void put(mm_write_fn *w, void *arg, const char *s)
{
	w(arg, s, strlen(s));
}

void mm_prom_value(double v, char *buf, size_t cap)
{
	if (isnan(v))
		snprintf(buf, cap, "NaN");
	else if (isinf(v))
		snprintf(buf, cap, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		snprintf(buf, cap, "%.0f", v);
	else {
		/* The shortest form that reads back as the same double. */
		for (int prec = 6; prec <= 17; prec++) {
			snprintf(buf, cap, "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	}
}

/* HELP text escapes only \ and newline; label values also the quote. */
static void put_escaped(mm_write_fn *w, void *arg, const char *s, bool quote)
{
	const char *start = s;
	for (; *s; s++) {
		const char *rep = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n"
							   : (quote && *s == '"') ? "\\\"" : NULL;
		if (!rep)
			continue;
		w(arg, start, (size_t)(s - start));
		put(w, arg, rep);
		start = s + 1;
	}
	w(arg, start, (size_t)(s - start));
}

/* name{l1="v1",...,extra="x"} value */
static void put_sample(mm_write_fn *w, void *arg, const char *name, const char *suffix,
		       const struct mm_metric_def *def, const struct mm_series *s, size_t nl,
		       const char *extra_name, const char *extra_val, double v)
{
	put(w, arg, name);
	put(w, arg, suffix);
	if (nl || extra_name) {
		put(w, arg, "{");
		for (size_t i = 0; i < nl; i++) {
			if (i)
				put(w, arg, ",");
			put(w, arg, def->labels[i]);
			put(w, arg, "=\"");
			put_escaped(w, arg, s->lv[i], true);
			put(w, arg, "\"");
		}
		if (extra_name) {
			if (nl)
				put(w, arg, ",");
			put(w, arg, extra_name);
			put(w, arg, "=\"");
			put(w, arg, extra_val);
			put(w, arg, "\"");
		}
		put(w, arg, "}");
	}
	char num[48];
	mm_prom_value(v, num, sizeof num);
	put(w, arg, " ");
	put(w, arg, num);
	put(w, arg, "\n");
}

static void put_family(const struct mm_metric *m, mm_write_fn *w, void *arg)
{
	const struct mm_metric_def *def = mm_metric_def(m);
	size_t n = mm_metric_nseries(m), nl = mm_metric_nlabels(m);
	if (n == 0)
		return;
	put(w, arg, "# HELP ");
	put(w, arg, def->name);
	put(w, arg, " ");
	put_escaped(w, arg, def->help, false);
	put(w, arg, "\n# TYPE ");
	put(w, arg, def->name);
	put(w, arg, def->type == MM_METRIC_COUNTER     ? " counter\n"
		    : def->type == MM_METRIC_HISTOGRAM ? " histogram\n"
						       : " gauge\n");
	for (size_t i = 0; i < n; i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		if (def->type != MM_METRIC_HISTOGRAM) {
			put_sample(w, arg, def->name, "", def, s, nl, NULL, NULL, s->value);
			continue;
		}
		uint64_t cum = 0;
		for (size_t b = 0; b <= def->nbuckets; b++) {
			char le[48];
			if (b < def->nbuckets)
				mm_prom_value(def->buckets[b], le, sizeof le);
			else
				snprintf(le, sizeof le, "+Inf");
			cum += s->buckets[b];
			put_sample(w, arg, def->name, "_bucket", def, s, nl, "le", le, (double)cum);
		}
		put_sample(w, arg, def->name, "_sum", def, s, nl, NULL, NULL, s->sum);
		put_sample(w, arg, def->name, "_count", def, s, nl, NULL, NULL, (double)s->count);
	}
}

void mm_prom_write(const struct mm_registry *r, mm_write_fn *write, void *arg)
{
	for (size_t i = 0; i < mm_registry_nfamilies(r); i++)
		put_family(mm_registry_family(r, i), write, arg);
}

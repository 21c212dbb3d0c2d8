/*
 * json_format: registry readers that answer in JSON (see json_format.h).
 */
#include "metrics/json_format.h"

#include <fnmatch.h>
#include <math.h>
#include <string.h>

#include "metrics/registry.h"
#include "metrics/selector.h"

int mm_metrics_name_matches(const char *name, const char *pattern)
{
	if (!pattern || !*pattern)
		return 1;
	if (strpbrk(pattern, "*?["))
		return fnmatch(pattern, name, 0) == 0;
	return strstr(name, pattern) != NULL;
}

json_t *mm_metrics_families_json(const struct mm_registry *r, const char *pattern)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < mm_registry_nfamilies(r); i++) {
		const struct mm_metric *m = mm_registry_family(r, i);
		const struct mm_metric_def *def = mm_metric_def(m);
		if (!mm_metrics_name_matches(def->name, pattern))
			continue;
		json_t *labels = json_array();
		for (size_t k = 0; k < mm_metric_nlabels(m); k++)
			json_array_append_new(labels, json_string(def->labels[k]));
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:I}", "name", def->name, "type",
				       mm_metric_type_name(def->type), "help", def->help, "labels",
				       labels, "series", (json_int_t)mm_metric_nseries(m), "max_series",
				       (json_int_t)(def->max_series ? def->max_series
								    : MM_METRIC_DEFAULT_SERIES),
				       "folded", (json_int_t)mm_metric_folded(m)));
	}
	return arr;
}

/* JSON has no NaN or infinity: those become null. */
static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *series_json(const struct mm_metric *m, const struct mm_series *s)
{
	const struct mm_metric_def *def = mm_metric_def(m);
	json_t *labels = json_object();
	for (size_t k = 0; k < mm_metric_nlabels(m); k++)
		json_object_set_new(labels, def->labels[k], json_string(s->lv[k]));
	json_t *o = json_pack("{s:s, s:o}", "name", def->name, "labels", labels);
	if (def->type != MM_METRIC_HISTOGRAM) {
		json_object_set_new(o, "value", num(s->value));
		return o;
	}
	json_t *b = json_array();
	uint64_t cum = 0;
	for (size_t i = 0; i <= def->nbuckets; i++) {
		cum += s->buckets[i];
		json_array_append_new(b, json_pack("{s:o, s:I}", "le",
						   i < def->nbuckets ? json_real(def->buckets[i])
								     : json_string("+Inf"),
						   "count", (json_int_t)cum));
	}
	json_object_set_new(o, "count", json_integer((json_int_t)s->count));
	json_object_set_new(o, "sum", num(s->sum));
	json_object_set_new(o, "buckets", b);
	return o;
}

json_t *mm_metrics_series_json(const struct mm_registry *r, const struct mm_selector *sel)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < mm_registry_nfamilies(r); i++) {
		const struct mm_metric *m = mm_registry_family(r, i);
		if (strcmp(mm_metric_def(m)->name, sel->name) != 0)
			continue;
		for (size_t k = 0; k < mm_metric_nseries(m); k++) {
			const struct mm_series *s = mm_metric_series(m, k);
			if (mm_selector_match(sel, m, s))
				json_array_append_new(arr, series_json(m, s));
		}
	}
	return arr;
}

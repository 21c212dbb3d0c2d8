/*
 * hist_json: a history query answer as JSON (see hist_json.h).
 */
#include "history/hist_json.h"

#include <math.h>

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* The stored key's labels as an object (the key is a selector). */
static json_t *labels_of(const char *key)
{
	json_t *o = json_object();
	struct mm_selector ks;
	struct mm_err e;
	if (mm_selector_parse(key, &ks, &e) < 0)
		return o;
	for (size_t i = 0; i < ks.n; i++)
		json_object_set_new(o, ks.m[i].label, json_string(ks.m[i].value));
	mm_selector_free(&ks);
	return o;
}

json_t *mm_hist_result_json(const struct mm_hist_result *r, const char *selector)
{
	json_t *series = json_array();
	for (size_t i = 0; i < r->nseries; i++) {
		const struct mm_hist_series *s = &r->series[i];
		json_t *pts = json_array();
		for (size_t k = 0; k < s->npts; k++) {
			const struct mm_hist_point *p = &s->pts[k];
			json_array_append_new(
				pts, json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "t",
					       (json_int_t)p->t, "n", (json_int_t)p->n, "min",
					       num(p->min), "avg", num(p->avg), "max", num(p->max),
					       "last", num(p->last), "rate", num(p->rate)));
		}
		json_array_append_new(series,
				      json_pack("{s:s, s:s, s:o, s:s, s:b, s:o}", "key", s->key,
						"name", s->name, "labels", labels_of(s->key), "type",
						s->counter ? "counter" : "gauge", "truncated",
						s->truncated, "points", pts));
	}
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:b, s:o}", "metric", selector, "from",
			 (json_int_t)r->from, "to", (json_int_t)r->to, "step", (json_int_t)r->step,
			 "resolution", (json_int_t)r->resolution, "truncated", r->truncated,
			 "series", series);
}

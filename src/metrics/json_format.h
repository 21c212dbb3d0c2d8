/*
 * json_format: the registry as JSON, for `mailmon metrics` and the API
 * readers (/api/metrics): the list of families, and the series that a
 * selector matches.
 *
 *   mm_metrics_families_json(r, pattern)  [{name, type, help, labels,
 *        series, folded}], families whose name matches the shell pattern
 *        (fnmatch) or, without wildcards, contains it; NULL pattern: all
 *   mm_metrics_series_json(r, sel)  [{name, labels: {..}, value}] (a
 *        histogram gives count, sum and cumulative buckets instead)
 *
 * Ownership: new references for the caller.
 */
#ifndef MAILMON_METRICS_JSON_FORMAT_H
#define MAILMON_METRICS_JSON_FORMAT_H

#include <jansson.h>

struct mm_registry;
struct mm_selector;

json_t *mm_metrics_families_json(const struct mm_registry *r, const char *pattern);
json_t *mm_metrics_series_json(const struct mm_registry *r, const struct mm_selector *sel);
/* True when name matches pattern as mm_metrics_families_json() means. */
int mm_metrics_name_matches(const char *name, const char *pattern);

#endif

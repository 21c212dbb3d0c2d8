/* fuzz_selector: the series selector parser (alarm `metric =`, `mailmon
 * metrics --values`, /api/metrics?match=) on arbitrary strings, then a
 * match against a small registry whose label values are the same bytes:
 * no crash, the error names the selector, a parsed selector matches only
 * its own family, and every label value in the registry is valid UTF-8. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "metrics/registry.h"
#include "metrics/selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct mm_metric_def def = {.name = "f_queue", .help = "fuzz",
					 .type = MM_METRIC_GAUGE,
					 .labels = {"queue", "destination"}, .max_series = 4};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct mm_err err;
	struct mm_registry *r = mm_registry_new();
	struct mm_metric *m = mm_registry_add(r, &def, &err);
	if (!m)
		abort();
	/* Label values from the input: split on the first byte 0x01. */
	char *cut = memchr(s, 1, size);
	const char *lv[] = {s, cut ? cut + 1 : "deferred"};
	for (int i = 0; i < 6; i++)
		mm_metric_set(m, lv, i);
	for (size_t i = 0; i < mm_metric_nseries(m); i++)
		for (size_t k = 0; k < 2; k++) {
			const char *v = mm_metric_series(m, i)->lv[k];
			if (!mm_utf8_valid(v, strlen(v)) || strlen(v) > MM_METRIC_VALUE_MAX)
				abort();
		}
	struct mm_selector sel;
	if (mm_selector_parse(s, &sel, &err) == 0) {
		for (size_t i = 0; i < mm_metric_nseries(m); i++)
			if (mm_selector_match(&sel, m, mm_metric_series(m, i)) &&
			    strcmp(sel.name, "f_queue") != 0)
				abort();
		mm_selector_check(&sel, r, &err);
		mm_selector_free(&sel);
	} else if (!strstr(err.msg, "selector")) {
		abort();
	}
	mm_registry_free(r);
	free(s);
	return 0;
}

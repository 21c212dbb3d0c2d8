/*
 * selector: a series selector in PromQL's simple form, for everything
 * that names registry series in config or on the command line (alarms'
 * `metric`, `mailmon history`, /api/v1/metrics?match=):
 *
 *   mailmon_queue_messages
 *   mailmon_queue_messages{queue="deferred"}
 *   mailmon_queue_destination_messages{queue="deferred",destination!="other"}
 *   mailmon_service_up{service=~"imap.*"}
 *
 * Matchers are =, !=, =~ and !~ (POSIX extended regex, anchored as in
 * PromQL). Values are double-quoted with \" \\ \n escapes.
 *
 *   mm_selector_parse(text, sel, err)  -1 with err naming the column
 *   mm_selector_match(sel, m, s)       does series s of family m match?
 *   mm_matcher_test(mt, value)         does one label value satisfy mt?
 *   mm_selector_free(sel)
 *
 * Ownership: the selector owns its strings and compiled regexes.
 */
#ifndef MAILMON_METRICS_SELECTOR_H
#define MAILMON_METRICS_SELECTOR_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "metrics/registry.h"

#define MM_SELECTOR_MAX_MATCHERS 8

enum mm_match_op { MM_MATCH_EQ, MM_MATCH_NE, MM_MATCH_RE, MM_MATCH_NRE };

struct mm_matcher {
	char *label;
	char *value;
	enum mm_match_op op;
	regex_t re; /* for =~ and !~ */
};

struct mm_selector {
	char *name;
	struct mm_matcher m[MM_SELECTOR_MAX_MATCHERS];
	size_t n;
};

int mm_selector_parse(const char *text, struct mm_selector *sel, struct mm_err *err);
void mm_selector_free(struct mm_selector *sel);
/* Whether the family's name is the selector's and the series' labels
 * satisfy every matcher (a label the family lacks counts as ""). */
bool mm_selector_match(const struct mm_selector *sel, const struct mm_metric *m,
		       const struct mm_series *s);
/* Whether one label value v satisfies matcher mt (for readers that keep
 * labels outside the registry, such as the history). */
bool mm_matcher_test(const struct mm_matcher *mt, const char *v);
/* Checks that a matching family exists in r and names every label of the
 * selector; err says which part does not. */
int mm_selector_check(const struct mm_selector *sel, const struct mm_registry *r,
		      struct mm_err *err);

#endif

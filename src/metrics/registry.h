/*
 * registry: the one store of mailmon's measurements (the spine of
 * DESIGN.md). Every source publishes its values here once; every output
 * (Prometheus /metrics, `mailmon metrics`, alarms, history, SNMP, the
 * dashboard) reads the same families and formats them.
 *
 * A family has a name (Prometheus conventions: mailmon_ prefix, base units,
 * _total on counters), help text, a type and fixed label names. Each
 * family holds at most max_series series; past the cap a new series has
 * its fold label (the last label by default) replaced by "other" and its
 * value summed into that series, and the fold is counted.
 *
 * Publishing. Modules register a collector: mm_registry_collect() runs
 * every collector, inside the event loop, and each collector writes the
 * module's current values with mm_metric_set/add/set_state. A family
 * written by a collector is replaced at each collection: series it did
 * not write this time are dropped (a service removed, a destination that
 * left the top N). Values can also be pushed outside collection
 * (mm_metric_observe for histograms of events); such families keep their
 * series.
 *
 * Reading. After mm_registry_collect() returns, the readers walk the
 * families and series; nothing changes them until the next collection, so
 * a reader that runs in the same loop callback sees one consistent
 * snapshot. The registry is not thread-safe: the loop thread only.
 *
 * Label values are outside input (log text): they are cut to
 * MM_METRIC_VALUE_MAX bytes and invalid UTF-8 is replaced, so every
 * formatter may assume short, valid UTF-8.
 *
 * Ownership: the registry owns families, series and label copies. Family
 * definitions (struct mm_metric_def) are not copied: they must outlive
 * the registry (static tables).
 */
#ifndef MAILMON_METRICS_REGISTRY_H
#define MAILMON_METRICS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MM_METRIC_MAX_LABELS 4
#define MM_METRIC_VALUE_MAX 128 /* bytes of one label value, after cleaning */
#define MM_METRIC_DEFAULT_SERIES 1000
#define MM_METRIC_MAX_BUCKETS 32

enum mm_metric_type {
	MM_METRIC_COUNTER,
	MM_METRIC_GAUGE,
	MM_METRIC_HISTOGRAM,
	MM_METRIC_STATESET, /* one series per state, value 1 for the current one */
};

struct mm_metric_def {
	const char *name;
	const char *help;
	enum mm_metric_type type;
	/* Label names, NULL-terminated. A state set's last label is its state
	 * label and is not passed by publishers (mm_metric_set_state). */
	const char *labels[MM_METRIC_MAX_LABELS + 1];
	size_t max_series; /* 0: MM_METRIC_DEFAULT_SERIES */
	int fold_label;	   /* which label folds to "other", 1-based; 0: the last */
	const double *buckets; /* histogram upper bounds, ascending, no +Inf */
	size_t nbuckets;
	const char *const *states; /* state set: the states, in order */
	size_t nstates;
};

struct mm_series {
	char *lv[MM_METRIC_MAX_LABELS]; /* label values, as many as labels */
	double value;			/* counter, gauge, one state set row */
	uint64_t *buckets;		/* histogram: per bucket (not cumulative) */
	uint64_t count;			/* histogram observations */
	double sum;			/* histogram sum of observations */
	uint64_t gen;			/* collection that last wrote it */
	bool folded;			/* the "other" series of folded values */
};

struct mm_metric; /* a family */
struct mm_registry;

typedef void mm_collect_fn(void *arg, struct mm_registry *r);

struct mm_registry *mm_registry_new(void);
void mm_registry_free(struct mm_registry *r);

/* Adds a family, or returns the one of that name when its definition is
 * the same. NULL with err: bad name or label, or the name is taken by a
 * different definition. */
struct mm_metric *mm_registry_add(struct mm_registry *r, const struct mm_metric_def *def,
				  struct mm_err *err);
/* Adds every family of a table; the handles go to out[i] (may be NULL).
 * Returns -1 with err at the first bad one. */
int mm_registry_add_all(struct mm_registry *r, const struct mm_metric_def *defs, size_t n,
			struct mm_metric **out, struct mm_err *err);

/* Collectors run in the order added. arg identifies the collector for
 * removal (a module frees itself). */
void mm_registry_add_collector(struct mm_registry *r, mm_collect_fn *fn, void *arg);
void mm_registry_remove_collector(struct mm_registry *r, void *arg);
/* Runs every collector, then drops series its families did not write. */
void mm_registry_collect(struct mm_registry *r);

/* Publishing. lv holds one value per label (NULL for a family without
 * labels); a NULL value is written as "". */
void mm_metric_set(struct mm_metric *m, const char *const *lv, double v);
void mm_metric_add(struct mm_metric *m, const char *const *lv, double v);
void mm_metric_observe(struct mm_metric *m, const char *const *lv, double v);
/* A histogram's state as the module keeps it: per-bucket counts (not
 * cumulative, def->nbuckets + 1 with the +Inf bucket last), count, sum. */
void mm_metric_set_histogram(struct mm_metric *m, const char *const *lv,
			     const uint64_t *buckets, uint64_t count, double sum);
/* Sets the state set's current state (one of def->states). */
void mm_metric_set_state(struct mm_metric *m, const char *const *lv, const char *state);

/* Reading. */
size_t mm_registry_nfamilies(const struct mm_registry *r);
const struct mm_metric *mm_registry_family(const struct mm_registry *r, size_t i);
const struct mm_metric *mm_registry_find(const struct mm_registry *r, const char *name);
const struct mm_metric_def *mm_metric_def(const struct mm_metric *m);
size_t mm_metric_nlabels(const struct mm_metric *m);
size_t mm_metric_nseries(const struct mm_metric *m);
const struct mm_series *mm_metric_series(const struct mm_metric *m, size_t i);
/* Series that were folded into "other" because of the cap, ever. */
uint64_t mm_metric_folded(const struct mm_metric *m);
/* The series whose label values equal lv, or NULL. */
const struct mm_series *mm_metric_lookup(const struct mm_metric *m, const char *const *lv);
const char *mm_metric_type_name(enum mm_metric_type t);
/* The value of family name's series lv in the last collection; false when
 * there is no such family or series (a reader that shows "unknown"). */
bool mm_registry_value(const struct mm_registry *r, const char *name, const char *const *lv,
		       double *out);
/* Collections run so far. */
uint64_t mm_registry_generation(const struct mm_registry *r);

#endif

/*
 * alarm_def: the alarms a config defines, read and checked.
 *
 * One struct mm_alarm_def per [alarm.NAME] section: the built-in alarms
 * (a section of their own in alarm_schema.c, on unless enable = no) and
 * every [alarm.NAME] the file adds. The metric key is a registry series
 * selector (metrics/selector.h), bare or wrapped in a function:
 *
 *   SELECTOR             the series' value
 *   delta(SELECTOR)      its change since the previous sample
 *   rate(SELECTOR)       that change per second
 *   unchanged(SELECTOR)  seconds since the value last changed
 *
 *   mm_alarm_defs_load(conf, defs, diags)  every problem as one diagnostic
 *                        "FILE:LINE: [alarm.NAME] key: what is wrong"
 *   mm_alarm_defs_check_registry(defs, reg, diags)
 *                        selectors the user wrote must name a family that
 *                        exists with those labels (built-in alarms whose
 *                        family is absent simply have no instance)
 *
 * Ownership: struct mm_alarm_defs owns its defs and their selectors.
 */
#ifndef MAILMON_ALARM_ALARM_DEF_H
#define MAILMON_ALARM_ALARM_DEF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "metrics/registry.h"
#include "metrics/selector.h"

#define MM_ALARM_NAME_MAX 64
#define MM_ALARM_TEXT_MAX 256

enum mm_alarm_fn { MM_AF_VALUE, MM_AF_DELTA, MM_AF_RATE, MM_AF_UNCHANGED };

struct mm_alarm_def {
	char name[MM_ALARM_NAME_MAX];
	bool enable;
	bool builtin;
	bool metric_set; /* metric written in the file (checked strictly) */
	int metric_line;
	char metric[MM_ALARM_TEXT_MAX];
	enum mm_alarm_fn fn;
	struct mm_selector sel;
	int64_t statinterval_ms;
	double threshold;
	int direction; /* 1 above, -1 below */
	int cycles_n, cycles_m;
	char severity[16];
	int64_t warninginterval_ms;
	char description[MM_ALARM_TEXT_MAX];
};

struct mm_alarm_defs {
	struct mm_alarm_def *v;
	size_t n;
	char *path; /* config file, for diagnostics */
};

/* Returns the number of problems (0: defs filled, caller frees). */
size_t mm_alarm_defs_load(const struct mm_config *conf, struct mm_alarm_defs *defs,
			  struct mm_diags *diags);
/* Returns the number of problems added. */
size_t mm_alarm_defs_check_registry(const struct mm_alarm_defs *defs,
				    const struct mm_registry *reg, struct mm_diags *diags);
void mm_alarm_defs_free(struct mm_alarm_defs *defs);
/* Loads and frees: what `mailmon config check` and `mailmond --check`
 * can say without a running registry. Returns the number of problems. */
size_t mm_alarm_defs_check(const struct mm_config *conf, struct mm_diags *diags);
const struct mm_alarm_def *mm_alarm_defs_find(const struct mm_alarm_defs *defs,
					      const char *name);
const char *mm_alarm_fn_name(enum mm_alarm_fn fn);

#endif

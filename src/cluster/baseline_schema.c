/*
 * baseline_schema: the config rows of the baseline ([baseline]): the
 * expected range of the queue size, the inflow and the deferral rate per
 * hour of the week, and the departure from it (docs/cluster.md). See
 * core/config_schema.h for the row format.
 */
#include "core/config_schema.h"

static const struct mm_conf_section baseline_sections[] = {
	{"baseline", "The expected range of the queue size, the inflow and the deferral\n"
		     "rate for this hour of the week, from the last 14 days of the metric\n"
		     "history ([history] must be on), with a fallback for less history;\n"
		     "alarm.baselinedeparture fires when a current value leaves it\n"
		     "(docs/cluster.md, \"Baseline\")."},
};

static const struct mm_conf_key baseline_keys[] = {
	{"baseline", "enable", MM_CT_BOOL, "yes", 0, 0, NULL, false,
	 "Compute the baseline (at start, at each new hour and after a\n"
	 "reload, on a thread of its own) and compare the current values."},
	{"baseline", "interval", MM_CT_DURATION, "10s", 1000, 600000, NULL, true,
	 "How often the current values are compared with the baseline."},
	{"baseline", "rate_window", MM_CT_DURATION, "5m", 60000, 3600000, NULL, true,
	 "The current inflow and deferral rate are the change of their\n"
	 "counters over this window (the history's 5-minute buckets are\n"
	 "what the baseline is made of)."},
	{"baseline", "queue_slack", MM_CT_NUMBER, "50", 0, 1000000000, NULL, true,
	 "Messages beyond the queue size's range (plus half its width) that\n"
	 "are still no departure, so that a quiet range of 0 does not fire\n"
	 "on a few messages."},
	{"baseline", "inflow_slack", MM_CT_NUMBER, "20", 0, 1000000000, NULL, true,
	 "The same for the inflow, in messages accepted per minute."},
	{"baseline", "deferral_slack", MM_CT_NUMBER, "10", 0, 1000000000, NULL, true,
	 "The same for the deferral rate, in deferrals per minute."},
};

const struct mm_conf_table mm_conf_table_baseline =
	MM_CONF_TABLE("baseline", baseline_sections, baseline_keys);

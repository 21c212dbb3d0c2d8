/*
 * cpu_schema: the config rows of the CPU monitor ([cpu]); see
 * core/config_schema.h for the row format.
 */
#include "core/config_schema.h"

static const struct mm_conf_section cpu_sections[] = {
	{"cpu", "The CPU monitor: the system's busy share of all CPUs and its load\n"
		"average (mailmon_cpu_*, mailmon_load_average), from /proc. CPU per\n"
		"service comes from the process checks of [service.NAME]. The built-in\n"
		"alarms cpu and servicecpu raise on a sustained high."},
};

static const struct mm_conf_key cpu_keys[] = {
	{"cpu", "interval", MM_CT_DURATION, "10s", 1000, 3600000, NULL, true,
	 "How often /proc/stat and /proc/loadavg are read; the busy share is\n"
	 "over this interval."},
};

const struct mm_conf_table mm_conf_table_cpu = MM_CONF_TABLE("cpu", cpu_sections, cpu_keys);

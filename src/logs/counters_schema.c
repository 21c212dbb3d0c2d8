/*
 * counters_schema: the config rows of the RFC 2789 counters file
 * ([counters]); see core/config_schema.h for the row format.
 */
#include "core/config_schema.h"

#define DUR_MAX MM_CONF_DUR_MAX

static const struct mm_conf_section counters_sections[] = {
	{"counters", "RFC 2789 channel counters (mailmon counters): the memory-mapped file\n"
		     "mailmond keeps current and mailmon counters -show reads."},
};

static const struct mm_conf_key counters_keys[] = {
	{"counters", "file", MM_CT_PATH, NULL, 0, 0, NULL, false,
	 "The counters file. Unset: RUN_DIRECTORY/counters, where RUN_DIRECTORY\n"
	 "is [daemon] run_directory."},
	{"counters", "max_channels", MM_CT_INT, "256", 8, 4096, NULL, false,
	 "Channel groups in a newly created counters file; once full, further\n"
	 "channels are counted in the group \"other\"."},
};

const struct mm_conf_table mm_conf_table_counters = MM_CONF_TABLE("counters", counters_sections, counters_keys);

/*
 * history_schema: the config rows of the metric history ([history]); see
 * core/config_schema.h for the row format.
 */
#include "core/config_schema.h"

static const struct mm_conf_section history_sections[] = {
	{"history", "The metric history: every series of the metric registry sampled every\n"
		    "10 s into SQLite (kept 2 days), rolled up to 1 min (30 days) and 1 h\n"
		    "(2 years) with min/avg/max. Read it with mailmon history or\n"
		    "GET /api/v1/history."},
};

static const struct mm_conf_key history_keys[] = {
	{"history", "enable", MM_CT_BOOL, "yes", 0, 0, NULL, false,
	 "Whether mailmond keeps the history at all."},
	{"history", "file", MM_CT_PATH, NULL, 0, 0, NULL, false,
	 "The SQLite database. Unset: STATE_DIRECTORY/history.db, where\n"
	 "STATE_DIRECTORY is [daemon] state_directory."},
	{"history", "max_size", MM_CT_SIZE, "2G", 0, 0, NULL, true,
	 "Bound on the database: past it the oldest days go first, 10 s data\n"
	 "before 1 min data before 1 h data (0: no bound)."},
};

const struct mm_conf_table mm_conf_table_history =
	MM_CONF_TABLE("history", history_sections, history_keys);

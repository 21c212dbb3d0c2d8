/*
 * queue_schema: the config rows of the MTA backend ([mta]) and the queue
 * scanner ([queue]); see core/config_schema.h for the row format.
 */
#include "core/config_schema.h"

#define DUR_MAX MM_CONF_DUR_MAX

static const struct mm_conf_section mta_sections[] = {
	{"mta", "The mail transfer agent being watched. The rest of mailmon learns\n"
		"queue layout, log format and process names from this backend."},
};

static const struct mm_conf_key mta_keys[] = {
	{"mta", "type", MM_CT_ENUM, "postfix", 0, 0, "postfix|exim|msgsrv|none", false,
	 "MTA backend: postfix, exim, msgsrv (Sun/Oracle Messaging Server\n"
	 "logs) or none."},
	{"mta", "config_directory", MM_CT_PATH, "/etc/postfix", 0, 0, NULL, true,
	 "The MTA's configuration directory (postfix -c DIR)."},
	{"mta", "queue_directory", MM_CT_PATH, NULL, 0, 0, NULL, true,
	 "The MTA's queue directory. Unset: asked from the MTA\n"
	 "(postconf -h queue_directory)."},
	{"mta", "command_directory", MM_CT_PATH, "/usr/sbin", 0, 0, NULL, true,
	 "Where the MTA's commands (postconf, postqueue, postsuper) live."},
};

const struct mm_conf_table mm_conf_table_mta = MM_CONF_TABLE("mta", mta_sections, mta_keys);

static const struct mm_conf_section queue_sections[] = {
	{"queue", "The MTA queue scanner: `mailmon qshape`, `mailmon qm` and the daemon's\n"
		  "queue gauges (/api/queue). direct mode reads the queue files (root\n"
		  "or the postfix user; mailmond with [daemon] user reads them through\n"
		  "its root helper); postqueue mode runs `postqueue -j` (any user)."},
};

static const struct mm_conf_key queue_keys[] = {
	{"queue", "enable", MM_CT_BOOL, "yes", 0, 0, NULL, false,
	 "Whether mailmond scans the queue at all."},
	{"queue", "mode", MM_CT_ENUM, "auto", 0, 0, "auto|direct|postqueue", false,
	 "direct reads the queue files, postqueue runs `postqueue -c DIR -j`;\n"
	 "auto uses direct when the queue directories can be read."},
	{"queue", "instances", MM_CT_LIST, NULL, 0, 0, NULL, false,
	 "More Postfix config directories (absolute) whose queues are scanned\n"
	 "besides [mta] config_directory, for multi-instance hosts."},
	{"queue", "scan_interval", MM_CT_DURATION, "10s", 1000, 86400000, NULL, true,
	 "How often mailmond rescans the queue. Rescans read only changed files."},
	{"queue", "full_rescan_interval", MM_CT_DURATION, "10m", 10000, DUR_MAX, NULL, true,
	 "Walk every queue file at least this often, even when change\n"
	 "notifications say nothing changed."},
	{"queue", "top_destinations", MM_CT_INT, "20", 1, 10000, NULL, true,
	 "Destinations kept per queue in the gauges (by message count); the\n"
	 "rest are summed as \"other\"."},
	{"queue", "growth_window", MM_CT_DURATION, "5m", 10000, 86400000, NULL, true,
	 "Period over which growth and drain rates are computed."},
	{"queue", "command_timeout", MM_CT_DURATION, "60s", 1000, 3600000, NULL, true,
	 "Kill postqueue or postconf when it takes longer than this."},
	{"queue", "command_max_bytes", MM_CT_SIZE, "1G", 0, 0, NULL, true,
	 "Kill postqueue when its output exceeds this many bytes."},
};

const struct mm_conf_table mm_conf_table_queue = MM_CONF_TABLE("queue", queue_sections, queue_keys);

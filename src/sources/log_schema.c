/*
 * log_schema: the config rows of the log sources ([log]) and the message
 * lifecycle bounds; see core/config_schema.h for the row format.
 */
#include "core/config_schema.h"

#define DUR_MAX MM_CONF_DUR_MAX

static const struct mm_conf_section logs_sections[] = {
	{"log", "Mail logs to follow. Each source is a file path or \"journal\"."},
};

static const struct mm_conf_key logs_keys[] = {
	{"log", "sources", MM_CT_LIST, "/var/log/mail.log", 0, 0, NULL, true,
	 "Comma-separated log sources: file paths, or \"journal\" for the\n"
	 "systemd journal."},
	{"log", "format", MM_CT_ENUM, "auto", 0, 0, "auto|postfix|msgsrv|dovecot|exim", true,
	 "Log grammar; auto recognises each line's program."},
	{"log", "start_at", MM_CT_ENUM, "end", 0, 0, "beginning|end", true,
	 "Where a source with no saved position starts (first run, new source):\n"
	 "end skips what the log already holds, beginning counts it all. After\n"
	 "that mailmond resumes from the position saved in state_directory, so\n"
	 "lines written while it was stopped are read, and none twice."},
	{"log", "journal_match", MM_CT_LIST, "postfix, dovecot", 0, 0, NULL, true,
	 "For the \"journal\" source: SYSLOG_IDENTIFIER prefixes to take\n"
	 "(\"postfix\" takes postfix/smtpd and postfix-out/smtp), or exact journal\n"
	 "matches FIELD=value such as _SYSTEMD_UNIT=postfix@-.service."},
	{"log", "journal_directory", MM_CT_PATH, NULL, 0, 0, NULL, true,
	 "Read the journal files of this directory instead of the local system\n"
	 "journal (a copied or remote journal)."},
	{"log", "read_limit", MM_CT_SIZE, "4M", 0, 0, NULL, true,
	 "Bytes read per source per loop turn, so a large backlog is worked off\n"
	 "in slices and never stalls the daemon."},
	{"log", "poll_interval", MM_CT_DURATION, "1s", 100, 60000, NULL, true,
	 "How often every source is checked for rotation and new lines (at most\n"
	 "as often as [daemon] heartbeat). New lines are also noticed at once\n"
	 "through inotify and the journal's change notification."},
	{"log", "position_save_interval", MM_CT_DURATION, "1s", 100, 3600000, NULL, true,
	 "How often the reading positions are saved (after the counters are\n"
	 "flushed), and at a clean stop. After a crash, lines since the last\n"
	 "save are read again."},
	{"log", "max_inflight", MM_CT_INT, "100000", 16, 16777216, NULL, false,
	 "Messages tracked at once between arrival and removal (message\n"
	 "lifecycle). When full, the least recently active one is evicted and\n"
	 "counted; memory is about 200 bytes per message."},
	{"log", "inflight_max_age", MM_CT_DURATION, "6d", 60000, DUR_MAX, NULL, false,
	 "A tracked message with no log event for this long (log time) is\n"
	 "expired and counted as an eviction. Postfix keeps a message at most\n"
	 "maximal_queue_lifetime (5d)."},
	{"log", "max_recipients", MM_CT_INT, "200000", 0, 16777216, NULL, false,
	 "Recipient outcomes (address, relay, delays) kept for tracked messages;\n"
	 "beyond this they are counted, not kept. 0 keeps none."},
};

const struct mm_conf_table mm_conf_table_logs = MM_CONF_TABLE("logs", logs_sections, logs_keys);

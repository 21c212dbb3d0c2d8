/*
 * config_schema: the table of every configuration key (see config_schema.h)
 * and the validation of one value against its row.
 *
 * Defaults for the alarm sections are those of Messaging Server's
 * alarm.diskavail and alarm.serverresponse, so a postmaster who knows
 * configutil finds the same behaviour under the same names.
 */
#include "core/config_schema.h"

#include <stdio.h>
#include <string.h>

#include "core/parse.h"

#define DUR_MAX ((int64_t)366 * 86400 * 1000)

const struct mm_conf_section mm_conf_sections[] = {
	{"daemon", "How mailmond runs: where it keeps its pid, state and counters, how much it logs."},
	{"http", "The daemon's HTTP listener: JSON API (/api/...), and later the\n"
		 "Prometheus /metrics and the dashboard. Bind it to loopback unless a\n"
		 "firewall guards it."},
	{"mta", "The mail transfer agent being watched. The rest of mailmon learns\n"
		"queue layout, log format and process names from this backend."},
	{"queue", "The MTA queue scanner: `mailmon qshape`, `mailmon qm` and the daemon's\n"
		  "queue gauges (/api/queue). direct mode reads the queue files (root\n"
		  "or the postfix user); postqueue mode runs `postqueue -j` (any user)."},
	{"log", "Mail logs to follow. Each source is a file path or \"journal\"."},
	{"counters", "RFC 2789 channel counters (mailmon counters): the memory-mapped file\n"
		     "mailmond keeps current and mailmon counters -show reads."},
	{"alarm", "Where alarm mail goes: the seed's alarm.notice* parameters. Alarms\n"
		  "are sent by SMTP to noticehost:noticeport, from noticesender to\n"
		  "noticercpt."},
	{"alarm.diskavail", "Free space on the mail partitions, in percent. Raised when the\n"
			    "available space falls below threshold."},
	{"alarm.serverresponse", "Response time of the mail services, in seconds. Raised when a\n"
				 "service takes longer than threshold to answer."},
	{"service.*", "A watched service (the seed's watcher and msprobe): a protocol probe\n"
		      "URL, the processes that must run, and the commands that heal it.\n"
		      "Example: [service.imap] url = imap://127.0.0.1:143. Commands are\n"
		      "split into argv on blanks (quotes group) and run without a shell\n"
		      "unless shell = yes."},
};
const size_t mm_conf_nsections = sizeof mm_conf_sections / sizeof mm_conf_sections[0];

/* Keys shared by every [alarm.NAME] section, after Messaging Server's
 * msgalarm* parameters. */
#define ALARM_KEYS(sec, interval, thr, thrmax, dir, desc)                                       \
	{sec, "statinterval", MM_CT_DURATION, interval, 1000, DUR_MAX, NULL, true,              \
	 "How often the value is sampled (msgalarmstatinterval)."},                             \
	{sec, "threshold", MM_CT_INT, thr, 0, thrmax, NULL, true,                               \
	 "The alarm level (msgalarmthreshold)."},                                               \
	{sec, "direction", MM_CT_ENUM, dir, 0, 0, "below|above", true,                          \
	 "Raise when the value goes below or above the threshold\n"                             \
	 "(msgalarmthresholddirection -1 or 1)."},                                              \
	{sec, "warninginterval", MM_CT_DURATION, "24h", 0, DUR_MAX, NULL, true,                 \
	 "Repeat a raised alarm this often while it lasts; 0 sends it once\n"                   \
	 "(msgalarmwarninginterval)."},                                                         \
	{sec, "description", MM_CT_STRING, desc, 0, 0, NULL, true,                              \
	 "Text used in alarm mail (msgalarmdescription)."},                                     \
	{sec, "enable", MM_CT_BOOL, "yes", 0, 0, NULL, true, "Whether this alarm is checked at all."}

const struct mm_conf_key mm_conf_keys[] = {
	{"daemon", "pidfile", MM_CT_PATH, "/run/mailmon/mailmond.pid", 0, 0, NULL, false,
	 "Pid file written by mailmond when it runs in the background."},
	{"daemon", "state_directory", MM_CT_PATH, "/var/lib/mailmon", 0, 0, NULL, false,
	 "Saved state: log positions, alarm states, history."},
	{"daemon", "run_directory", MM_CT_PATH, "/run/mailmon", 0, 0, NULL, false,
	 "Run-time files: the counters file and the control socket."},
	{"daemon", "log_level", MM_CT_ENUM, "info", 0, 0, "debug|info|notice|warning|error", true,
	 "Least severe message mailmond logs."},
	{"daemon", "heartbeat", MM_CT_DURATION, "1s", 100, 60000, NULL, false,
	 "Period of the internal clock that drives every periodic check."},

	{"http", "listen", MM_CT_HOSTPORT, "127.0.0.1:9925", 0, 0, NULL, false,
	 "Numeric address and port to listen on."},
	{"http", "enable", MM_CT_BOOL, "yes", 0, 0, NULL, false,
	 "Whether mailmond listens at all; mailmon status needs it."},
	{"http", "timeout", MM_CT_DURATION, "10s", 1000, 300000, NULL, false,
	 "Close a client connection idle this long."},

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

	{"log", "sources", MM_CT_LIST, "/var/log/mail.log", 0, 0, NULL, true,
	 "Comma-separated log sources: file paths, or \"journal\" for the\n"
	 "systemd journal."},
	{"log", "format", MM_CT_ENUM, "auto", 0, 0, "auto|postfix|msgsrv|dovecot", true,
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

	{"counters", "file", MM_CT_PATH, NULL, 0, 0, NULL, false,
	 "The counters file. Unset: RUN_DIRECTORY/counters, where RUN_DIRECTORY\n"
	 "is [daemon] run_directory."},
	{"counters", "max_channels", MM_CT_INT, "256", 8, 4096, NULL, false,
	 "Channel groups in a newly created counters file; once full, further\n"
	 "channels are counted in the group \"other\"."},

	{"alarm", "noticehost", MM_CT_HOST, "127.0.0.1", 0, 0, NULL, true,
	 "SMTP server that alarm mail is handed to (alarm.noticehost)."},
	{"alarm", "noticeport", MM_CT_INT, "25", 1, 65535, NULL, true,
	 "Its port (alarm.noticeport)."},
	{"alarm", "noticesender", MM_CT_MAILBOX, "mailmon@localhost", 0, 0, NULL, true,
	 "Envelope and From address of alarm mail (alarm.noticesender)."},
	{"alarm", "noticercpt", MM_CT_MAILBOX, "postmaster@localhost", 0, 0, NULL, true,
	 "Who receives alarm mail (alarm.noticercpt)."},
	{"alarm", "noticetimeout", MM_CT_DURATION, "30s", 1000, 600000, NULL, true,
	 "Give up handing one alarm mail over after this long."},

	ALARM_KEYS("alarm.diskavail", "1h", "10", 100, "below",
		   "percentage mail partition diskspace available"),
	ALARM_KEYS("alarm.serverresponse", "10m", "10", 86400, "above",
		   "server response time in seconds"),

	{"service.*", "url", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "What to probe: smtp|smtps|submission|lmtp|imap|imaps|pop3|pop3s|http|\n"
	 "https|ldap|ldaps|tcp://HOST:PORT[/PATH]; unset: process checks only.\n"
	 "Give a numeric HOST. See mailmon probe --help."},
	{"service.*", "credentials_file", MM_CT_PATH, NULL, 0, 0, NULL, true,
	 "File with \"user = NAME\" and \"password = SECRET\" lines (LDAP: user is\n"
	 "the bind DN), readable only by mailmond's user."},
	{"service.*", "interval", MM_CT_DURATION, "60s", 1000, 86400000, NULL, true,
	 "How often the service is probed and its processes checked."},
	{"service.*", "connect_timeout", MM_CT_DURATION, "10s", 100, 600000, NULL, true,
	 "Give up connecting after this long."},
	{"service.*", "timeout", MM_CT_DURATION, "30s", 100, 600000, NULL, true,
	 "Give up the whole probe after this long; a timeout counts as a\n"
	 "failed cycle (a hang)."},
	{"service.*", "warning", MM_CT_DURATION, "0", 0, 600000, NULL, true,
	 "Response time above which the service is \"slow\"; 0 turns it off."},
	{"service.*", "starttls", MM_CT_BOOL, "no", 0, 0, NULL, true,
	 "Upgrade the probe with STARTTLS/STLS and fail if it is not offered."},
	{"service.*", "tls_verify", MM_CT_BOOL, "yes", 0, 0, NULL, true,
	 "Verify the server certificate (name or address, chain)."},
	{"service.*", "ca_file", MM_CT_PATH, NULL, 0, 0, NULL, true,
	 "Trust only the CAs in this file (unset: the system store)."},
	{"service.*", "rcpt", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "SMTP/LMTP: try MAIL FROM, RCPT TO this address, RSET (nothing sent)."},
	{"service.*", "mail_from", MM_CT_STRING, "", 0, 0, NULL, true,
	 "SMTP/LMTP: the envelope sender of that transaction (empty: <>)."},
	{"service.*", "helo", MM_CT_STRING, "mailmon.invalid", 0, 0, NULL, true,
	 "SMTP/LMTP: the EHLO/LHLO name."},
	{"service.*", "match", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "HTTP: the body must contain this text."},
	{"service.*", "pidfile", MM_CT_PATH, NULL, 0, 0, NULL, true,
	 "Process check: the pid in this file must be running."},
	{"service.*", "process_name", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "Process check: processes whose name (/proc/PID/comm) is this."},
	{"service.*", "process_cmdline", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "Process check: an extended regex the command line must match."},
	{"service.*", "process_min", MM_CT_INT, "1", 0, 100000, NULL, true,
	 "Fewest matching processes (Postfix master: 1)."},
	{"service.*", "process_max", MM_CT_INT, "0", 0, 100000, NULL, true,
	 "Most matching processes; 0: no limit (Postfix master, qmgr: 1)."},
	{"service.*", "restart", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "Command that restarts the service, e.g. \"/usr/sbin/postfix -c\n"
	 "/etc/postfix start\". Unset: failures are reported, nothing is run."},
	{"service.*", "start", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "Command that starts it (used when its processes are gone and\n"
	 "restart is unset)."},
	{"service.*", "stop", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "Command that stops it (run before start when restart is unset and\n"
	 "the service hangs)."},
	{"service.*", "shell", MM_CT_BOOL, "no", 0, 0, NULL, true,
	 "Run the commands through /bin/sh -c instead of as argv."},
	{"service.*", "command_timeout", MM_CT_DURATION, "60s", 1000, 3600000, NULL, true,
	 "Kill a restart/start/stop command that runs longer than this."},
	{"service.*", "restart_group", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "Services with the same group restart together (the seed's store\n"
	 "restart policy)."},
	{"service.*", "failures", MM_CT_INT, "3", 1, 64, NULL, true,
	 "N: act when N of the last M cycles failed (a hang)."},
	{"service.*", "cycles", MM_CT_INT, "5", 1, 64, NULL, true,
	 "M: the window of cycles for failures."},
	{"service.*", "flap_limit", MM_CT_INT, "3", 1, 64, NULL, true,
	 "K: at most this many restarts per flap_window; then the service is\n"
	 "marked failed and left for a human (local.autorestart.timeout)."},
	{"service.*", "flap_window", MM_CT_DURATION, "1h", 1000, 604800000, NULL, true,
	 "The window of flap_limit."},
	{"service.*", "verify_delay", MM_CT_DURATION, "2s", 0, 600000, NULL, true,
	 "Wait this long after a restart command before re-probing to verify."},
	{"service.*", "autorestart", MM_CT_BOOL, "yes", 0, 0, NULL, true,
	 "Restart on crash or hang; no: only report."},
	{"service.*", "cert_warning_days", MM_CT_INT, "21", 0, 3650, NULL, true,
	 "A TLS probe whose certificate has fewer days left raises a\n"
	 "certificate-expiring event (once, until renewed)."},
};
const size_t mm_conf_nkeys = sizeof mm_conf_keys / sizeof mm_conf_keys[0];

/* "service.*" matches "service.imap" but not "service" or "service.a.b". */
static int section_matches(const char *pattern, const char *section)
{
	size_t plen = strlen(pattern);
	if (plen >= 2 && strcmp(pattern + plen - 2, ".*") == 0) {
		size_t stem = plen - 1; /* keep the dot */
		return strncmp(pattern, section, stem) == 0 && section[stem] != '\0' &&
		       strchr(section + stem, '.') == NULL;
	}
	return strcmp(pattern, section) == 0;
}

const struct mm_conf_section *mm_conf_find_section(const char *section)
{
	for (size_t i = 0; i < mm_conf_nsections; i++)
		if (section_matches(mm_conf_sections[i].name, section))
			return &mm_conf_sections[i];
	return NULL;
}

const struct mm_conf_key *mm_conf_find_key(const char *section, const char *key)
{
	const struct mm_conf_section *sec = mm_conf_find_section(section);
	if (!sec)
		return NULL;
	for (size_t i = 0; i < mm_conf_nkeys; i++)
		if (strcmp(mm_conf_keys[i].section, sec->name) == 0 &&
		    strcmp(mm_conf_keys[i].name, key) == 0)
			return &mm_conf_keys[i];
	return NULL;
}

const char *mm_conf_type_name(enum mm_conf_type type)
{
	switch (type) {
	case MM_CT_STRING: return "string";
	case MM_CT_INT: return "integer";
	case MM_CT_BOOL: return "yes/no";
	case MM_CT_DURATION: return "duration";
	case MM_CT_SIZE: return "size";
	case MM_CT_HOST: return "host";
	case MM_CT_HOSTPORT: return "host:port";
	case MM_CT_MAILBOX: return "mail address";
	case MM_CT_ENUM: return "one of";
	case MM_CT_PATH: return "path";
	case MM_CT_LIST: return "list";
	}
	return "?";
}

static int validate_enum(const struct mm_conf_key *row, const char *value,
			 struct mm_err *err)
{
	const char *p = row->choices;
	size_t vlen = strlen(value);
	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == vlen && strncmp(p, value, len) == 0)
			return 0;
		p = bar ? bar + 1 : NULL;
	}
	return mm_err_set(err, "expected one of %s, got \"%s\"", row->choices, value);
}

int mm_conf_validate(const struct mm_conf_key *row, const char *value,
		     struct mm_err *err)
{
	int64_t i;
	uint64_t u;
	bool b;
	char host[256];
	int port;

	switch (row->type) {
	case MM_CT_STRING:
	case MM_CT_LIST:
		return 0;
	case MM_CT_PATH:
		if (value[0] != '/')
			return mm_err_set(err, "expected an absolute path, got \"%s\"", value);
		return 0;
	case MM_CT_INT:
		return mm_parse_int(value, row->min, row->max, &i, err);
	case MM_CT_BOOL:
		return mm_parse_bool(value, &b, err);
	case MM_CT_DURATION:
		if (mm_parse_duration(value, &i, err) < 0)
			return -1;
		if (i < row->min || i > row->max) {
			char lo[32], hi[32];
			mm_format_duration(row->min, lo, sizeof lo);
			mm_format_duration(row->max, hi, sizeof hi);
			return mm_err_set(err, "%s is out of range (%s..%s)", value, lo, hi);
		}
		return 0;
	case MM_CT_SIZE:
		return mm_parse_size(value, &u, err);
	case MM_CT_HOST:
		return mm_parse_host(value, err);
	case MM_CT_HOSTPORT:
		return mm_parse_hostport(value, 0, host, sizeof host, &port, err);
	case MM_CT_MAILBOX:
		return mm_parse_mailbox(value, false, err);
	case MM_CT_ENUM:
		return validate_enum(row, value, err);
	}
	return mm_err_set(err, "unknown type");
}

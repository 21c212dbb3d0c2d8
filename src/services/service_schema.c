/*
 * service_schema: the config rows of a watched service ([service.NAME]);
 * see core/config_schema.h for the row format.
 */
#include "core/config_schema.h"

#define DUR_MAX MM_CONF_DUR_MAX

static const struct mm_conf_section services_sections[] = {
	{"service.*", "A watched service (the seed's watcher and msprobe): a protocol probe\n"
		      "URL, the processes that must run, and the commands that heal it.\n"
		      "Example: [service.imap] url = imap://127.0.0.1:143. Commands are\n"
		      "split into argv on blanks (quotes group) and run without a shell\n"
		      "unless shell = yes."},
};

static const struct mm_conf_key services_keys[] = {
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
	{"service.*", "parent_pidfile", MM_CT_PATH, NULL, 0, 0, NULL, true,
	 "Process check by name: only children of the pid in this file\n"
	 "(Postfix qmgr of one instance: process_name = qmgr with the\n"
	 "instance's master.pid here)."},
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

const struct mm_conf_table mm_conf_table_services = MM_CONF_TABLE("services", services_sections, services_keys);

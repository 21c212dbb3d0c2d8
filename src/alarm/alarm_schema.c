/*
 * alarm_schema: the config rows of the alarm engine (see
 * core/config_schema.h for the row format).
 *
 *   [alarm]        where notices go: the seed's alarm.notice* parameters,
 *                  plus the digest, retry, Alertmanager and exec channels;
 *   [alarm.NAME]   one alarm: the seed's msgalarm* keys (statinterval,
 *                  threshold, thresholddirection, warninginterval,
 *                  description, enable) plus metric, cycles and severity.
 *
 * The built-in alarms have their own sections, listed before the
 * template [alarm.*], so `mailmon config get alarm.diskavail.threshold`
 * and the commented default config show each built-in's defaults.
 * diskavail and serverresponse keep Messaging Server's defaults.
 */
#include "core/config_schema.h"

#define DUR_MAX MM_CONF_DUR_MAX

/* The keys of one [alarm.NAME] section. metric is NULL for the template
 * (a user alarm must name one). */
#define ALARM_KEYS(sec, metric, interval, thr, tmin, tmax, dir, cycles, severity, desc)                    \
	{sec, "enable", MM_CT_BOOL, "yes", 0, 0, NULL, true,                                    \
	 "Whether this alarm is checked at all (msgalarmenable)."},                             \
	{sec, "metric", MM_CT_STRING, metric, 0, 0, NULL, true,                                 \
	 "What is watched: a registry series selector such as\n"                                \
	 "mailmon_queue_messages{queue=\"deferred\"}, optionally wrapped in\n"                  \
	 "delta(...) (change over statinterval), rate(...) (change per second)\n"               \
	 "or unchanged(...) (seconds since the value last changed). Each series\n"              \
	 "the selector matches is one alarm instance."},                                        \
	{sec, "statinterval", MM_CT_DURATION, interval, 1000, DUR_MAX, NULL, true,              \
	 "How often the value is sampled (msgalarmstatinterval)."},                             \
	{sec, "threshold", MM_CT_NUMBER, thr, tmin, tmax, NULL, true,                           \
	 "The alarm level (msgalarmthreshold)."},                                     \
	{sec, "thresholddirection", MM_CT_ENUM, dir, 0, 0, "above|below|1|-1", true,            \
	 "Raise when the value goes above (1) or below (-1) the threshold\n"                    \
	 "(msgalarmthresholddirection)."},                                                      \
	{sec, "cycles", MM_CT_STRING, cycles, 0, 0, NULL, true,                                 \
	 "N/M: raise when N of the last M samples cross the threshold; clear\n"                 \
	 "when none of the last N does."},                                                      \
	{sec, "severity", MM_CT_ENUM, severity, 0, 0, "warning|critical", true,                 \
	 "Passed to Alertmanager and shown in mail."},                                          \
	{sec, "warninginterval", MM_CT_DURATION, "24h", 0, DUR_MAX, NULL, true,                 \
	 "Repeat a raised alarm this often while it lasts; 0 sends it once\n"                   \
	 "(msgalarmwarninginterval)."},                                                         \
	{sec, "description", MM_CT_STRING, desc, 0, 0, NULL, true,                              \
	 "Text used in alarm mail (msgalarmdescription)."}

static const struct mm_conf_section alarm_sections[] = {
	{"alarm", "Where alarm notices go. Mail: the seed's alarm.notice* parameters,\n"
		  "sent by SMTP to noticehost:noticeport, from noticesender to\n"
		  "noticercpt. A notice that cannot be handed over is queued in the\n"
		  "state directory and retried. Also Alertmanager and an exec hook."},
	{"alarm.diskavail", "Free space on the watched partitions, in percent (mailmon_disk_avail_percent,\n"
			    "from [disk]). Raised when the available space falls below threshold."},
	{"alarm.serverresponse", "Response time of the watched services, in seconds. Raised when a\n"
				 "service takes longer than threshold to answer."},
	{"alarm.queuegrowth", "Deferred queue growth: messages added to the deferred queue per\n"
			      "statinterval, in 2 of 3 samples."},
	{"alarm.oldestmessage", "Age of the oldest message in a queue, in seconds."},
	{"alarm.deferralrate", "Deferrals per second per channel (from the mail log); the mail names\n"
			       "the destinations with the most deferred mail."},
	{"alarm.servicedown", "A watched service is down (its probe or process check fails)."},
	{"alarm.restartsgivenup", "The watcher gave up restarting a service (flap limit reached)."},
	{"alarm.certexpiry", "A service's TLS certificate expires within threshold days."},
	{"alarm.logstopped", "A log source has produced no line for threshold seconds."},
	{"alarm.selferrors", "mailmond's own errors (mailmon_errors_total by kind: checks that\n"
			     "could not run for lack of resources, failed accepts) in the last\n"
			     "statinterval."},
	{"alarm.historyrecovered", "The metric history database was damaged or replaced: mailmond\n"
				   "moved it aside and created a new one (mailmon status says where)."},
	{"alarm.historydown", "The metric history database cannot be written (history up: 1, down: 0)."},
	{"alarm.disklocked", "A partition is locked by [disk] lock_command (it passed lock_threshold)."},
	{"alarm.diskstat", "statvfs of a watched partition timed out (a hung mount?)."},
	{"alarm.cpu", "System CPU busy, as a ratio of all CPUs, sustained (5 of 5 samples)."},
	{"alarm.deliverytime", "End-to-end delivery time of the [e2e.NAME] probes, in seconds: from\n"
			       "the end of DATA to the message visible in the mailbox; after a run\n"
			       "that gave up, the time it waited (mailmon_e2e_last_seconds)."},
	{"alarm.servicecpu", "CPU used by a service's processes, as a fraction of one core,\n"
			     "sustained (5 of 5 samples)."},
	{"alarm.nodeverdict", "The node verdict ([cluster]) is stalled, down or degraded: one\n"
			      "instance per state, raised when the verdict enters it and cleared\n"
			      "when it leaves (mailmon status shows the reasons)."},
	{"alarm.instanceverdict", "The verdict of a Postfix instance ([instance.NAME]) is stalled, down\n"
				  "or degraded: one instance per Postfix instance and state\n"
				  "(\"postfix-out,stalled\"), raised when it enters the state and\n"
				  "cleared when it leaves (mailmon status shows the reasons)."},
	{"alarm.floodeddestination", "A flooded destination ([cluster]): one instance per destination\n"
				     "and delay-reason class (\"dead.test,refused\"); the value is its\n"
				     "queued messages."},
	{"alarm.baselinedeparture", "A figure left its expected range for this hour of the week\n"
				    "([baseline]): one instance per figure (queue, inflow, deferral);\n"
				    "the value is how far beyond the range plus margin it lies, in\n"
				    "the figure's unit (mailmon status shows the range)."},
	{"alarm.isolateddestination", "A destination isolated to the slow transport ([isolate]): one\n"
				      "instance per destination and reason (\"dead.test,refused\"),\n"
				      "raised when it is isolated and cleared when it is released."},
	{"alarm.isolatesetup", "An isolation was refused because the Postfix setup is missing (our\n"
			       "map first in transport_maps, the transport in master.cf); the log\n"
			       "and mailmon isolate --list name what is missing."},
	{"alarm.*", "An alarm of your own: [alarm.NAME] with at least metric and threshold."},
};

static const struct mm_conf_key alarm_keys[] = {
	{"alarm", "noticehost", MM_CT_HOST, "127.0.0.1", 0, 0, NULL, true,
	 "SMTP server that alarm mail is handed to (alarm.noticehost). A\n"
	 "numeric address."},
	{"alarm", "noticeport", MM_CT_INT, "25", 1, 65535, NULL, true,
	 "Its port (alarm.noticeport)."},
	{"alarm", "noticesender", MM_CT_MAILBOX, "mailmon@localhost", 0, 0, NULL, true,
	 "Envelope and From address of alarm mail (alarm.noticesender)."},
	{"alarm", "noticercpt", MM_CT_MAILBOX, "postmaster@localhost", 0, 0, NULL, true,
	 "Who receives alarm mail (alarm.noticercpt)."},
	{"alarm", "noticetimeout", MM_CT_DURATION, "30s", 1000, 600000, NULL, true,
	 "Give up handing one alarm mail over after this long."},
	{"alarm", "noticetemplate", MM_CT_PATH, NULL, 0, 0, NULL, true,
	 "A file whose text replaces the body of alarm mail; ${name} is replaced\n"
	 "by a field: alarm, instance, description, value, time, low, high,\n"
	 "interval, threshold, direction, count, state, cause, command, node."},
	{"alarm", "mail", MM_CT_BOOL, "yes", 0, 0, NULL, true,
	 "Send alarm mail at all."},
	{"alarm", "digest_window", MM_CT_DURATION, "10s", 0, 600000, NULL, true,
	 "Changes are held this long; when more than digest_min arrive in the\n"
	 "window they go out as one digest mail. 0 sends each at once."},
	{"alarm", "digest_min", MM_CT_INT, "3", 1, 10000, NULL, true,
	 "More changes than this within digest_window make a digest."},
	{"alarm", "retry_min", MM_CT_DURATION, "30s", 1000, 86400000, NULL, true,
	 "First retry of a notice that failed; doubled each time up to retry_max."},
	{"alarm", "retry_max", MM_CT_DURATION, "30m", 1000, 86400000, NULL, true,
	 "Longest wait between retries. A queued notice is never dropped."},
	{"alarm", "node", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "This node's name in notices (server instance); unset: the host name."},
	{"alarm", "alertmanager_url", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "Alertmanager base URL (http://127.0.0.1:9093); alarms are POSTed to\n"
	 "its /api/v2/alerts. Unset: not used."},
	{"alarm", "alertmanager_timeout", MM_CT_DURATION, "10s", 100, 600000, NULL, true,
	 "Give up one POST to Alertmanager after this long (then retry)."},
	{"alarm", "exec", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "A command run for each change, split into argv on blanks, with\n"
	 "MAILMON_ALARM, MAILMON_INSTANCE, MAILMON_STATE, MAILMON_VALUE,\n"
	 "MAILMON_THRESHOLD, MAILMON_SEVERITY and MAILMON_DESCRIPTION set."},
	{"alarm", "exec_timeout", MM_CT_DURATION, "30s", 100, 600000, NULL, true,
	 "Kill the exec hook after this long."},
	{"alarm", "diskstattimeout", MM_CT_DURATION, "10s", 100, 600000, NULL, true,
	 "A statvfs of a watched partition that takes longer counts as a\n"
	 "timeout (a hung mount), is alarmed and never blocks mailmond\n"
	 "(alarm.diskstattimeout)."},
	{"alarm", "tick", MM_CT_DURATION, "1s", 100, 60000, NULL, false,
	 "How often the engine looks for alarms due to be sampled."},

	ALARM_KEYS("alarm.diskavail", "mailmon_disk_avail_percent", "1h", "10", 0, 100, "below", "1/1",
		   "critical", "percentage mail partition diskspace available"),
	ALARM_KEYS("alarm.serverresponse", "mailmon_service_response_seconds", "10m", "10", 0, 0,
		   "above", "1/1", "warning", "server response time in seconds"),
	ALARM_KEYS("alarm.queuegrowth", "delta(mailmon_queue_messages{queue=\"deferred\"})", "5m",
		   "100", 0, 0, "above", "2/3", "warning", "deferred queue growth in messages"),
	ALARM_KEYS("alarm.oldestmessage", "mailmon_queue_oldest_age_seconds", "5m", "86400", 0, 0,
		   "above", "1/1", "warning", "age of the oldest queued message in seconds"),
	ALARM_KEYS("alarm.deferralrate", "rate(mailmon_messages_deferred_total)", "5m", "1", 0, 0,
		   "above", "2/3", "warning", "deferrals per second on a channel"),
	ALARM_KEYS("alarm.servicedown", "mailmon_service_up", "1m", "1", 0, 1, "below", "1/1",
		   "critical", "service availability (1 up, 0 down)"),
	ALARM_KEYS("alarm.restartsgivenup", "mailmon_service_state{state=\"failed\"}", "1m", "0", 0, 0, "above",
		   "1/1", "critical", "restarts given up (flap limit)"),
	ALARM_KEYS("alarm.certexpiry", "mailmon_certificate_expiry_days", "1h", "14", 0, 0, "below",
		   "1/1", "warning", "days until the certificate expires"),
	ALARM_KEYS("alarm.logstopped", "unchanged(mailmon_log_lines_total)", "5m", "3600", 0, 0,
		   "above", "1/1", "warning", "seconds since the log source last grew"),
	ALARM_KEYS("alarm.selferrors", "delta(mailmon_errors_total)", "5m", "0", 0, 0, "above", "1/1",
		   "warning", "mailmond errors in the last interval"),
	ALARM_KEYS("alarm.historyrecovered", "delta(mailmon_history_recoveries_total)", "1m", "0", 0,
		   0, "above", "1/1", "warning", "history databases recreated in the last interval"),
	ALARM_KEYS("alarm.historydown", "mailmon_history_up", "1m", "1", 0, 1, "below", "1/1",
		   "warning", "history database writable (1 yes, 0 no)"),
	ALARM_KEYS("alarm.disklocked", "mailmon_disk_locked", "1m", "0", 0, 0, "above", "1/1",
		   "critical", "partition locked (1 locked, 0 open)"),
	ALARM_KEYS("alarm.diskstat", "delta(mailmon_disk_stat_timeouts_total)", "5m", "0", 0, 0,
		   "above", "1/1", "warning", "partition stat timeouts in the last interval"),
	ALARM_KEYS("alarm.cpu", "mailmon_cpu_busy_ratio", "1m", "0.9", 0, 1, "above", "5/5",
		   "warning", "CPU busy ratio"),
	ALARM_KEYS("alarm.deliverytime", "mailmon_e2e_last_seconds{stage=\"delivery\"}", "5m", "60", 0,
		   0, "above", "1/1", "warning", "end-to-end delivery time in seconds"),
	ALARM_KEYS("alarm.servicecpu", "mailmon_process_cpu_ratio", "1m", "0.9", 0, 0, "above",
		   "5/5", "warning", "CPU of the service's processes (1 = one core)"),
	ALARM_KEYS("alarm.nodeverdict", "mailmon_node_verdict{state=~\"stalled|down|degraded\"}",
		   "10s", "0.5", 0, 1, "above", "1/1", "critical", "node verdict (1: in this state)"),
	ALARM_KEYS("alarm.instanceverdict",
		   "mailmon_instance_verdict{state=~\"stalled|down|degraded\"}", "10s", "0.5", 0, 1,
		   "above", "1/1", "critical", "Postfix instance verdict (1: in this state)"),
	ALARM_KEYS("alarm.floodeddestination", "mailmon_flooded_destination_messages", "15s", "0", 0,
		   0, "above", "1/1", "warning", "messages queued for a flooded destination"),
	ALARM_KEYS("alarm.baselinedeparture", "mailmon_baseline_departure", "1m", "0", 0, 0,
		   "above", "3/5", "warning", "departure from the usual range for this hour"),
	ALARM_KEYS("alarm.isolateddestination", "mailmon_isolated_destination", "10s", "0.5", 0, 1,
		   "above", "1/1", "warning", "destination isolated to the slow transport (1: yes)"),
	ALARM_KEYS("alarm.isolatesetup", "mailmon_isolate_setup_missing", "10s", "0.5", 0, 1,
		   "above", "1/1", "critical", "isolation refused: Postfix setup missing (1: yes)"),
	ALARM_KEYS("alarm.*", NULL, "1m", NULL, 0, 0, "above", "1/1", "warning", NULL),
};

const struct mm_conf_table mm_conf_table_alarm = MM_CONF_TABLE("alarm", alarm_sections, alarm_keys);

/*
 * cluster_schema: the config rows of the node verdict and the HAProxy
 * agent ([cluster]); see core/config_schema.h for the row format.
 */
#include "core/config_schema.h"

static const struct mm_conf_section cluster_sections[] = {
	{"cluster", "This node in a cluster behind a load balancer: the node verdict\n"
		    "(healthy, degraded, stalled, down; /api/status \"verdict\"), the\n"
		    "flooded-destination detector, and an HAProxy agent-check responder\n"
		    "that drains a stalled node (docs/cluster.md)."},
	{"instance.*", "A Postfix instance of this host with a verdict of its own (for the\n"
		       "agent's agent-send): [instance.NAME], NAME being the instance's\n"
		       "syslog_name (the tag of its log lines, postfix-out in\n"
		       "postfix-out/qmgr), which labels its queue and log series\n"
		       "(postfix_instance). Its queue must be read: [mta] config_directory\n"
		       "or one of [queue] instances. The [cluster] thresholds apply.\n"
		       "A reload adds and removes sections (docs/cluster.md)."},
};

static const struct mm_conf_key cluster_keys[] = {
	{"cluster", "enable", MM_CT_BOOL, "yes", 0, 0, NULL, false,
	 "Compute the node verdict."},
	{"cluster", "interval", MM_CT_DURATION, "5s", 1000, 600000, NULL, true,
	 "How often the verdict is recomputed from the metric registry."},
	{"cluster", "stall_window", MM_CT_DURATION, "45s", 10000, 3600000, NULL, true,
	 "A node that accepts mail but makes no delivery attempt for this\n"
	 "long, while incoming+active does not shrink, is stalled. At most\n"
	 "240 intervals."},
	{"cluster", "fail_ratio", MM_CT_NUMBER, "0.5", 0, 1, NULL, true,
	 "Share of the delivery attempts in the window that were deferred\n"
	 "at which the node is degraded."},
	{"cluster", "min_attempts", MM_CT_INT, "10", 1, 1000000, NULL, true,
	 "Fewer attempts than this in the window never make it degraded."},
	{"cluster", "flood_min_messages", MM_CT_INT, "100", 1, 100000000, NULL, true,
	 "A flooded destination holds at least this many queued messages."},
	{"cluster", "flood_share", MM_CT_NUMBER, "0.3", 0, 1, NULL, true,
	 "... and this share of the queue, or grew fastest in the window."},
	{"cluster", "flood_dominant", MM_CT_NUMBER, "0.6", 0, 1, NULL, true,
	 "... and this share of its recipients with a known delay reason\n"
	 "have one class (refused, timeout, 4xx, tls, dns)."},
	{"cluster", "unanswered_after", MM_CT_DURATION, "60s", 0, 3600000, NULL, true,
	 "A destination of at least flood_min_messages (and flood_share, or\n"
	 "the fastest grower) with no dominant delay reason yet is flooded\n"
	 "with class timeout (\"no answer\") when it had mail in the active\n"
	 "queue this long, its oldest active message is this old, and the log\n"
	 "shows nothing delivered to it in that time: a tarpit found before\n"
	 "its first attempt times out. 0: off. At most 240 intervals."},
	{"cluster", "master_service", MM_CT_STRING, "smtp", 0, 0, NULL, true,
	 "The [service.NAME] whose process check watches the MTA master\n"
	 "(pidfile); no process: the node is down. Empty: not watched."},
	{"cluster", "smtpd_service", MM_CT_STRING, "smtp", 0, 0, NULL, true,
	 "The [service.NAME] that probes smtpd; failing: the node is down."},
	{"cluster", "qmgr_service", MM_CT_STRING, "qmgr", 0, 0, NULL, true,
	 "The [service.NAME] that watches the queue manager (process_name =\n"
	 "qmgr, parent_pidfile = the master's pid file): named as the cause\n"
	 "of a stall when it is missing, stopped or not logging."},
	{"cluster", "agent_listen", MM_CT_HOSTPORT, NULL, 0, 0, NULL, false,
	 "HAProxy agent-check responder on this numeric address:port; unset:\n"
	 "off. It answers \"up ready N%\", \"drain #reason\" (stalled, or a disk\n"
	 "partition locked) or \"down #reason\" from the last verdict, and never\n"
	 "waits for a scan."},
	{"cluster", "agent_low_backlog", MM_CT_INT, "100", 0, 100000000, NULL, true,
	 "Up to this many queued messages the agent's weight is 100%."},
	{"cluster", "agent_full_backlog", MM_CT_INT, "5000", 1, 100000000, NULL, true,
	 "At this backlog the weight has fallen to agent_min_weight."},
	{"cluster", "agent_min_weight", MM_CT_INT, "10", 1, 100, NULL, true,
	 "The lowest weight (percent) a healthy node announces."},
	{"cluster", "agent_instances", MM_CT_LIST, NULL, 0, 0, NULL, true,
	 "Names HAProxy may send with agent-send that are answered with this\n"
	 "node's verdict. A name of an [instance.NAME] section is answered\n"
	 "with that instance's own verdict; any other name \"down #unknown\n"
	 "instance NAME\"."},
	{"cluster", "nodes", MM_CT_LIST, NULL, 0, 0, NULL, false,
	 "The mailmond APIs (HOST:PORT, numeric) of the cluster's nodes: the\n"
	 "rows `mailmon cluster` shows when given no URL, and the dashboard's\n"
	 "cluster rows (mailmond fetches them every 10 s; their APIs must\n"
	 "answer this node without a token)."},
	{"instance.*", "master_service", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "The [service.NAME] whose process check watches this instance's\n"
	 "master (pidfile = its master.pid); no process: the instance is down.\n"
	 "Unset: not watched."},
	{"instance.*", "smtpd_service", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "The [service.NAME] that probes this instance's smtpd; failing: down."},
	{"instance.*", "qmgr_service", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "The [service.NAME] that watches this instance's queue manager\n"
	 "(process_name = qmgr, parent_pidfile = its master.pid): named as the\n"
	 "cause of its stall."},
};

const struct mm_conf_table mm_conf_table_cluster =
	MM_CONF_TABLE("cluster", cluster_sections, cluster_keys);

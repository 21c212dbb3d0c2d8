/* commands: the table of `mailmon` subcommands, in the order --help shows. */
#include "cli/cli.h"

#include <stddef.h>

const struct mm_command mm_commands[] = {
	{"status", cmd_status, "state of the running mailmond"},
	{"cluster", cmd_cluster, "several mailmond nodes side by side: verdict, queues, flow"},
	{"isolate", cmd_isolate, "list, isolate and release flooded destinations ([isolate])"},
	{"qshape", cmd_qshape, "queue shape by domain and age (Postfix qshape drop-in)"},
	{"qm", cmd_qm, "queue summaries: qm summarize, qm messages [DEST]"},
	{"probe", cmd_probe, "check one mail service once (Nagios/Icinga plugin)"},
	{"metrics", cmd_metrics, "the metric families of the running mailmond (as /metrics serves them)"},
	{"e2e", cmd_e2e, "send a probe message and fetch it back, timing every leg (Nagios plugin)"},
	{"history", cmd_history, "past values of a metric from mailmond's history (table, sparkline)"},
	{"alarms", cmd_alarms, "alarm states, silences, a test notice through every channel"},
	{"counterutil", cmd_counterutil, "the seed's counterutil objects from the running mailmond"},
	{"counters", cmd_counters, "RFC 2789 channel counters: -show, -clear, -create, -delete"},
	{"logstat", cmd_logstat, "report on past mail logs (plain, .gz, stdin), pflogsumm-compatible"},
	{"init", cmd_init, "discover this host's mail system and write a config for it"},
	{"config", cmd_config, "check, get and set configuration keys"},
	{NULL, NULL, NULL},
};

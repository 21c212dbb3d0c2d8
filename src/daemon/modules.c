/*
 * modules: the daemon's module table (see module.h). Order matters: the
 * HTTP listener first (others add endpoints to it), logs before the queue
 * (the queue hands its stored gauges to the log pipeline), the cluster
 * verdict after the publishers it reads and before the alarms that read
 * its verdict.
 */
#include "daemon/module.h"

const struct mm_module *const mm_modules[] = {
	&mm_module_self,
	&mm_module_http,
	&mm_module_logs,
	&mm_module_counters,
	&mm_module_queue,
	&mm_module_services,
	&mm_module_e2e,
	&mm_module_disk,
	&mm_module_cpu,
	&mm_module_www,
	&mm_module_cluster, /* reads what the others publish */
	&mm_module_isolate, /* acts on the cluster module's floods */
	&mm_module_history, /* samples what the others publish (from a timer) */
	&mm_module_baseline, /* reads the history (on a thread); before the alarms */
	&mm_module_snmp,    /* a reader of the registry, like the history */
	&mm_module_alarms, /* reads every family the modules above registered */
};
const size_t mm_nmodules = sizeof mm_modules / sizeof mm_modules[0];

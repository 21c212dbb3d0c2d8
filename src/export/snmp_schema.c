/*
 * snmp_schema: the config rows of the AgentX subagent ([snmp]); see
 * core/config_schema.h for the row format.
 */
#include "core/config_schema.h"

static const struct mm_conf_section snmp_sections[] = {
	{"snmp", "SNMP: mailmond as an AgentX subagent of the host's snmpd (master agentx\n"
		 "in snmpd.conf), serving NETWORK-SERVICES-MIB applTable (RFC 2788) and\n"
		 "MTA-MIB mtaTable and mtaGroupTable (RFC 2789) from the metric registry.\n"
		 "mailmond reconnects on its own when snmpd restarts."},
};

static const struct mm_conf_key snmp_keys[] = {
	{"snmp", "enable", MM_CT_BOOL, "no", 0, 0, NULL, false,
	 "Whether mailmond registers with the snmpd master at all."},
	{"snmp", "agentx_socket", MM_CT_STRING, "/var/agentx/master", 0, 0, NULL, false,
	 "The master's AgentX socket: a Unix socket path (snmpd's agentXSocket)\n"
	 "or tcp:127.0.0.1:705."},
	{"snmp", "ping_interval", MM_CT_DURATION, "5s", 1000, 300000, NULL, false,
	 "How often the subagent checks the master is there, and retries the\n"
	 "connection when it is not."},
};

const struct mm_conf_table mm_conf_table_snmp = MM_CONF_TABLE("snmp", snmp_sections, snmp_keys);

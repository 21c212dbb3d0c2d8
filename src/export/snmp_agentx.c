/*
 * snmp_agentx: the AgentX subagent over net-snmp (see snmp_agentx.h).
 */
#include "export/snmp_agentx.h"

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

struct mm_snmp_agent {
	mm_snmp_refresh_fn *refresh;
	mm_snmp_log_fn *log;
	void *arg;
	uint64_t requests;
	bool connected;
	netsnmp_handler_registration *reg[MM_SNMP_MAX_COLUMNS];
	size_t nreg;
};

/* net-snmp is one per process; this guards against a second start. */
static bool agent_running;

/* AgentX priority of our registrations: below the default 127, so that
 * a master's own registration of the same column (snmpd's mta_sendmail
 * module registers MTA-MIB columns) yields to ours. */
#define PRIORITY 100

static void to_u32(const oid *in, size_t n, uint32_t *out, size_t *outn)
{
	*outn = n < MM_SNMP_OID_MAX ? n : MM_SNMP_OID_MAX;
	for (size_t i = 0; i < *outn; i++)
		out[i] = (uint32_t)in[i];
}

static void set_value(netsnmp_variable_list *var, const struct mm_snmp_entry *e)
{
	switch (e->type) {
	case MM_SNMP_STRING:
		snmp_set_var_typed_value(var, ASN_OCTET_STR, e->str, strlen(e->str));
		break;
	case MM_SNMP_OID: {
		oid o[MM_SNMP_OID_MAX];
		for (size_t i = 0; i < e->oidv_len; i++)
			o[i] = e->oidv[i];
		snmp_set_var_typed_value(var, ASN_OBJECT_ID, o, e->oidv_len * sizeof(oid));
		break;
	}
	default: {
		u_char t = e->type == MM_SNMP_COUNTER32	  ? ASN_COUNTER
			   : e->type == MM_SNMP_GAUGE32	  ? ASN_GAUGE
			   : e->type == MM_SNMP_TIMETICKS ? ASN_TIMETICKS
							  : ASN_INTEGER;
		snmp_set_var_typed_integer(var, t, (long)e->num);
		break;
	}
	}
}

static bool under(const struct mm_snmp_entry *e, const netsnmp_handler_registration *reg)
{
	if (e->len < reg->rootoid_len)
		return false;
	for (size_t i = 0; i < reg->rootoid_len; i++)
		if (e->oid[i] != reg->rootoid[i])
			return false;
	return true;
}

static int handle(netsnmp_mib_handler *handler, netsnmp_handler_registration *reg,
		  netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
	struct mm_snmp_agent *a = handler->myvoid;
	const struct mm_snmp_view *v = a->refresh(a->arg);
	for (netsnmp_request_info *req = requests; req; req = req->next) {
		netsnmp_variable_list *var = req->requestvb;
		uint32_t want[MM_SNMP_OID_MAX];
		size_t wlen;
		a->requests++;
		to_u32(var->name, var->name_length, want, &wlen);
		const struct mm_snmp_entry *e = NULL;
		if (reqinfo->mode == MODE_GET) {
			e = var->name_length <= MM_SNMP_OID_MAX ? mm_snmp_view_get(v, want, wlen) : NULL;
			if (!e) {
				netsnmp_set_request_error(reqinfo, req, SNMP_NOSUCHINSTANCE);
				continue;
			}
		} else if (reqinfo->mode == MODE_GETNEXT) {
			e = mm_snmp_view_next(v, want, wlen);
			if (!e || !under(e, reg))
				continue; /* past our subtree: the agent moves on */
			oid o[MM_SNMP_OID_MAX];
			for (size_t i = 0; i < e->len; i++)
				o[i] = e->oid[i];
			snmp_set_var_objid(var, o, e->len);
		} else {
			netsnmp_set_request_error(reqinfo, req, SNMP_ERR_NOTWRITABLE);
			continue;
		}
		set_value(var, e);
	}
	return SNMP_ERR_NOERROR;
}

static int on_log(int major, int minor, void *server_arg, void *client_arg)
{
	struct mm_snmp_agent *a = client_arg;
	const struct snmp_log_message *m = server_arg;
	if (a->log && m && m->msg) {
		char line[512];
		snprintf(line, sizeof line, "%s", m->msg);
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n)
			a->log(a->arg, m->priority, line);
	}
	return 0;
}

struct mm_snmp_agent *mm_snmp_agent_start(const char *socket, int ping_s,
					  mm_snmp_refresh_fn *refresh, mm_snmp_log_fn *log,
					  void *arg, struct mm_err *err)
{
	if (agent_running) {
		mm_err_set(err, "snmp: the AgentX subagent is already running in this process");
		return NULL;
	}
	struct mm_snmp_agent *a = xcalloc(1, sizeof *a);
	a->refresh = refresh;
	a->log = log;
	a->arg = arg;
	snmp_disable_log();
	snmp_enable_calllog();
	snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, on_log, a);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	/* numeric OIDs only: no MIB files parsed, none of their complaints */
	netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_ERRORS, 0);
	setenv("MIBS", "", 1); /* the default module list is what it would look for */
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
	netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, socket);
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
			   ping_s > 0 ? ping_s : 5);
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_NO_ROOT_ACCESS, 1);
	init_agent("mailmond");
	uint32_t cols[MM_SNMP_MAX_COLUMNS][MM_SNMP_OID_MAX];
	size_t lens[MM_SNMP_MAX_COLUMNS];
	a->nreg = mm_snmp_view_columns(cols, lens, MM_SNMP_MAX_COLUMNS);
	for (size_t i = 0; i < a->nreg; i++) {
		oid root[MM_SNMP_OID_MAX];
		for (size_t k = 0; k < lens[i]; k++)
			root[k] = cols[i][k];
		a->reg[i] = netsnmp_create_handler_registration("mailmon", handle, root, lens[i],
							       HANDLER_CAN_RONLY);
		a->reg[i]->handler->myvoid = a;
		a->reg[i]->priority = PRIORITY;
		netsnmp_register_handler(a->reg[i]);
	}
	init_snmp("mailmond");
	agent_running = true;
	return a;
}

void mm_snmp_agent_poll(struct mm_snmp_agent *a, int *fds, size_t *nfds, int64_t *timeout_ms)
{
	netsnmp_large_fd_set set;
	netsnmp_large_fd_set_init(&set, FD_SETSIZE);
	int numfds = 0, block = 0;
	struct timeval tv = {0, 0};
	snmp_select_info2(&numfds, &set, &tv, &block);
	*nfds = 0;
	for (int fd = 0; fd < numfds && *nfds < MM_SNMP_MAX_FDS; fd++)
		if (NETSNMP_LARGE_FD_ISSET(fd, &set))
			fds[(*nfds)++] = fd;
	netsnmp_large_fd_set_cleanup(&set);
	a->connected = *nfds > 0;
	*timeout_ms = block ? -1 : (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void mm_snmp_agent_process(struct mm_snmp_agent *a, const int *fds, size_t n)
{
	if (n) {
		netsnmp_large_fd_set set;
		netsnmp_large_fd_set_init(&set, FD_SETSIZE);
		for (size_t i = 0; i < n; i++)
			NETSNMP_LARGE_FD_SET(fds[i], &set);
		snmp_read2(&set);
		netsnmp_large_fd_set_cleanup(&set);
	} else {
		snmp_timeout();
	}
	run_alarms();
	netsnmp_check_outstanding_agent_requests();
}

bool mm_snmp_agent_connected(const struct mm_snmp_agent *a)
{
	return a->connected;
}

uint64_t mm_snmp_agent_requests(const struct mm_snmp_agent *a)
{
	return a->requests;
}

void mm_snmp_agent_stop(struct mm_snmp_agent *a)
{
	if (!a)
		return;
	snmp_unregister_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, on_log, a, 1);
	snmp_shutdown("mailmond");
	agent_running = false;
	free(a);
}

/*
 * snmp_agentx: mailmon as an AgentX subagent (RFC 2741) under a running
 * snmpd master, through net-snmp's agent library. It serves the objects
 * of an mm_snmp_view (export/snmp_view.h) under mib-2 27.1 (applTable)
 * and 28 (MTA-MIB); GET and GETNEXT (GETBULK is split into GETNEXTs by
 * the library).
 *
 * It never blocks: the caller's event loop watches the descriptors from
 * mm_snmp_agent_poll() and calls mm_snmp_agent_process() when one is
 * readable or the timeout passed. net-snmp's alarms (the AgentX ping
 * every ping_s seconds, the reconnect when the master went away) run
 * from there as well, never from SIGALRM. While the master is away the
 * library retries the connection on its own; mm_snmp_agent_connected()
 * tells whether a session is open.
 *
 * Requests are answered from the view the refresh callback returns; it
 * runs on the caller's thread inside process(), so it may collect the
 * registry and rebuild the view.
 *
 * net-snmp keeps its state in process globals: at most one agent exists
 * in a process (start refuses a second). It reads no snmp.conf, writes no
 * persistent files, and its log lines go to the log callback.
 */
#ifndef MAILMON_EXPORT_SNMP_AGENTX_H
#define MAILMON_EXPORT_SNMP_AGENTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "export/snmp_view.h"

#define MM_SNMP_MAX_FDS 16

typedef const struct mm_snmp_view *mm_snmp_refresh_fn(void *arg);
typedef void mm_snmp_log_fn(void *arg, int priority, const char *msg);

struct mm_snmp_agent;

/* Starts the subagent towards the master's AgentX socket (a path, or
 * "tcp:127.0.0.1:705"). Returns NULL with err only for a bad setup (a
 * second agent); an absent master is retried, not an error. */
struct mm_snmp_agent *mm_snmp_agent_start(const char *socket, int ping_s,
					  mm_snmp_refresh_fn *refresh, mm_snmp_log_fn *log,
					  void *arg, struct mm_err *err);
/* Descriptors to watch for reading and the longest wait before process()
 * must run anyway (-1: none). */
void mm_snmp_agent_poll(struct mm_snmp_agent *a, int *fds, size_t *nfds, int64_t *timeout_ms);
/* Reads what is readable among fds (n may be 0: only timers are due),
 * runs timeouts and alarms. */
void mm_snmp_agent_process(struct mm_snmp_agent *a, const int *fds, size_t n);
bool mm_snmp_agent_connected(const struct mm_snmp_agent *a);
/* Requests answered so far. */
uint64_t mm_snmp_agent_requests(const struct mm_snmp_agent *a);
void mm_snmp_agent_stop(struct mm_snmp_agent *a);

#endif

/*
 * conntable: inbound TCP connections to the watched mail ports, from the
 * kernel (the seed's 27.4.3: connections per client address and TCP
 * state, SYN_RECEIVED as a sign of a broken network or a SYN flood).
 *
 * The kernel is asked with netlink sock_diag (inet_diag, one dump per
 * address family); where that is unavailable (no NETLINK_SOCK_DIAG in a
 * container) /proc/net/tcp and tcp6 are parsed instead. Only sockets whose
 * local port is one of the given ports are counted.
 *
 * Bounds: at most MM_CONN_MAX_CLIENTS distinct client addresses are kept
 * per port; further clients are counted in clients_dropped. TIME_WAIT
 * sockets (closed connections the kernel keeps) are not counted.
 *
 * Ownership: struct mm_conntable owns its arrays; mm_conntable_free().
 */
#ifndef MAILMON_SERVICES_CONNTABLE_H
#define MAILMON_SERVICES_CONNTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MM_CONN_MAX_CLIENTS 4096
#define MM_TCP_NSTATES 13 /* kernel TCP states 1..12, index 0 unused */

struct mm_conn_client {
	char addr[46]; /* numeric, INET6_ADDRSTRLEN */
	uint32_t count;
};

struct mm_conn_port {
	uint16_t port;
	bool listening;
	uint32_t by_state[MM_TCP_NSTATES];
	uint32_t established, syn_recv, total; /* total: every non-LISTEN socket */
	struct mm_conn_client *clients;
	size_t nclients, cap;
	uint64_t clients_dropped;
};

struct mm_conntable {
	struct mm_conn_port *ports;
	size_t nports;
	bool via_netlink; /* last scan's source */
};

/* Sets the ports to watch (duplicates ignored). */
void mm_conntable_init(struct mm_conntable *t, const uint16_t *ports, size_t n);
/* One scan; proc_root is "/proc" (tests may point elsewhere and set
 * no_netlink). Returns -1 with err when neither source can be read. */
int mm_conntable_scan(struct mm_conntable *t, const char *proc_root, bool no_netlink,
		      struct mm_err *err);
/* The k busiest clients of a port, into out (sorted, count desc). */
size_t mm_conntable_top(const struct mm_conn_port *p, struct mm_conn_client *out, size_t k);
const char *mm_tcp_state_name(int state);
void mm_conntable_free(struct mm_conntable *t);

#endif

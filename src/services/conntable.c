/* conntable: see conntable.h. */
#include "services/conntable.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/strutil.h"
#include "core/xalloc.h"

#define ST_ESTABLISHED 1
#define ST_SYN_RECV 3
#define ST_LISTEN 10
#define ST_NEW_SYN_RECV 12

const char *mm_tcp_state_name(int s)
{
	static const char *const names[MM_TCP_NSTATES] = {
		"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
		"CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"};
	return s > 0 && s < MM_TCP_NSTATES ? names[s] : "?";
}

void mm_conntable_init(struct mm_conntable *t, const uint16_t *ports, size_t n)
{
	memset(t, 0, sizeof *t);
	t->ports = xcalloc(n ? n : 1, sizeof *t->ports);
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < t->nports; j++)
			dup = dup || t->ports[j].port == ports[i];
		if (!dup && ports[i])
			t->ports[t->nports++].port = ports[i];
	}
}

static void reset_counts(struct mm_conntable *t)
{
	for (size_t i = 0; i < t->nports; i++) {
		struct mm_conn_port *p = &t->ports[i];
		p->listening = false;
		memset(p->by_state, 0, sizeof p->by_state);
		p->established = p->syn_recv = p->total = 0;
		p->nclients = 0;
		p->clients_dropped = 0;
	}
}

static struct mm_conn_port *find_port(struct mm_conntable *t, uint16_t port)
{
	for (size_t i = 0; i < t->nports; i++)
		if (t->ports[i].port == port)
			return &t->ports[i];
	return NULL;
}

static void add_sock(struct mm_conntable *t, uint16_t lport, int state, const char *raddr)
{
	struct mm_conn_port *p = find_port(t, lport);
	if (!p || state <= 0 || state >= MM_TCP_NSTATES)
		return;
	p->by_state[state]++;
	if (state == ST_LISTEN) {
		p->listening = true;
		return;
	}
	p->total++;
	if (state == ST_ESTABLISHED)
		p->established++;
	if (state == ST_SYN_RECV || state == ST_NEW_SYN_RECV)
		p->syn_recv++;
	for (size_t i = 0; i < p->nclients; i++)
		if (strcmp(p->clients[i].addr, raddr) == 0) {
			p->clients[i].count++;
			return;
		}
	if (p->nclients >= MM_CONN_MAX_CLIENTS) {
		p->clients_dropped++;
		return;
	}
	p->clients = xgrow(p->clients, &p->cap, p->nclients + 1, sizeof *p->clients);
	mm_strlcpy(p->clients[p->nclients].addr, raddr, sizeof p->clients[0].addr);
	p->clients[p->nclients++].count = 1;
}

/* One inet_diag dump for a family. Returns 0, or -1 (errno set). */
static int diag_dump(struct mm_conntable *t, int family)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -1;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	memset(&req, 0, sizeof req);
	req.nlh.nlmsg_len = sizeof req;
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.r.sdiag_family = (uint8_t)family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	/* Every state but TIME_WAIT: those are closed connections the kernel
	 * keeps for 60 s, thousands of them on a busy port, and asking for
	 * them would multiply the dump for nothing the seed asks about. */
	req.r.idiag_states = ~0u & ~(1u << 6);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	char buf[32768];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				close(fd);
				return 0;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				close(fd);
				errno = EPROTO;
				return -1;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				continue;
			struct inet_diag_msg *m = NLMSG_DATA(h);
			char addr[INET6_ADDRSTRLEN];
			inet_ntop(m->idiag_family, m->id.idiag_dst, addr, sizeof addr);
			add_sock(t, ntohs(m->id.idiag_sport), m->idiag_state, addr);
		}
	}
	close(fd);
	return 0;
}

/* /proc/net/tcp{,6}: "sl local rem st ...", addresses in hex words in
 * host byte order, ports in hex. */
static int proc_parse(struct mm_conntable *t, const char *path, int family)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[512];
	(void)fgets(line, sizeof line, f); /* header */
	while (fgets(line, sizeof line, f)) {
		char local[64], rem[64];
		unsigned st;
		if (sscanf(line, "%*s %63s %63s %x", local, rem, &st) != 3 || st == 6)
			continue; /* TIME_WAIT: see diag_dump */
		char *lc = strchr(local, ':'), *rc = strchr(rem, ':');
		if (!lc || !rc)
			continue;
		unsigned lport = (unsigned)strtoul(lc + 1, NULL, 16);
		*rc = '\0';
		unsigned char raw[16];
		size_t words = family == AF_INET ? 1 : 4;
		if (strlen(rem) != words * 8)
			continue;
		for (size_t w = 0; w < words; w++) {
			char hex[9];
			memcpy(hex, rem + w * 8, 8);
			hex[8] = '\0';
			uint32_t v = (uint32_t)strtoul(hex, NULL, 16);
			memcpy(raw + w * 4, &v, 4); /* host order word == kernel's in-memory bytes */
		}
		char addr[INET6_ADDRSTRLEN];
		inet_ntop(family, raw, addr, sizeof addr);
		add_sock(t, (uint16_t)lport, (int)st, addr);
	}
	fclose(f);
	return 0;
}

int mm_conntable_scan(struct mm_conntable *t, const char *proc_root, bool no_netlink,
		      struct mm_err *err)
{
	reset_counts(t);
	if (!no_netlink && diag_dump(t, AF_INET) == 0 && diag_dump(t, AF_INET6) == 0) {
		t->via_netlink = true;
		return 0;
	}
	reset_counts(t);
	t->via_netlink = false;
	char p4[256], p6[256];
	snprintf(p4, sizeof p4, "%s/net/tcp", proc_root);
	snprintf(p6, sizeof p6, "%s/net/tcp6", proc_root);
	int a = proc_parse(t, p4, AF_INET), b = proc_parse(t, p6, AF_INET6);
	if (a < 0 && b < 0)
		return mm_err_sys(err, errno, "connection table: neither sock_diag nor %s", p4);
	return 0;
}

static int by_count(const void *a, const void *b)
{
	const struct mm_conn_client *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->addr, y->addr);
}

size_t mm_conntable_top(const struct mm_conn_port *p, struct mm_conn_client *out, size_t k)
{
	if (!p->nclients || !k)
		return 0;
	struct mm_conn_client *tmp = xmalloc(p->nclients * sizeof *tmp);
	memcpy(tmp, p->clients, p->nclients * sizeof *tmp);
	qsort(tmp, p->nclients, sizeof *tmp, by_count);
	size_t n = p->nclients < k ? p->nclients : k;
	memcpy(out, tmp, n * sizeof *out);
	free(tmp);
	return n;
}

void mm_conntable_free(struct mm_conntable *t)
{
	for (size_t i = 0; i < t->nports; i++)
		free(t->ports[i].clients);
	free(t->ports);
	memset(t, 0, sizeof *t);
}

/* conntable_test: the /proc/net/tcp{,6} fallback of the connection table
 * on a fixed file (the sock_diag path is exercised by the system tests),
 * and the live scan finding a listener this test opens. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "services/conntable.h"

/* Port 25 (0x0019) listening; three clients: 10.0.0.5 twice established
 * and once SYN_RECV, 127.0.0.1 once established; one socket on port 80
 * that must be ignored; ::1 on port 25 over IPv6 in CLOSE_WAIT. */
static const char tcp4[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	"   0: 00000000:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n"
	"   1: 0100007F:0019 0500000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 2\n"
	"   2: 0100007F:0019 0500000A:D432 01 00000000:00000000 00:00000000 00000000     0        0 3\n"
	"   3: 0100007F:0019 0500000A:D433 03 00000000:00000000 00:00000000 00000000     0        0 4\n"
	"   4: 0100007F:0019 0100007F:D434 01 00000000:00000000 00:00000000 00000000     0        0 5\n"
	"   5: 0100007F:0050 0500000A:D435 01 00000000:00000000 00:00000000 00000000     0        0 6\n"
	"garbage line\n";
static const char tcp6[] =
	"  sl  local_address                         remote_address                        st\n"
	"   0: 00000000000000000000000001000000:0019 00000000000000000000000001000000:D436 08 0\n";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_proc_fallback(void **state)
{
	char root[] = "/tmp/mm_conntable_XXXXXX";
	assert_non_null(mkdtemp(root));
	char path[256];
	snprintf(path, sizeof path, "%s/net", root);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/net/tcp", root);
	write_file(path, tcp4);
	snprintf(path, sizeof path, "%s/net/tcp6", root);
	write_file(path, tcp6);

	uint16_t ports[] = {25, 25, 143};
	struct mm_conntable t;
	mm_conntable_init(&t, ports, 3);
	assert_int_equal(t.nports, 2);
	struct mm_err err;
	assert_int_equal(mm_conntable_scan(&t, root, true, &err), 0);
	assert_false(t.via_netlink);
	const struct mm_conn_port *p = &t.ports[0];
	assert_int_equal(p->port, 25);
	assert_true(p->listening);
	assert_int_equal(p->established, 3);
	assert_int_equal(p->syn_recv, 1);
	assert_int_equal(p->total, 5);
	assert_int_equal(p->by_state[8], 1); /* CLOSE_WAIT from ::1 */
	struct mm_conn_client top[3];
	size_t n = mm_conntable_top(p, top, 3);
	assert_int_equal(n, 3);
	assert_string_equal(top[0].addr, "10.0.0.5");
	assert_int_equal(top[0].count, 3);
	assert_int_equal(t.ports[1].total, 0);
	assert_false(t.ports[1].listening);
	mm_conntable_free(&t);

	snprintf(path, sizeof path, "rm -rf %s", root);
	assert_int_equal(system(path), 0);
}

static void test_live(void **state)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s, 8), 0);
	socklen_t len = sizeof a;
	getsockname(s, (struct sockaddr *)&a, &len);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof a), 0);
	uint16_t port = ntohs(a.sin_port);
	for (int no_netlink = 0; no_netlink < 2; no_netlink++) {
		struct mm_conntable t;
		struct mm_err err;
		mm_conntable_init(&t, &port, 1);
		assert_int_equal(mm_conntable_scan(&t, "/proc", no_netlink, &err), 0);
		assert_true(t.ports[0].listening);
		assert_int_equal(t.ports[0].established, 1);
		assert_int_equal(t.ports[0].nclients, 1);
		assert_string_equal(t.ports[0].clients[0].addr, "127.0.0.1");
		mm_conntable_free(&t);
	}
	close(c);
	close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_fallback),
		cmocka_unit_test(test_live),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

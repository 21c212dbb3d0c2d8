/* connscan_test: connection-table scans on their own thread. The scan of
 * a port this test listens on, with three connections it made, reaches the
 * loop through the done callback; requests while a scan is under way are
 * one scan; freeing with a scan running waits for it. */
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "services/connscan.h"

struct seen {
	struct event_base *base;
	int calls;
	bool ok;
	uint32_t established;
	bool listening;
};

static void on_done(void *arg, const struct mm_conntable *t, bool ok, const char *why)
{
	struct seen *s = arg;
	s->calls++;
	s->ok = ok;
	s->established = t->ports[0].established;
	s->listening = t->ports[0].listening;
	event_base_loopbreak(s->base);
}

static void run_until_done(struct seen *s)
{
	struct timeval five = {5, 0};
	event_base_loopexit(s->base, &five); /* a hung scan fails, not hangs */
	event_base_dispatch(s->base);
}

static void test_scan_off_loop(void **state)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(l, 8), 0);
	socklen_t len = sizeof a;
	getsockname(l, (struct sockaddr *)&a, &len);
	int c[3], s[3];
	for (int i = 0; i < 3; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(c[i], (struct sockaddr *)&a, sizeof a), 0);
		s[i] = accept(l, NULL, NULL);
		assert_true(s[i] >= 0);
	}
	uint16_t port = ntohs(a.sin_port);

	struct seen seen = {.base = event_base_new()};
	struct mm_err err;
	struct mm_connscan *w = mm_connscan_new(seen.base, &port, 1, on_done, &seen, &err);
	assert_non_null(w);
	mm_connscan_request(w);
	mm_connscan_request(w); /* the same scan */
	run_until_done(&seen);
	assert_int_equal(seen.calls, 1);
	assert_true(seen.ok);
	assert_true(seen.listening);
	/* Both ends of the three are on the host; only the server ends have
	 * the listening port as their local port. */
	assert_int_equal(seen.established, 3);

	close(c[0]);
	close(s[0]);
	mm_connscan_request(w);
	run_until_done(&seen);
	assert_int_equal(seen.calls, 2);
	assert_int_equal(seen.established, 2);

	mm_connscan_request(w);
	mm_connscan_free(w); /* joins the scan under way */
	event_base_free(seen.base);
	for (int i = 1; i < 3; i++) {
		close(c[i]);
		close(s[i]);
	}
	close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_off_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

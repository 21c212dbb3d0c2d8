/* watcher_test: the service watcher's decisions, cycle by cycle (table
 * driven): N of M, crash, flap limit, verify, no restart command. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "services/watcher.h"

struct rec {
	char log[1024];
};

static void on_ev(const struct mm_svc_event *ev, void *arg)
{
	struct rec *r = arg;
	size_t n = strlen(r->log);
	snprintf(r->log + n, sizeof r->log - n, "%s%s", n ? " " : "", mm_svc_event_name(ev->type));
}

/* A cycle script: one letter per cycle.
 *   o probe ok     x probe failed    c processes gone (crash)
 *   s ok but slow  V verify ok (after a restart)  F verify failed
 *   m mailmond could not check (its own fds or memory ran out)
 * The expected result: the events in order, and which cycles restart. */
struct wcase {
	const char *name;
	int n, m, k;
	bool can_restart;
	const char *script;
	const char *want_restarts; /* one char per cycle: R restart, . none */
	const char *want_events;
	enum mm_watch_state want_state;
};

static const struct wcase cases[] = {
	{"all ok", 3, 5, 3, true, "oooo", "....", "", MM_WS_UP},
	{"two of five is not enough", 3, 5, 3, true, "xoxoo", ".....", "down up down up", MM_WS_UP},
	{"three of five restarts", 3, 5, 3, true, "xoxx", "...R", "down up down hang restart", MM_WS_RESTARTING},
	{"restart then verify ok", 2, 3, 3, true, "xxVoo", ".R...", "down hang restart verify-ok", MM_WS_UP},
	{"crash restarts at once", 3, 5, 3, true, "cV", "R.", "down crash restart verify-ok", MM_WS_UP},
	{"flap limit", 1, 1, 2, true, "xFxFx", "R.R..",
	 "down hang restart verify-failed hang restart verify-failed hang gave-up", MM_WS_FAILED},
	{"failed stays failed", 1, 1, 1, true, "xFxoo", "R....",
	 "down hang restart verify-failed hang gave-up", MM_WS_FAILED},
	{"no command: report only", 1, 2, 3, false, "xxo", "...", "down hang hang up", MM_WS_UP},
	{"slow", 3, 5, 3, true, "oso", "...", "slow", MM_WS_UP},
	{"monitor errors never restart", 1, 1, 3, true, "ommmm", ".....", "monitor-error",
	 MM_WS_MONITOR},
	{"monitor errors are not counted", 2, 3, 3, true, "xmmmxo", "....R.",
	 "down monitor-error down hang restart", MM_WS_RESTARTING},
	{"monitor error, then seen again", 1, 1, 3, true, "omo", "...", "monitor-error up", MM_WS_UP},
};

static void test_cases(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct wcase *c = &cases[i];
		struct mm_watch_conf conf = {.failures = c->n, .cycles = c->m, .flap_limit = c->k,
					     .flap_window_ms = 3600000, .can_restart = c->can_restart};
		struct rec r = {{0}};
		struct mm_watch w;
		mm_watch_init(&w, "t", &conf, on_ev, &r);
		char restarts[32] = "";
		int64_t now = 1000;
		for (size_t j = 0; c->script[j]; j++, now += 1000) {
			char ch = c->script[j];
			char got = '.';
			if (ch == 'V' || ch == 'F') {
				mm_watch_command_done(&w, now, true, "exit 0");
				mm_watch_verified(&w, now, ch == 'V', MM_PF_TIMEOUT, "x");
			} else {
				struct mm_watch_obs o = {.probed = ch != 'c', .probe_ok = ch == 'o' || ch == 's',
							 .slow = ch == 's', .procs_checked = true,
							 .procs_ok = ch != 'c', .detail = "d",
							 .monitor_error = ch == 'm'};
				if (ch == 'm')
					o.fail = MM_PF_MONITOR;
				if (mm_watch_cycle(&w, now, now, &o) == MM_WA_RESTART)
					got = 'R';
			}
			restarts[j] = got;
		}
		if (strcmp(restarts, c->want_restarts) != 0)
			fail_msg("%s: restarts \"%s\", want \"%s\"", c->name, restarts, c->want_restarts);
		if (strcmp(r.log, c->want_events) != 0)
			fail_msg("%s: events \"%s\", want \"%s\"", c->name, r.log, c->want_events);
		if (w.state != c->want_state)
			fail_msg("%s: state %s, want %s", c->name, mm_watch_state_name(w.state),
				 mm_watch_state_name(c->want_state));
	}
}

static void test_flap_window_expires(void **state)
{
	struct mm_watch_conf conf = {.failures = 1, .cycles = 1, .flap_limit = 1,
				     .flap_window_ms = 10000, .can_restart = true};
	struct mm_watch w;
	mm_watch_init(&w, "t", &conf, NULL, NULL);
	struct mm_watch_obs bad = {.probed = true, .probe_ok = false};
	assert_int_equal(mm_watch_cycle(&w, 1000, 0, &bad), MM_WA_RESTART);
	mm_watch_command_done(&w, 0, true, NULL);
	mm_watch_verified(&w, 0, false, MM_PF_TIMEOUT, NULL);
	assert_int_equal(mm_watch_restarts_in_window(&w, 5000), 1);
	assert_int_equal(mm_watch_restarts_in_window(&w, 11001), 0);
	/* Limit reached: failed; a reset (reload) lets it restart again. */
	assert_int_equal(mm_watch_cycle(&w, 2000, 0, &bad), MM_WA_NONE);
	assert_int_equal(w.state, MM_WS_FAILED);
	mm_watch_reset_failed(&w);
	assert_int_equal(w.state, MM_WS_UNKNOWN);
	assert_int_equal(mm_watch_cycle(&w, 3000, 0, &bad), MM_WA_RESTART);
}

static void test_cert(void **state)
{
	struct mm_watch_conf conf = {.failures = 1, .cycles = 1, .flap_limit = 1,
				     .flap_window_ms = 1000};
	struct rec r = {{0}};
	struct mm_watch w;
	mm_watch_init(&w, "t", &conf, on_ev, &r);
	mm_watch_cert(&w, 0, 0, 300, 21);
	mm_watch_cert(&w, 0, 0, 20, 21);
	mm_watch_cert(&w, 0, 0, 19, 21); /* once per crossing */
	mm_watch_cert(&w, 0, 0, 400, 21);
	mm_watch_cert(&w, 0, 0, -2, 21);
	assert_string_equal(r.log, "certificate-expiring certificate-expiring");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_flap_window_expires),
		cmocka_unit_test(test_cert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

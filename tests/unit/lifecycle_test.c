/* lifecycle_test: the in-flight table stays within its bounds, evicts and
 * expires with counts, finds what it holds after deletions, and reports
 * first-attempt and per-channel firsts correctly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "logs/lifecycle.h"
#include "logs_testev.h"

static void apply(struct mm_lifecycle *lc, const struct tev *t, uint16_t chan,
		  struct mm_lc_change *c)
{
	struct mm_log_event ev = tev_make(t);
	mm_lc_event(lc, &ev, chan, MM_LC_NO_CHAN, c);
}

/* A log that never completes its messages: memory stays at the cap. */
static void test_bounded_eviction(void **state)
{
	static const struct {
		uint32_t cap, n;
	} cases[] = {{16, 16}, {16, 17}, {16, 1000}, {1000, 50000}};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct mm_lc_limits lim = {.max_inflight = cases[k].cap, .max_rcpts = 8};
		struct mm_lifecycle *lc = mm_lc_new(&lim);
		char qid[16];
		for (uint32_t i = 0; i < cases[k].n; i++) {
			snprintf(qid, sizeof qid, "Q%08X", i);
			struct tev t = {.type = MM_EV_DELIVERY, .qid = qid, .channel = "smtp",
					.addr = "a@b.test", .status = MM_DS_DEFERRED,
					.t_ms = 1000 + i};
			struct mm_lc_change c;
			apply(lc, &t, 1, &c);
			assert_true(c.msg_new);
		}
		struct mm_lc_stats st;
		mm_lc_get_stats(lc, &st);
		uint64_t want_in = cases[k].n < cases[k].cap ? cases[k].n : cases[k].cap;
		assert_int_equal(st.inflight, want_in);
		assert_int_equal(st.peak_inflight, want_in);
		assert_int_equal(st.evicted_full, cases[k].n - want_in);
		assert_true(st.rcpts_kept <= 8);
		/* the newest are kept, the oldest evicted */
		snprintf(qid, sizeof qid, "Q%08X", cases[k].n - 1);
		assert_non_null(mm_lc_find(lc, qid, strlen(qid)));
		if (cases[k].n > cases[k].cap) {
			snprintf(qid, sizeof qid, "Q%08X", 0u);
			assert_null(mm_lc_find(lc, qid, strlen(qid)));
		}
		mm_lc_free(lc);
	}
}

/* Idle messages expire by log time and are counted. */
static void test_age_expiry(void **state)
{
	struct mm_lc_limits lim = {.max_inflight = 100, .max_age_ms = 60000};
	struct mm_lifecycle *lc = mm_lc_new(&lim);
	struct mm_lc_change c;
	struct tev a = {.type = MM_EV_CLIENT, .qid = "AAA", .service = "smtpd", .t_ms = 1000000};
	struct tev b = {.type = MM_EV_CLIENT, .qid = "BBB", .service = "smtpd", .t_ms = 1030000};
	struct tev a2 = {.type = MM_EV_QUEUED, .qid = "AAA", .t_ms = 1050000, .size = 10};
	struct tev z = {.type = MM_EV_CLIENT, .qid = "ZZZ", .service = "smtpd", .t_ms = 1100000};
	apply(lc, &a, MM_LC_NO_CHAN, &c);
	apply(lc, &b, MM_LC_NO_CHAN, &c);
	apply(lc, &a2, MM_LC_NO_CHAN, &c); /* AAA active again at 1050 s */
	apply(lc, &z, MM_LC_NO_CHAN, &c);  /* 1100 s: BBB idle 70 s, AAA 50 s */
	assert_null(mm_lc_find(lc, "BBB", 3));
	assert_non_null(mm_lc_find(lc, "AAA", 3));
	struct mm_lc_stats st;
	mm_lc_get_stats(lc, &st);
	assert_int_equal(st.evicted_age, 1);
	mm_lc_expire(lc, 1200000);
	mm_lc_get_stats(lc, &st);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(st.evicted_age, 3);
	mm_lc_free(lc);
}

/* Backward-shift deletion: after many removals every survivor is found. */
static void test_delete_keeps_index(void **state)
{
	struct mm_lc_limits lim = {.max_inflight = 512};
	struct mm_lifecycle *lc = mm_lc_new(&lim);
	char qid[16];
	struct mm_lc_change c;
	for (int i = 0; i < 500; i++) {
		snprintf(qid, sizeof qid, "%X", i * 7919);
		struct tev t = {.type = MM_EV_QUEUED, .qid = qid, .t_ms = 1, .size = (uint64_t)i};
		apply(lc, &t, MM_LC_NO_CHAN, &c);
	}
	for (int i = 0; i < 500; i += 3) {
		snprintf(qid, sizeof qid, "%X", i * 7919);
		struct tev t = {.type = MM_EV_REMOVED, .qid = qid, .t_ms = 2};
		apply(lc, &t, MM_LC_NO_CHAN, &c);
	}
	for (int i = 0; i < 500; i++) {
		snprintf(qid, sizeof qid, "%X", i * 7919);
		const struct mm_lc_msg *m = mm_lc_find(lc, qid, strlen(qid));
		if (i % 3 == 0) {
			assert_null(m);
		} else {
			assert_non_null(m);
			assert_int_equal(m->size, (uint64_t)i);
		}
	}
	struct mm_lc_stats st;
	mm_lc_get_stats(lc, &st);
	assert_int_equal(st.completed, 167);
	assert_int_equal(st.inflight, 333);
	mm_lc_free(lc);
}

/* One message through its life: what each event reports. */
static void test_message_story(void **state)
{
	static const struct {
		struct tev ev;
		uint16_t chan;
		bool msg_new, chan_new, first_sent, first_failed, first_attempt, first_defer;
		int ndone;
	} steps[] = {
		{{MM_EV_CLIENT, "Q1", NULL, NULL, NULL, "smtpd", 0, 1000, 0, 0}, MM_LC_NO_CHAN,
		 true, false, false, false, false, false, 0},
		{{MM_EV_QUEUED, "Q1", NULL, "s@x.test", NULL, NULL, 0, 1000, 500, 0},
		 MM_LC_NO_CHAN, false, false, false, false, false, false, 0},
		/* sink: sent at once, first attempt */
		{{MM_EV_DELIVERY, "Q1", "smtp", "a@sink.test", "250 ok", NULL, MM_DS_SENT, 1100,
		  0, 0.1}, 1, false, true, true, false, true, false, 0},
		/* dead: deferred, then deferred, then sent: not first attempt */
		{{MM_EV_DELIVERY, "Q1", "relay", "b@dead.test", "refused", NULL, MM_DS_DEFERRED,
		  1200, 0, 0.2}, 2, false, true, false, false, false, true, 0},
		{{MM_EV_DELIVERY, "Q1", "relay", "b@dead.test", "refused", NULL, MM_DS_DEFERRED,
		  1300, 0, 0.3}, 2, false, false, false, false, false, false, 0},
		{{MM_EV_DELIVERY, "Q1", "relay", "b@dead.test", "ok", NULL, MM_DS_SENT, 1400, 0,
		  4.0}, 2, false, false, true, false, false, false, 0},
		/* a second recipient on smtp bounces: first failure there */
		{{MM_EV_DELIVERY, "Q1", "smtp", "c@reject.test", "550", NULL, MM_DS_BOUNCED, 1500,
		  0, 0.1}, 1, false, false, false, true, false, false, 0},
		{{MM_EV_REMOVED, "Q1", NULL, NULL, NULL, NULL, 0, 1600, 0, 0}, MM_LC_NO_CHAN,
		 false, false, false, false, false, false, 2},
	};
	struct mm_lc_limits lim = {.max_inflight = 16, .max_rcpts = 16};
	struct mm_lifecycle *lc = mm_lc_new(&lim);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct mm_lc_change c;
		apply(lc, &steps[i].ev, steps[i].chan, &c);
		assert_int_equal(c.msg_new, steps[i].msg_new);
		assert_int_equal(c.chan_new, steps[i].chan_new);
		assert_int_equal(c.chan_first_sent, steps[i].first_sent);
		assert_int_equal(c.chan_first_failed, steps[i].first_failed);
		assert_int_equal(c.first_attempt, steps[i].first_attempt);
		assert_int_equal(c.msg_first_deferral, steps[i].first_defer);
		assert_int_equal(c.ndone, steps[i].ndone);
		if (i == 6) {
			const struct mm_lc_msg *m = mm_lc_find(lc, "Q1", 2);
			assert_non_null(m);
			assert_int_equal(m->size, 500);
			assert_string_equal(m->sender, "s@x.test");
			assert_true(m->flags & MM_LCF_SMTPD);
			int n = 0;
			for (const struct mm_lc_rcpt *r = mm_lc_rcpt_first(lc, m); r;
			     r = mm_lc_rcpt_next(lc, r))
				n++;
			assert_int_equal(n, 5);
			const struct mm_lc_rcpt *r = mm_lc_rcpt_first(lc, m);
			assert_string_equal(r->addr, "a@sink.test");
			assert_int_equal(r->status, MM_DS_SENT);
		}
	}
	assert_null(mm_lc_find(lc, "Q1", 2));
	struct mm_lc_stats st;
	mm_lc_get_stats(lc, &st);
	assert_int_equal(st.rcpts_kept, 0); /* freed with the message */
	mm_lc_free(lc);
}

/* A message first seen at a delivery (arrival before the log) is never a
 * first-attempt delivery: we cannot know. Long queue IDs are refused. */
static void test_unseen_and_limits(void **state)
{
	struct mm_lc_limits lim = {.max_inflight = 16};
	struct mm_lifecycle *lc = mm_lc_new(&lim);
	struct mm_lc_change c;
	struct tev d = {.type = MM_EV_DELIVERY, .qid = "OLD", .channel = "smtp",
			.status = MM_DS_SENT, .t_ms = 5};
	apply(lc, &d, 1, &c);
	assert_true(c.chan_first_sent);
	assert_false(c.first_attempt);
	struct tev longq = {.type = MM_EV_QUEUED, .qid = "0123456789012345678901234567", .t_ms = 6};
	apply(lc, &longq, MM_LC_NO_CHAN, &c);
	assert_null(c.msg);
	struct mm_lc_stats st;
	mm_lc_get_stats(lc, &st);
	assert_int_equal(st.qid_too_long, 1);
	mm_lc_free(lc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounded_eviction),
		cmocka_unit_test(test_age_expiry),
		cmocka_unit_test(test_delete_keeps_index),
		cmocka_unit_test(test_message_story),
		cmocka_unit_test(test_unseen_and_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

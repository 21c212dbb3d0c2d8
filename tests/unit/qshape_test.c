/* qshape_test: qshape's rules (domains, buckets, parents, headings, sort,
 * widths) on an in-memory queue (the "none" backend), the per-queue and
 * per-destination summary, and growth/drain estimates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mta/mta.h"
#include "mta/qshape.h"
#include "mta/queue_summary.h"
#include "mta/queue_trend.h"
#include "mta/reason_class.h"

static void test_domain(void **state)
{
	static const struct {
		const char *addr, *want;
	} cases[] = {
		{"User@Example.COM", "example.com"},
		{"", "MAILER-DAEMON"},
		{"a@b@c.test", "c.test"},
		{"x@a..b.test", "a.b.test"},
		{"x@a...b", "a..b"},
		{"x@.lead.test.", "lead.test"},
		{"x@.", "."},
		{"x@a", "a"},
		{"nodomain", "nodomain"},
		{"x@...", "."},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[256];
		mm_qshape_domain(cases[i].addr, buf, sizeof buf);
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].addr, buf, cases[i].want);
	}
}

static void test_bucket(void **state)
{
	struct mm_qshape_opts o;
	mm_qshape_opts_default(&o);
	o.now_s = 100000;
	static const struct {
		int64_t age_s;
		bool linear;
		int want;
	} cases[] = {
		{0, false, 1},	   {299, false, 1},  {300, false, 2},   {599, false, 2},
		{600, false, 3},   {1199, false, 3}, {1200, false, 4},  {2400, false, 5},
		{76800, false, 10}, {99999, false, 10}, {-50, false, 1}, {300, true, 2},
		{899, true, 3},	   {900, true, 4},   {3000, true, 10},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		o.linear = cases[i].linear;
		int got = mm_qshape_bucket(&o, o.now_s - cases[i].age_s);
		if (got != cases[i].want)
			fail_msg("age %lld linear %d: got %d want %d", (long long)cases[i].age_s,
				 cases[i].linear, got, cases[i].want);
	}
}

static void put(void *h, const char *id, unsigned q, int64_t arrival, const char *sender,
		const char *r1, const char *r2, const char *reason)
{
	struct mm_qrcpt r[2] = {{.addr = r1}, {.addr = r2}};
	for (int i = 0; i < 2; i++)
		if (reason)
			r[i].rclass = (uint8_t)mm_rclass_of(reason, NULL, &r[i].code),
			r[i].reason = reason;
	struct mm_qmsg m = {.id = id, .sender = sender, .arrival = arrival, .size = 1000,
			    .queue = (uint8_t)q, .nrcpt = r2 ? 2 : 1, .rcpt = r};
	mm_mta_mem_put(h, &m);
}

static char *print(const struct mm_qshape *t, unsigned extras)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	mm_qshape_print(f, t, extras, NULL);
	fclose(f);
	return buf;
}

static void test_table(void **state)
{
	struct mm_err err;
	struct mm_mta_params p = {0};
	struct mm_mta *m = mm_mta_open("none", &p, &err);
	assert_non_null(m);
	int64_t now = 1700000000;
	const char *refused = "connect to 127.0.0.1[127.0.0.1]:1: Connection refused";
	put(m->h, "AAAAAA1", MM_Q_DEFERRED, now - 30, "a@s.test", "u@dead.test", "v@Dead.Test", refused);
	put(m->h, "AAAAAA2", MM_Q_DEFERRED, now - 700, "", "u@slow.test", NULL, NULL);
	put(m->h, "AAAAAA3", MM_Q_ACTIVE, now - 4000, "b@s.test", "w@x.dead.test", NULL, NULL);
	put(m->h, "AAAAAA4", MM_Q_HOLD, now - 10, "b@s.test", "h@hold.test", NULL, NULL);
	put(m->h, "AAAAAA4", MM_Q_HOLD, now - 10, "b@s.test", "h@hold.test", NULL, NULL); /* replace */
	struct mm_qsnap snap = {0};
	assert_int_equal(mm_mta_scan(m, MM_QMASK_ALL, &snap, &err), 0);
	assert_int_equal(snap.n, 4);
	assert_string_equal(mm_mta_mode(m), "memory");

	struct mm_qshape_opts o;
	mm_qshape_opts_default(&o);
	o.now_s = now;
	struct mm_qshape t;
	unsigned q = MM_QMASK(MM_Q_DEFERRED) | MM_QMASK(MM_Q_ACTIVE);
	mm_qshape_build(&snap, q, &o, &t);
	char *out = print(&t, 0);
	static const char want[] =
		"                                         T  5 10 20 40 80 160 320 640 1280 1280+\n"
		"                                  TOTAL  4  2  0  1  0  1   0   0   0    0     0\n"
		"                              dead.test  2  2  0  0  0  0   0   0   0    0     0\n"
		"                              slow.test  1  0  0  1  0  0   0   0   0    0     0\n"
		"                            x.dead.test  1  0  0  0  0  1   0   0   0    0     0\n";
	assert_string_equal(out, want);
	free(out);
	const struct mm_qshape_row *r = mm_qshape_find(&t, "dead.test");
	assert_int_equal(r->nreasons, 1);
	assert_int_equal(r->reasons[0].rclass, MM_RC_REFUSED);
	assert_int_equal(r->reasons[0].count, 2);
	assert_int_equal(r->oldest, now - 30);
	mm_qshape_free(&t);

	/* -s: senders, the null sender is MAILER-DAEMON. */
	o.senders = true;
	mm_qshape_build(&snap, q, &o, &t);
	assert_non_null(mm_qshape_find(&t, "MAILER-DAEMON"));
	assert_int_equal(mm_qshape_find(&t, "s.test")->cells[0], 2);
	assert_int_equal(mm_qshape_find(&t, "TOTAL")->cells[0], 3);
	mm_qshape_free(&t);

	/* -p with -m 1: the parent .dead.test counts x.dead.test; TLDs never. */
	o.senders = false;
	o.parents = true;
	o.minsub = 1;
	mm_qshape_build(&snap, q, &o, &t);
	r = mm_qshape_find(&t, ".dead.test");
	assert_non_null(r);
	assert_int_equal(r->cells[0], 1);
	assert_true(r->shown);
	assert_null(mm_qshape_find(&t, ".test"));
	mm_qshape_free(&t);
	o.minsub = 5;
	mm_qshape_build(&snap, q, &o, &t);
	assert_false(mm_qshape_find(&t, ".dead.test")->shown);
	mm_qshape_free(&t);

	/* -l -b 3 -t 10: headings and the width of a big TOTAL. */
	o.parents = false;
	o.linear = true;
	o.nbuckets = 3;
	o.tick = 10;
	mm_qshape_build(&snap, MM_QMASK_ALL, &o, &t);
	out = print(&t, 0);
	assert_non_null(strstr(out, "T 10 20 20+\n"));
	free(out);
	mm_qshape_free(&t);

	/* The summary: per queue and destination, top 1 + other. */
	struct mm_qsummary sum;
	snap.taken_s = now;
	mm_qsummary_build(&snap, 1, &sum);
	/* qshape's age columns and the example messages of a top destination:
	 * 30 s old -> "5", 700 s -> "20" (folded into other), one example
	 * with its delay reason; none kept for the folded tail. */
	const struct mm_qsum_dest *dd = &sum.q[MM_Q_DEFERRED].dests[0];
	assert_int_equal(dd->ages[0], 1);
	assert_int_equal(sum.q[MM_Q_DEFERRED].other.ages[2], 1);
	assert_int_equal(dd->nsamples, 1);
	assert_string_equal(dd->samples[0].id, "AAAAAA1");
	assert_string_equal(dd->samples[0].reason, refused);
	assert_null(sum.q[MM_Q_DEFERRED].other.samples);
	assert_int_equal(sum.q[MM_Q_DEFERRED].msgs, 2);
	assert_int_equal(sum.q[MM_Q_DEFERRED].rcpts, 3);
	assert_int_equal(sum.q[MM_Q_DEFERRED].bytes, 2000);
	assert_int_equal(sum.q[MM_Q_DEFERRED].oldest, now - 700);
	assert_int_equal(sum.q[MM_Q_DEFERRED].rclass[MM_RC_REFUSED], 2);
	assert_int_equal(sum.q[MM_Q_DEFERRED].ndests, 1);
	assert_string_equal(sum.q[MM_Q_DEFERRED].dests[0].name, "dead.test");
	assert_int_equal(sum.q[MM_Q_DEFERRED].dests[0].msgs, 1); /* two rcpts, one message */
	assert_int_equal(sum.q[MM_Q_DEFERRED].dests[0].rcpts, 2);
	assert_int_equal(sum.q[MM_Q_DEFERRED].other_dests, 1);
	assert_int_equal(sum.q[MM_Q_DEFERRED].other.msgs, 1);
	assert_int_equal(sum.q[MM_Q_HOLD].msgs, 1);
	json_t *j = mm_qsummary_json(&sum, now);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "deferred"), "messages")), 2);
	json_decref(j);
	mm_qsummary_free(&sum);

	assert_true(mm_mta_mem_remove(m->h, "AAAAAA1"));
	assert_false(mm_mta_mem_remove(m->h, "nope"));
	assert_int_equal(mm_mta_scan(m, MM_QMASK(MM_Q_DEFERRED), &snap, &err), 0);
	assert_int_equal(snap.n, 1);
	mm_qsnap_free(&snap);
	mm_mta_close(m);
	assert_null(mm_mta_open("exim", &p, &err));
	assert_non_null(strstr(err.msg, "no queue reader"));
}

/* The summary splits a destination's suspended recipients by the cause
 * quoted after "delivery temporarily suspended", so a dead destination
 * keeps its class (refused, timeout) once all its mail is suspended. */
static void test_suspended_cause(void **state)
{
	static const char *const reasons[] = {
		"delivery temporarily suspended: conversation with 127.0.0.1[127.0.0.1] timed out "
		"while receiving the initial server greeting",
		"delivery temporarily suspended: conversation with 127.0.0.1[127.0.0.1] timed out "
		"while receiving the initial server greeting",
		"conversation with 127.0.0.1[127.0.0.1] timed out while receiving the initial server "
		"greeting",
		"delivery temporarily suspended: connect to 127.0.0.1[127.0.0.1]:1: Connection refused",
		"delivery temporarily suspended",
	};
	static const char *const addrs[] = {"a@slow.test", "b@slow.test", "c@slow.test",
					    "a@dead.test", "b@dead.test"};
	struct mm_qrcpt r[5];
	struct mm_qmsg m[5];
	const struct mm_qmsg *pm[5];
	for (int i = 0; i < 5; i++) {
		uint16_t code;
		r[i] = (struct mm_qrcpt){.addr = addrs[i], .reason = reasons[i]};
		r[i].rclass = (uint8_t)mm_rclass_of(reasons[i], NULL, &r[i].code);
		r[i].cause = (uint8_t)mm_rclass_cause(reasons[i], NULL, &code);
		m[i] = (struct mm_qmsg){.id = addrs[i], .sender = "", .arrival = 1000, .size = 10,
					.queue = MM_Q_DEFERRED, .nrcpt = 1, .rcpt = &r[i]};
		pm[i] = &m[i];
	}
	struct mm_qsnap snap = {.msgs = pm, .n = 5, .taken_s = 1060};
	struct mm_qsummary sum;
	mm_qsummary_build(&snap, 0, &sum);
	const struct mm_qsum_queue *q = &sum.q[MM_Q_DEFERRED];
	assert_int_equal(q->ndests, 2);
	const struct mm_qsum_dest *slow = &q->dests[0], *dead = &q->dests[1];
	assert_string_equal(slow->name, "slow.test");
	assert_int_equal(slow->rclass[MM_RC_SUSPENDED], 2);
	assert_int_equal(slow->rclass[MM_RC_TIMEOUT], 1);
	assert_int_equal(slow->suspended_cause[MM_RC_TIMEOUT], 2);
	assert_string_equal(dead->name, "dead.test");
	assert_int_equal(dead->rclass[MM_RC_SUSPENDED], 2);
	assert_int_equal(dead->suspended_cause[MM_RC_REFUSED], 1);
	assert_int_equal(dead->suspended_cause[MM_RC_NONE], 1);
	assert_int_equal(dead->suspended_cause[MM_RC_TIMEOUT], 0);
	mm_qsummary_free(&sum);
	/* Folded into "other" the split is kept. */
	mm_qsummary_build(&snap, 1, &sum);
	assert_int_equal(sum.q[MM_Q_DEFERRED].other.suspended_cause[MM_RC_REFUSED], 1);
	assert_int_equal(sum.q[MM_Q_DEFERRED].other.suspended_cause[MM_RC_NONE], 1);
	mm_qsummary_free(&sum);
}

static void test_trend(void **state)
{
	struct mm_qtrend *tr = calloc(1, sizeof *tr);
	struct mm_qtrend_out o;
	uint64_t s[MM_Q_N] = {0};
	mm_qtrend_get(tr, MM_QMASK_ALL, 300, &o);
	assert_false(o.known);
	s[MM_Q_DEFERRED] = 1000;
	mm_qtrend_add(tr, 1000, s);
	mm_qtrend_get(tr, MM_QMASK_ALL, 300, &o);
	assert_false(o.known);
	s[MM_Q_DEFERRED] = 1600; /* +600 in 60 s: growing */
	mm_qtrend_add(tr, 1060, s);
	mm_qtrend_get(tr, MM_QMASK(MM_Q_DEFERRED), 300, &o);
	assert_true(o.known);
	assert_true(o.growth_per_min > 599.9 && o.growth_per_min < 600.1);
	assert_false(o.draining);
	s[MM_Q_DEFERRED] = 1000; /* then falling: net -600 over 120 s from 1600 */
	mm_qtrend_add(tr, 1120, s);
	mm_qtrend_get(tr, MM_QMASK(MM_Q_DEFERRED), 60, &o);
	assert_true(o.draining);
	assert_int_equal(o.drain_eta_s, 100); /* 1000 msgs at 10/s */
	/* Over the whole window the queue did not shrink: not draining. */
	mm_qtrend_get(tr, MM_QMASK(MM_Q_DEFERRED), 300, &o);
	assert_false(o.draining);
	assert_int_equal(o.span_s, 120);
	/* Other queues are empty: known, flat, not draining. */
	mm_qtrend_get(tr, MM_QMASK(MM_Q_HOLD), 300, &o);
	assert_true(o.known);
	assert_false(o.draining);
	free(tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_suspended_cause),
		cmocka_unit_test(test_trend),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * vsample_test: samples taken from a metric registry, node-wide and per
 * Postfix instance, and the verdicts they give over a recorded trace.
 *
 * The registry holds what mailmond publishes on a host with two
 * instances (postfix-a delivering, postfix-b whose qmgr is stopped from
 * t = 50 s while its smtpd keeps accepting): the per-instance queue and
 * log families, the node-wide sums, and one qmgr process check per
 * instance. Every 5 s the test writes the figures, takes a node sample
 * and one per instance (mm_vsample_take), and feeds three engines. Want:
 * b stalled naming qmgr stopped, a healthy, the node healthy (the sums
 * hide b's stall: that is why the agent answers per instance). Also the
 * no-answer rule's inputs (test_dest_tally).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/verdict.h"
#include "cluster/vsample.h"
#include "metrics/registry.h"

enum { Q_INST, Q_INST_OLDEST, L_INST_MSGS, L_INST_LINES, Q_NODE, L_NODE_SUB, L_NODE_DLV,
       L_NODE_LINES, P_COUNT, P_STOPPED, F_N };

/* The families as mailmond defines them (queuewatch_metrics.c,
 * logwatch_metrics.c, services_metrics.c): names and labels matter here. */
static const struct mm_metric_def defs[F_N] = {
	[Q_INST] = {"mailmon_queue_instance_messages", "q", MM_METRIC_GAUGE,
		    {"postfix_instance", "queue"}},
	[Q_INST_OLDEST] = {"mailmon_queue_instance_oldest_age_seconds", "q", MM_METRIC_GAUGE,
			   {"postfix_instance", "queue"}},
	[L_INST_MSGS] = {"mailmon_log_instance_messages_total", "l", MM_METRIC_COUNTER,
			 {"postfix_instance", "outcome"}},
	[L_INST_LINES] = {"mailmon_log_instance_program_lines_total", "l", MM_METRIC_COUNTER,
			  {"postfix_instance", "program"}},
	[Q_NODE] = {"mailmon_queue_messages", "q", MM_METRIC_GAUGE, {"queue"}},
	[L_NODE_SUB] = {"mailmon_messages_submitted_total", "l", MM_METRIC_COUNTER, {"channel"}},
	[L_NODE_DLV] = {"mailmon_messages_delivered_total", "l", MM_METRIC_COUNTER, {"channel"}},
	[L_NODE_LINES] = {"mailmon_log_program_lines_total", "l", MM_METRIC_COUNTER, {"program"}},
	[P_COUNT] = {"mailmon_process_count", "p", MM_METRIC_GAUGE, {"service"}},
	[P_STOPPED] = {"mailmon_process_stopped", "p", MM_METRIC_GAUGE, {"service"}},
};

struct host {
	struct mm_metric *f[F_N];
	/* counters and gauges of each instance (0 = a, 1 = b) */
	double sub[2], dlv[2], qlines[2], lines[2], incoming[2], oldest[2];
	bool b_stopped;
};

#define L(...) ((const char *[]){__VA_ARGS__})

static void publish(struct host *h)
{
	static const char *const names[2] = {"postfix-a", "postfix-b"};
	static const char *const qmgr[2] = {"qmgr", "qmgr_b"};
	for (int i = 0; i < 2; i++) {
		mm_metric_set(h->f[Q_INST], L(names[i], "incoming"), h->incoming[i]);
		mm_metric_set(h->f[Q_INST], L(names[i], "active"), 0);
		mm_metric_set(h->f[Q_INST], L(names[i], "deferred"), 0);
		mm_metric_set(h->f[Q_INST_OLDEST], L(names[i], "incoming"), h->oldest[i]);
		mm_metric_set(h->f[L_INST_MSGS], L(names[i], "submitted"), h->sub[i]);
		mm_metric_set(h->f[L_INST_MSGS], L(names[i], "delivered"), h->dlv[i]);
		mm_metric_set(h->f[L_INST_MSGS], L(names[i], "deferred"), 0);
		mm_metric_set(h->f[L_INST_LINES], L(names[i], "qmgr"), h->qlines[i]);
		mm_metric_set(h->f[L_INST_LINES], L(names[i], "smtpd"), h->lines[i]);
		mm_metric_set(h->f[P_COUNT], L(qmgr[i]), 1);
		mm_metric_set(h->f[P_STOPPED], L(qmgr[i]), i == 1 && h->b_stopped ? 1 : 0);
	}
	mm_metric_set(h->f[Q_NODE], L("incoming"), h->incoming[0] + h->incoming[1]);
	mm_metric_set(h->f[Q_NODE], L("active"), 0);
	mm_metric_set(h->f[Q_NODE], L("deferred"), 0);
	mm_metric_set(h->f[L_NODE_SUB], L("smtpd"), h->sub[0] + h->sub[1]);
	mm_metric_set(h->f[L_NODE_DLV], L("smtp"), h->dlv[0] + h->dlv[1]);
	mm_metric_set(h->f[L_NODE_LINES], L("qmgr"), h->qlines[0] + h->qlines[1]);
	mm_metric_set(h->f[L_NODE_LINES], L("smtpd"), h->lines[0] + h->lines[1]);
}

static const struct mm_verdict_conf conf = {
	.window_ms = 45000,
	.fail_ratio = 0.5,
	.min_attempts = 10,
	.flood = {.min_messages = 100, .share = 0.3, .dominant = 0.6},
};

static void test_two_instances(void **state)
{
	struct mm_registry *r = mm_registry_new();
	struct host h = {0};
	struct mm_err err = {{0}};
	assert_int_equal(mm_registry_add_all(r, defs, F_N, h.f, &err), 0);
	static struct mm_verdict_engine node, a, b;
	mm_verdict_init(&node, &conf);
	mm_verdict_init(&a, &conf);
	mm_verdict_init(&b, &conf);
	const struct mm_vsample_names nn = {"", "qmgr", "", NULL};
	const struct mm_vsample_names na = {"", "qmgr", "", "postfix-a"};
	const struct mm_vsample_names nb = {"", "qmgr_b", "", "postfix-b"};
	struct mm_verdict vn, va, vb;
	for (int t = 0; t <= 150; t += 5) {
		/* each instance takes 10 messages per 5 s; b stops delivering at 50 */
		h.b_stopped = t >= 50;
		for (int i = 0; i < 2; i++) {
			h.sub[i] += 10;
			h.lines[i] += 20;
			if (i == 1 && h.b_stopped) {
				h.incoming[1] += 10;
				h.oldest[1] = t - 45 > 0 ? t - 45 : 0;
			} else {
				h.dlv[i] += 10;
				h.qlines[i] += 20;
			}
		}
		publish(&h);
		struct mm_vsample s;
		mm_vsample_take(r, &nn, (int64_t)t * 1000, &s);
		mm_verdict_push(&node, &s);
		mm_vsample_take(r, &na, (int64_t)t * 1000, &s);
		mm_verdict_push(&a, &s);
		mm_vsample_take(r, &nb, (int64_t)t * 1000, &s);
		if (t == 150) { /* b's own figures, not the sums */
			assert_true(s.have_queue && s.have_logs);
			assert_true(s.qmsgs[MM_VQ_INCOMING] == h.incoming[1]);
			assert_true(s.inflow == h.sub[1] && s.delivered == h.dlv[1]);
			assert_true(s.qmgr_lines == h.qlines[1]);
			assert_true(s.all_lines == h.qlines[1] + h.lines[1]);
			assert_int_equal(s.qmgr_stopped, 1);
			assert_int_equal(s.ndests, 0);
		}
		mm_verdict_push(&b, &s);
		mm_verdict_eval(&node, &vn);
		mm_verdict_eval(&a, &va);
		mm_verdict_eval(&b, &vb);
		if (t >= 50)
			assert_int_equal(va.state, MM_V_HEALTHY);
	}
	assert_int_equal(vb.state, MM_V_STALLED);
	assert_true(vb.cause < vb.nreasons);
	assert_string_equal(vb.reasons[vb.cause], "qmgr is stopped (process state T)");
	assert_int_equal(va.state, MM_V_HEALTHY);
	assert_int_equal(vn.state, MM_V_HEALTHY);
	mm_registry_free(r);
}

/* An instance no series names: no queue and no logs of its own (zeros
 * when the families exist), never stalled. */
static void test_unknown_instance(void **state)
{
	struct mm_registry *r = mm_registry_new();
	struct host h = {0};
	struct mm_err err = {{0}};
	assert_int_equal(mm_registry_add_all(r, defs, F_N, h.f, &err), 0);
	h.sub[0] = 5;
	publish(&h);
	const struct mm_vsample_names nx = {"", "", "", "postfix-x"};
	struct mm_vsample s;
	mm_vsample_take(r, &nx, 0, &s);
	assert_true(s.inflow == 0 && s.qmsgs[MM_VQ_INCOMING] == 0 && s.all_lines == 0);
	assert_int_equal(s.qmgr, -1);
	mm_registry_free(r);
	/* Without the families at all: unknown. */
	r = mm_registry_new();
	mm_vsample_take(r, &nx, 0, &s);
	assert_false(s.have_queue || s.have_logs);
	assert_true(s.qmgr_lines < 0 && s.all_lines < 0);
	mm_registry_free(r);
}

/* The no-answer rule's inputs, node-wide: the active queue's size and
 * oldest age per destination, and the log's delivery numbers, read for
 * the destinations the queue families name only. */
static void test_dest_tally(void **state)
{
	static const struct mm_metric_def d[] = {
		[0] = {"mailmon_queue_destination_messages", "q", MM_METRIC_GAUGE, {"queue", "destination"}},
		[1] = {"mailmon_queue_destination_oldest_age_seconds", "q", MM_METRIC_GAUGE,
		 {"queue", "destination"}},
		[2] = {"mailmon_log_destination_last_delivery_number", "l", MM_METRIC_GAUGE,
		 {"destination"}},
		[3] = {"mailmon_log_destination_deliveries_total", "l", MM_METRIC_COUNTER},
		[4] = {"mailmon_log_destination_evicted_last_delivery_number", "l", MM_METRIC_GAUGE},
	};
	struct mm_metric *f[5];
	struct mm_registry *r = mm_registry_new();
	struct mm_err err = {{0}};
	const struct mm_vsample_names nn = {"", "", "", NULL};
	struct mm_vsample s;
	assert_int_equal(mm_registry_add_all(r, d, 3, f, &err), 0);
	mm_vsample_take(r, &nn, 0, &s);
	assert_false(s.have_dest_delivered); /* no tally families: unknown */
	assert_int_equal(mm_registry_add_all(r, d + 3, 2, f + 3, &err), 0);
	mm_metric_set(f[0], L("active", "slow.test"), 300);
	mm_metric_set(f[0], L("deferred", "slow.test"), 20);
	mm_metric_set(f[0], L("active", "sink.test"), 2);
	mm_metric_set(f[1], L("active", "slow.test"), 75);
	mm_metric_set(f[1], L("deferred", "slow.test"), 900);
	mm_metric_set(f[2], L("sink.test"), 41);
	mm_metric_set(f[2], L("elsewhere.test"), 42);
	mm_metric_set(f[3], NULL, 42);
	mm_metric_set(f[4], NULL, 7);
	mm_vsample_take(r, &nn, 0, &s);
	assert_true(s.have_dest_delivered);
	assert_true(s.tally_no == 42 && s.tally_evicted_no == 7);
	assert_int_equal(s.ndests, 2); /* elsewhere.test is not queued: not read */
	const struct mm_vdest *slow = mm_vsample_dest(&s, "slow.test");
	const struct mm_vdest *sink = mm_vsample_dest(&s, "sink.test");
	assert_true(slow->msgs == 320 && slow->active_msgs == 300 && slow->active_oldest == 75);
	assert_true(slow->last_delivery_no == -1); /* not in the tally */
	assert_true(sink->active_msgs == 2 && sink->last_delivery_no == 41);
	mm_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_instances),
		cmocka_unit_test(test_unknown_instance),
		cmocka_unit_test(test_dest_tally),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

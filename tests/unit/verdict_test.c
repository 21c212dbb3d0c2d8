/*
 * verdict_test: the node verdict, the flood detector and the agent answer
 * over metric traces. A trace is a list of samples written the way
 * mailmond would take them every 5 s from the registry (see
 * cluster/vsample.h); each scenario says what the verdict must be at
 * which time: a stalled node against a dead destination, a quiet night,
 * a restarting node, a tarpit, a transport with no process, a silent
 * qmgr, a locked partition.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/agent.h"
#include "cluster/verdict.h"
#include "mta/reason_class.h"

/* One trace line: "key=value ..." with keys
 *   t (s) in act def oin oact (queue sizes, oldest ages in s)
 *   sub dlv dfr bnc (counters)  master qmgr qstop smtpd (-1: unknown)
 *   dest=NAME:MSGS:DEFERRED:CLASS:RCPTS (repeatable; CLASS suspended/CAUSE
 *   is "delivery temporarily suspended: " followed by a CAUSE-class text)
 *   qlines lines (log lines of qmgr, of every program)  unav (deferrals
 *   "mail transport unavailable")  tr=NAME:COUNT ("connect to transport"
 *   warnings, repeatable)  lock=PATH:AVAIL_PCT (a locked partition)
 *   da=NAME:ACTIVE:OLDEST_ACTIVE_S:LAST_NO (a dest= destination's active
 *   messages, oldest active age, number of its last delivery, -1: not in
 *   the log's tally)  tally=DELIVERIES:EVICTED_LAST_NO (the log's delivery
 *   numbers; sets have_dest_delivered) */
static void parse_sample(const char *line, struct mm_vsample *s)
{
	mm_vsample_clear(s, 0);
	s->have_queue = s->have_logs = true;
	char buf[512];
	snprintf(buf, sizeof buf, "%s", line);
	for (char *save, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		assert_non_null(eq);
		*eq = '\0';
		const char *k = tok, *v = eq + 1;
		double x = atof(v);
		if (!strcmp(k, "t"))
			s->t_ms = (int64_t)(x * 1000);
		else if (!strcmp(k, "in"))
			s->qmsgs[MM_VQ_INCOMING] = x;
		else if (!strcmp(k, "act"))
			s->qmsgs[MM_VQ_ACTIVE] = x;
		else if (!strcmp(k, "def"))
			s->qmsgs[MM_VQ_DEFERRED] = x;
		else if (!strcmp(k, "oin"))
			s->qoldest[MM_VQ_INCOMING] = x;
		else if (!strcmp(k, "oact"))
			s->qoldest[MM_VQ_ACTIVE] = x;
		else if (!strcmp(k, "sub"))
			s->inflow = x;
		else if (!strcmp(k, "dlv"))
			s->delivered = x;
		else if (!strcmp(k, "dfr"))
			s->deferred = x;
		else if (!strcmp(k, "bnc"))
			s->bounced = x;
		else if (!strcmp(k, "master"))
			s->master = (int)x;
		else if (!strcmp(k, "qmgr"))
			s->qmgr = (int)x;
		else if (!strcmp(k, "qstop"))
			s->qmgr_stopped = (int)x;
		else if (!strcmp(k, "smtpd"))
			s->smtpd_up = (int)x;
		else if (!strcmp(k, "nologs"))
			s->have_logs = false;
		else if (!strcmp(k, "qlines"))
			s->qmgr_lines = x;
		else if (!strcmp(k, "lines"))
			s->all_lines = x;
		else if (!strcmp(k, "unav"))
			s->unavail_deferred = x;
		else if (!strcmp(k, "tr") || !strcmp(k, "lock")) {
			bool tr = !strcmp(k, "tr");
			struct mm_vnamed *n = tr ? &s->transports[s->ntransports++]
						 : &s->locked[s->nlocked++];
			assert_int_equal(sscanf(v, "%127[^:]:%lf", n->name, &n->value), 2);
		}
		else if (!strcmp(k, "da")) {
			char name[128];
			double act, old, dlv;
			assert_int_equal(sscanf(v, "%127[^:]:%lf:%lf:%lf", name, &act, &old, &dlv), 4);
			struct mm_vdest *d = mm_vsample_dest(s, name);
			assert_non_null(d);
			d->active_msgs = act;
			d->active_oldest = old;
			d->last_delivery_no = dlv;
		}
		else if (!strcmp(k, "tally")) {
			assert_int_equal(sscanf(v, "%lf:%lf", &s->tally_no, &s->tally_evicted_no), 2);
			s->have_dest_delivered = true;
		}
		else if (!strcmp(k, "dest")) {
			char name[128], cls[32];
			double msgs, dfr, rc;
			assert_int_equal(sscanf(v, "%127[^:]:%lf:%lf:%31[^:]:%lf", name, &msgs, &dfr,
						cls, &rc),
					 5);
			struct mm_vdest *d = mm_vsample_dest(s, name);
			assert_non_null(d);
			d->msgs = msgs;
			d->deferred = dfr;
			char *cause = strchr(cls, '/');
			if (cause)
				*cause++ = '\0';
			for (unsigned c = 0; c < MM_RC_N; c++) {
				if (!strcmp(cls, mm_rclass_name(c)))
					d->rc[c] += rc;
				if (cause && !strcmp(cause, mm_rclass_name(c)))
					d->suspended_cause[c] += rc;
			}
		} else
			fail_msg("unknown trace key %s", k);
	}
}

static const struct mm_verdict_conf conf = {
	.window_ms = 45000,
	.fail_ratio = 0.5,
	.min_attempts = 10,
	.flood = {.min_messages = 100, .share = 0.3, .dominant = 0.6, .unanswered_after_ms = 60000},
};

/* Feeds lines[] to a fresh engine; returns the verdict after the last. */
static void run(struct mm_verdict_engine *v, const char *const *lines, size_t n,
		struct mm_verdict *out)
{
	for (size_t i = 0; i < n; i++) {
		struct mm_vsample s;
		parse_sample(lines[i], &s);
		mm_verdict_push(v, &s);
		mm_verdict_eval(v, out);
	}
}

static bool has_reason(const struct mm_verdict *out, const char *needle)
{
	for (size_t i = 0; i < out->nreasons; i++)
		if (strstr(out->reasons[i], needle))
			return true;
	return false;
}

/* Steady traffic: 10 messages in and out per 5 s, then from t=100 qmgr is
 * stopped (kill -STOP): inflow goes on, nothing is attempted, incoming
 * grows and its oldest message ages. */
static void test_stalled_node(void **state)
{
	struct mm_verdict_engine *v = malloc(sizeof *v);
	mm_verdict_init(v, &conf);
	struct mm_verdict out;
	char line[256];
	int64_t stalled_at = -1;
	for (int t = 0; t <= 200; t += 5) {
		bool stop = t > 100;
		int since = stop ? t - 100 : 0;
		snprintf(line, sizeof line,
			 "t=%d in=%d act=%d def=0 oin=%d oact=0 sub=%d dlv=%d dfr=0 bnc=0 master=1 "
			 "qmgr=1 qstop=%d smtpd=1",
			 t, stop ? since * 2 : 1, stop ? 2 : 1, stop ? since : 1, t * 2,
			 stop ? 200 : t * 2, stop ? 1 : 0);
		run(v, (const char *[]){line}, 1, &out);
		if (!stop)
			assert_int_equal(out.state, MM_V_HEALTHY);
		if (out.state == MM_V_STALLED && stalled_at < 0)
			stalled_at = t;
	}
	/* Stalled one window (45 s) after the last attempt, plus one sample. */
	assert_true(stalled_at > 100 && stalled_at <= 155);
	assert_int_equal(out.state, MM_V_STALLED);
	assert_true(has_reason(&out, "accepting mail"));
	assert_true(has_reason(&out, "qmgr is stopped (process state T)"));
	assert_int_equal(out.since_ms, stalled_at * 1000);
	char buf[1024];
	mm_verdict_line(&out, buf, sizeof buf);
	assert_true(strncmp(buf, "stalled (accepting mail (", 25) == 0);
	struct mm_agent_conf ac = {.low_backlog = 100, .full_backlog = 5000, .min_weight = 10};
	mm_agent_answer(&ac, &out, buf, sizeof buf);
	assert_string_equal(buf, "drain #stalled: qmgr is stopped (process state T)\n");
	assert_int_equal(buf[strlen(buf) - 1], '\n');

	/* kill -CONT: the backlog goes out, the node is healthy again. */
	snprintf(line, sizeof line,
		 "t=205 in=0 act=40 def=0 oin=0 oact=2 sub=410 dlv=300 dfr=0 bnc=0 master=1 "
		 "qmgr=1 qstop=0 smtpd=1");
	run(v, (const char *[]){line}, 1, &out);
	assert_int_equal(out.state, MM_V_HEALTHY);
	assert_int_equal(out.since_ms, 205000);
	mm_agent_answer(&ac, &out, buf, sizeof buf);
	assert_string_equal(buf, "up ready 100%\n");
	free(v);
}

/* qmgr gone (count 0) and no log data at all: the queue alone shows the
 * stall, and the cause is named. */
static void test_stalled_qmgr_missing_no_logs(void **state)
{
	struct mm_verdict_engine *v = malloc(sizeof *v);
	mm_verdict_init(v, &conf);
	struct mm_verdict out;
	char line[256];
	for (int t = 0; t <= 120; t += 5) {
		snprintf(line, sizeof line,
			 "t=%d in=%d act=0 def=0 oin=%d master=1 qmgr=0 qstop=0 nologs=1", t,
			 5 + t / 5, t + 10);
		run(v, (const char *[]){line}, 1, &out);
	}
	assert_int_equal(out.state, MM_V_STALLED);
	assert_true(has_reason(&out, "qmgr is not running"));
	assert_true(has_reason(&out, "no log data"));
	free(v);
}

/* A dead destination: the node attempts, and the attempts to dead.test
 * fail with "Connection refused". Degraded, never stalled, and named. */
static void test_dead_destination(void **state)
{
	struct mm_verdict_engine *v = malloc(sizeof *v);
	mm_verdict_init(v, &conf);
	struct mm_verdict out;
	char line[400];
	for (int t = 0; t <= 300; t += 5) {
		int backlog = t * 7; /* 2,100 after 300 s */
		snprintf(line, sizeof line,
			 "t=%d in=3 act=20 def=%d oin=1 oact=3 sub=%d dlv=%d dfr=%d bnc=0 "
			 "master=1 qmgr=1 qstop=0 smtpd=1 dest=dead.test:%d:%d:refused:%d "
			 "dest=sink.test:5:0:none:5",
			 t, backlog, t * 9, t * 2, t * 12, backlog + 20, backlog, backlog);
		run(v, (const char *[]){line}, 1, &out);
		assert_true(out.state != MM_V_STALLED);
	}
	assert_int_equal(out.state, MM_V_DEGRADED);
	assert_true(has_reason(&out, "flooded destination dead.test: 2,120 messages"));
	assert_true(has_reason(&out, "refused"));
	assert_true(has_reason(&out, "delivery attempts deferred"));
	assert_int_equal(out.floods.n, 1);
	assert_string_equal(out.floods.v[0].dest, "dead.test");
	assert_string_equal(out.floods.v[0].rclass, "refused");
	/* +7 per second is +420 per minute. */
	assert_true(out.floods.v[0].growth_per_min > 400 && out.floods.v[0].growth_per_min < 440);
	free(v);
}

/* A tarpit: messages pile up in the active queue (reason none: being
 * delivered) while the finished attempts time out. The class is timeout,
 * and the node is degraded, not stalled, because normal mail flows. */
static void test_tarpit(void **state)
{
	struct mm_verdict_engine *v = malloc(sizeof *v);
	mm_verdict_init(v, &conf);
	struct mm_verdict out;
	char line[400];
	for (int t = 0; t <= 120; t += 5)  {
		snprintf(line, sizeof line,
			 "t=%d in=0 act=%d def=%d oin=0 oact=%d sub=%d dlv=%d dfr=%d master=1 qmgr=1 "
			 "qstop=0 smtpd=1 dest=slow.test:%d:%d:timeout:%d",
			 t, 100 + t, t * 3, t, t * 20, t * 2, t * 3, 100 + t * 4, t * 3, t * 3);
		run(v, (const char *[]){line}, 1, &out);
	}
	assert_int_equal(out.state, MM_V_DEGRADED);
	assert_int_equal(out.floods.n, 1);
	assert_string_equal(out.floods.v[0].rclass, "timeout");
	free(v);
}

/* The unanswered rule (flood.h) over recorded traces, one sample per
 * 5 s. Each scenario: a destination x.test fed by a flow, beside
 * sink.test (10 queued, 2 delivered per second: the tally's numbers
 * grow by 10 per sample). kind:
 *   tarpit   accepts TCP, never answers: 50 new messages per sample go
 *            into the active queue and stay, reason none, never
 *            delivered (no row in the log's tally, nothing evicted)
 *   busy     3,000 in the active queue, oldest 60-160 s old, delivering
 *            every sample: a backlog that delivers
 *   slow     150 in the active queue of big messages, one delivered
 *            every 50 s
 *   quiet    5 in the active queue, nothing delivered: below
 *            flood_min_messages
 *   nolog    the tarpit with no tally (no log pipeline)
 *   churn    the tarpit's figures, but on a node delivering to more
 *            domains than the tally holds: domains leave it all the time
 *            (the evicted number follows the latest), so "nothing
 *            delivered" to a domain with no row is unknown
 *   old      the tarpit after other domains left the tally long ago
 *            (evicted number fixed before the flood): still flagged
 * want: when x.test is flagged (s after the flood began), or never. */
static void test_unanswered(void **state)
{
	static const struct {
		const char *kind;
		int flagged_from, flagged_by; /* -1: never */
	} cases[] = {
		{"tarpit", 60, 65}, {"busy", -1, -1},  {"slow", -1, -1}, {"quiet", -1, -1},
		{"nolog", -1, -1},  {"churn", -1, -1}, {"old", 60, 65},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct mm_verdict_engine *v = malloc(sizeof *v);
		mm_verdict_init(v, &conf);
		struct mm_verdict out;
		const char *kind = cases[c].kind;
		bool tarpit = !strcmp(kind, "tarpit") || !strcmp(kind, "nolog") ||
			      !strcmp(kind, "churn") || !strcmp(kind, "old");
		int first = -1;
		for (int t = 0; t <= 200; t += 5) {
			double act, old, last, tally = 1000 + 2.0 * t, evicted = 0;
			if (tarpit) {
				act = 50.0 * (t / 5 + 1);
				old = t;
				last = -1;
				if (!strcmp(kind, "churn"))
					evicted = tally - 1;
				if (!strcmp(kind, "old"))
					evicted = 900;
			} else if (!strcmp(kind, "busy")) {
				act = 3000;
				old = 60 + t / 2;
				last = tally;
			} else if (!strcmp(kind, "slow")) {
				act = 150;
				old = 100 + t;
				last = 1000 + 2.0 * (t / 50 * 50); /* one every 50 s */
			} else {
				act = 5;
				old = 100 + t;
				last = -1;
			}
			char line[512], da[160] = "";
			if (strcmp(kind, "nolog") != 0)
				snprintf(da, sizeof da,
					 "da=x.test:%.0f:%.0f:%.0f da=sink.test:10:1:%.0f tally=%.0f:%.0f",
					 act, old, last, tally, tally, evicted);
			snprintf(line, sizeof line,
				 "t=%d in=0 act=%.0f def=0 oin=0 oact=%.0f sub=%d dlv=%d dfr=0 bnc=0 "
				 "master=1 qmgr=1 qstop=0 smtpd=1 dest=x.test:%.0f:0:none:%.0f "
				 "dest=sink.test:10:0:none:10 %s",
				 t, act + 10, old, t * 12, t * 2, act, act, da);
			run(v, (const char *[]){line}, 1, &out);
			if (out.floods.n > 0 && first < 0) {
				first = t;
				assert_string_equal(out.floods.v[0].dest, "x.test");
				assert_string_equal(out.floods.v[0].rclass, "timeout");
				assert_true(out.floods.v[0].unanswered);
				assert_int_equal(out.state, MM_V_DEGRADED);
				assert_true(has_reason(&out, "timeout (no answer: "));
				assert_true(has_reason(&out, "nothing delivered in 60 s"));
			}
		}
		if (cases[c].flagged_from < 0 && first >= 0)
			fail_msg("%s: flagged at %d s, want never", kind, first);
		if (cases[c].flagged_from >= 0 &&
		    (first < cases[c].flagged_from || first > cases[c].flagged_by))
			fail_msg("%s: flagged at %d s, want %d-%d s", kind, first,
				 cases[c].flagged_from, cases[c].flagged_by);
		free(v);
	}
}

/* A dead destination after Postfix marked it dead: every pending
 * recipient's reason is "delivery temporarily suspended: CAUSE" (the
 * messages that failed first were tried again and suspended too). The
 * class is the cause's, timeout for a tarpit and refused for a refusing
 * server, never "suspended"; the node is degraded. */
static void test_all_suspended(void **state)
{
	static const struct {
		const char *dest, *cause;
	} cases[] = {{"slow.test", "timeout"}, {"dead.test", "refused"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mm_verdict_engine *v = malloc(sizeof *v);
		mm_verdict_init(v, &conf);
		struct mm_verdict out;
		char line[400], want[64];
		for (int t = 0; t <= 120; t += 5) {
			snprintf(line, sizeof line,
				 "t=%d in=0 act=10 def=%d oin=0 oact=5 sub=%d dlv=%d dfr=%d master=1 "
				 "qmgr=1 qstop=0 smtpd=1 dest=%s:%d:%d:suspended/%s:%d",
				 t, 500 + t * 4, t * 6, t * 2, t * 4, cases[i].dest, 500 + t * 4,
				 500 + t * 4, cases[i].cause, 500 + t * 4);
			run(v, (const char *[]){line}, 1, &out);
		}
		assert_int_equal(out.state, MM_V_DEGRADED);
		assert_int_equal(out.floods.n, 1);
		assert_string_equal(out.floods.v[0].dest, cases[i].dest);
		assert_string_equal(out.floods.v[0].rclass, cases[i].cause);
		snprintf(want, sizeof want, "flooded destination %s:", cases[i].dest);
		assert_true(has_reason(&out, want));
		assert_true(has_reason(&out, cases[i].cause));
		free(v);
	}
}

/* A quiet night: no traffic for hours, an empty queue, or three deferred
 * messages not due yet. Healthy, never stalled. */
static void test_quiet_night(void **state)
{
	struct mm_verdict_engine *v = malloc(sizeof *v);
	mm_verdict_init(v, &conf);
	struct mm_verdict out;
	char line[256];
	for (int t = 0; t <= 4 * 3600; t += 5) {
		snprintf(line, sizeof line,
			 "t=%d in=0 act=0 def=%d oin=0 oact=0 sub=500 dlv=497 dfr=12 master=1 qmgr=1 "
			 "qstop=0 smtpd=1 dest=far.test:3:3:4xx:3",
			 t, 3);
		run(v, (const char *[]){line}, 1, &out);
		assert_int_equal(out.state, MM_V_HEALTHY);
	}
	assert_true(has_reason(&out, "3 messages queued, none due"));
	/* An empty queue says idle. */
	run(v,
	    (const char *[]){"t=14405 in=0 act=0 def=0 sub=500 dlv=497 dfr=12 master=1 qmgr=1 "
			     "qstop=0 smtpd=1"},
	    1, &out);
	assert_true(has_reason(&out, "idle"));
	/* One message arriving just before a sample is not a stall. */
	run(v,
	    (const char *[]){"t=14410 in=1 act=0 def=0 oin=0 sub=501 dlv=497 dfr=12 master=1 "
			     "qmgr=1 qstop=0 smtpd=1"},
	    1, &out);
	assert_int_equal(out.state, MM_V_HEALTHY);
	free(v);
}

/* A node being restarted: the master is gone for 10 s (down), then back
 * with mailmond's counters reset (a restart of both). Never stalled;
 * healthy again as soon as it delivers. */
static void test_restart(void **state)
{
	struct mm_verdict_engine *v = malloc(sizeof *v);
	mm_verdict_init(v, &conf);
	struct mm_verdict out;
	char line[256];
	for (int t = 0; t <= 100; t += 5) {
		snprintf(line, sizeof line,
			 "t=%d in=1 act=1 def=0 oin=0 oact=0 sub=%d dlv=%d master=1 qmgr=1 qstop=0 "
			 "smtpd=1",
			 t, 1000 + t, 1000 + t);
		run(v, (const char *[]){line}, 1, &out);
		assert_int_equal(out.state, MM_V_HEALTHY);
	}
	run(v,
	    (const char *[]){"t=105 in=2 act=1 oin=3 sub=1105 dlv=1100 master=0 qmgr=0 qstop=0 "
			     "smtpd=0",
			     "t=110 in=2 act=1 oin=8 sub=1105 dlv=1100 master=0 qmgr=0 qstop=0 smtpd=0"},
	    2, &out);
	assert_int_equal(out.state, MM_V_DOWN);
	assert_true(has_reason(&out, "master process is not running"));
	assert_true(has_reason(&out, "smtpd fails its probe"));
	struct mm_agent_conf ac = {.low_backlog = 100, .full_backlog = 5000, .min_weight = 10};
	char buf[300];
	mm_agent_answer(&ac, &out, buf, sizeof buf);
	assert_string_equal(buf, "down #the MTA master process is not running\n");
	/* Back, counters from zero: deltas count from zero, not negative. */
	for (int t = 115; t <= 200; t += 5) {
		snprintf(line, sizeof line,
			 "t=%d in=0 act=1 def=0 oin=0 oact=0 sub=%d dlv=%d master=1 qmgr=1 qstop=0 "
			 "smtpd=1",
			 t, t - 110, t - 110);
		run(v, (const char *[]){line}, 1, &out);
		assert_int_equal(out.state, MM_V_HEALTHY);
	}
	assert_int_equal(out.since_ms, 115000);
	/* mailmond itself restarted: a new engine warms up as healthy even
	 * with a full incoming queue. */
	mm_verdict_init(v, &conf);
	run(v,
	    (const char *[]){"t=300 in=50 act=0 oin=200 sub=0 dlv=0 master=1 qmgr=1 qstop=0 smtpd=1"},
	    1, &out);
	assert_int_equal(out.state, MM_V_HEALTHY);
	assert_true(out.warming_up);
	free(v);
}

/* A transport with no process (its master.cf service commented out), as
 * Postfix 3.7 showed it live: qmgr warns "connect to transport
 * private/relay" about once a minute, and every message for it is
 * deferred at once by the error agent ("mail transport unavailable"),
 * so incoming+active stay empty while the deferred queue grows. From
 * t=100 all mail goes that way: stalled, the transport named. */
static void test_transport_without_process(void **state)
{
	struct mm_verdict_engine *v = malloc(sizeof *v);
	mm_verdict_init(v, &conf);
	struct mm_verdict out;
	char line[400];
	int64_t stalled_at = -1;
	for (int t = 0; t <= 200; t += 5) {
		bool broken = t > 100;
		int since = broken ? t - 100 : 0;
		snprintf(line, sizeof line,
			 "t=%d in=0 act=%d def=%d oin=0 oact=0 sub=%d dlv=%d dfr=%d unav=%d bnc=0 "
			 "master=1 qmgr=1 qstop=0 smtpd=1 qlines=%d lines=%d%s",
			 t, broken ? 0 : 1, since * 2, t * 2, broken ? 200 : t * 2, since * 2,
			 since * 2, t * 4, t * 12,
			 t >= 105 ? (t >= 165 ? " tr=relay:2" : " tr=relay:1") : "");
		run(v, (const char *[]){line}, 1, &out);
		if (!broken)
			assert_int_equal(out.state, MM_V_HEALTHY);
		else
			assert_true(out.state != MM_V_HEALTHY || t < 110);
		if (out.state == MM_V_STALLED && stalled_at < 0)
			stalled_at = t;
	}
	/* The deferrals are not attempts: stalled once the last real attempt
	 * left the window. Until then degraded, naming the transport. */
	assert_true(stalled_at > 100 && stalled_at <= 150);
	assert_int_equal(out.state, MM_V_STALLED);
	assert_true(has_reason(&out, "accepting mail"));
	assert_true(has_reason(&out, "90 deferred without an attempt (mail transport unavailable)"));
	assert_string_equal(out.reasons[out.nreasons - 1],
			    "transport relay has no process (qmgr cannot connect to private/relay)");
	assert_true(out.attempts == 0 && out.unavailable == 90);
	struct mm_agent_conf ac = {.low_backlog = 100, .full_backlog = 5000, .min_weight = 10};
	char buf[300];
	mm_agent_answer(&ac, &out, buf, sizeof buf);
	assert_string_equal(
		buf, "drain #stalled: transport relay has no process (qmgr cannot connect to "
		     "private/relay)\n");
	/* Another transport's mail flows again while relay's is deferred:
	 * attempts happen, so degraded, the transport still named. */
	for (int t = 205; t <= 260; t += 5) {
		snprintf(line, sizeof line,
			 "t=%d in=0 act=1 def=%d sub=%d dlv=%d dfr=%d unav=%d master=1 qmgr=1 "
			 "qstop=0 smtpd=1 qlines=%d lines=%d tr=relay:3",
			 t, 200 + t - 200, t * 2, 200 + (t - 200) * 2, 200 + t - 200, 200 + t - 200,
			 t * 4, t * 12);
		run(v, (const char *[]){line}, 1, &out);
	}
	assert_int_equal(out.state, MM_V_DEGRADED);
	assert_true(has_reason(&out, "transport relay has no process"));
	assert_true(out.failed == 0); /* no real attempt failed */
	mm_agent_answer(&ac, &out, buf, sizeof buf);
	assert_string_equal(buf, "up ready 97%\n"); /* 260 deferred */
	free(v);
}

/* qmgr present and not stopped (state D: hung, or frozen by a cgroup)
 * but silent: its log line count stands still while smtpd logs and
 * incoming grows. When nothing at all is logged, the log is suspect
 * rather than qmgr. */
static void test_qmgr_not_logging(void **state)
{
	for (int quiet_log = 0; quiet_log <= 1; quiet_log++) {
		struct mm_verdict_engine *v = malloc(sizeof *v);
		mm_verdict_init(v, &conf);
		struct mm_verdict out;
		char line[300];
		for (int t = 0; t <= 160; t += 5) {
			bool hung = t > 100;
			int since = hung ? t - 100 : 0;
			snprintf(line, sizeof line,
				 "t=%d in=%d act=0 def=0 oin=%d sub=%d dlv=%d master=1 qmgr=1 "
				 "qstop=0 smtpd=1 qlines=%d lines=%d",
				 t, hung ? since * 2 : 1, hung ? since : 1,
				 quiet_log && hung ? 200 : t * 2, hung ? 200 : t * 2,
				 hung ? 400 : t * 4, quiet_log && hung ? 1200 : t * 12);
			run(v, (const char *[]){line}, 1, &out);
			if (!hung)
				assert_int_equal(out.state, MM_V_HEALTHY);
		}
		assert_int_equal(out.state, MM_V_STALLED);
		assert_string_equal(out.reasons[out.nreasons - 1],
				    quiet_log ? "nothing was logged in 45 s (is the log read current?)"
					      : "qmgr is not logging (no log line in 45 s)");
		assert_int_equal(out.cause, out.nreasons - 1);
		free(v);
	}
}

/* A partition locked by [disk] lock_command: the node is degraded and the
 * agent drains it, naming the partition; unlocked, it is ready again. A
 * stalled node with a locked partition still gives the stall's cause. */
static void test_locked_partition(void **state)
{
	struct mm_verdict_engine *v = malloc(sizeof *v);
	mm_verdict_init(v, &conf);
	struct mm_verdict out;
	char line[300];
	struct mm_agent_conf ac = {.low_backlog = 100, .full_backlog = 5000, .min_weight = 10};
	char buf[300];
	for (int t = 0; t <= 120; t += 5) {
		snprintf(line, sizeof line,
			 "t=%d in=1 act=1 def=0 sub=%d dlv=%d master=1 qmgr=1 qstop=0 smtpd=1%s", t,
			 t * 2, t * 2, t >= 60 && t < 100 ? " lock=/var/spool/postfix:4.25" : "");
		run(v, (const char *[]){line}, 1, &out);
		mm_agent_answer(&ac, &out, buf, sizeof buf);
		if (t >= 60 && t < 100) {
			assert_int_equal(out.state, MM_V_DEGRADED);
			assert_true(out.drain);
			assert_string_equal(buf,
					    "drain #partition /var/spool/postfix is locked (4.2% "
					    "available)\n");
		} else {
			assert_int_equal(out.state, MM_V_HEALTHY);
			assert_false(out.drain);
			assert_string_equal(buf, "up ready 100%\n");
		}
	}
	/* Stalled (qmgr stopped) and locked: both named, the stall drains. */
	for (int t = 125; t <= 200; t += 5) {
		snprintf(line, sizeof line,
			 "t=%d in=%d act=0 oin=%d sub=%d dlv=240 master=1 qmgr=1 qstop=1 smtpd=1 "
			 "lock=/var/spool/postfix:3",
			 t, t - 120, t - 120, t * 2);
		run(v, (const char *[]){line}, 1, &out);
	}
	assert_int_equal(out.state, MM_V_STALLED);
	assert_true(has_reason(&out, "partition /var/spool/postfix is locked (3.0% available)"));
	mm_agent_answer(&ac, &out, buf, sizeof buf);
	assert_string_equal(buf, "drain #stalled: qmgr is stopped (process state T)\n");
	free(v);
}

static void test_agent_weight(void **state)
{
	struct mm_agent_conf ac = {.low_backlog = 100, .full_backlog = 1100, .min_weight = 10};
	assert_int_equal(mm_agent_weight(&ac, 0), 100);
	assert_int_equal(mm_agent_weight(&ac, 100), 100);
	assert_int_equal(mm_agent_weight(&ac, 600), 55);
	assert_int_equal(mm_agent_weight(&ac, 1100), 10);
	assert_int_equal(mm_agent_weight(&ac, 1e9), 10);
	struct mm_verdict d = {.state = MM_V_DEGRADED, .backlog = 600};
	char buf[64];
	mm_agent_answer(&ac, &d, buf, sizeof buf);
	assert_string_equal(buf, "up ready 55%\n");
	/* A reason longer than the buffer is cut, the newline kept. */
	struct mm_verdict s = {.state = MM_V_STALLED, .nreasons = 1};
	memset(s.reasons[0], 'x', 150);
	assert_int_equal(mm_agent_answer(&ac, &s, buf, 32), 31);
	assert_int_equal(buf[30], '\n');
}

static void test_agent_request(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"postfix-out\n", "postfix-out"}, {"  b_2.x \r\n", "b_2.x"}, {"", ""},
		{"a/b\n", ""}, {"name extra\n", "name"}, {"\xff\n", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[16];
		mm_agent_request(cases[i].in, strlen(cases[i].in), name, sizeof name);
		assert_string_equal(name, cases[i].want);
	}
	char name[4];
	mm_agent_request("abcdef", 6, name, sizeof name);
	assert_string_equal(name, "abc");
}

/* Flood rules on one pair of samples. */
static void test_flood_rules(void **state)
{
	struct mm_vsample then, now;
	struct mm_floods f;
	const struct mm_flood_conf fc = {.min_messages = 100, .share = 0.3, .dominant = 0.6};
	/* Share 2000/3000 with a mixed reason: no dominant class, no flood. */
	parse_sample("t=0 def=1000", &then);
	parse_sample("t=60 def=3000 dest=mix.test:2000:2000:refused:1000 "
		     "dest=mix.test:2000:2000:timeout:1000",
		     &now);
	mm_flood_detect(&fc, &then, NULL, &now, &f);
	assert_int_equal(f.n, 0);
	/* Too small. */
	parse_sample("t=60 def=150 dest=a.test:99:99:refused:99", &now);
	mm_flood_detect(&fc, &then, NULL, &now, &f);
	assert_int_equal(f.n, 0);
	/* Small share but the fastest grower: flagged; suspended folds into
	 * the dominant class. */
	parse_sample("t=0 def=5000 dest=big.test:4000:4000:4xx:4000 dest=grow.test:10:10:dns:10",
		     &then);
	parse_sample("t=60 def=5300 dest=big.test:4000:4000:4xx:4000 "
		     "dest=grow.test:310:310:dns:100 dest=grow.test:310:310:suspended:210",
		     &now);
	mm_flood_detect(&fc, &then, NULL, &now, &f);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.v[0].dest, "big.test");
	assert_string_equal(f.v[0].rclass, "4xx");
	assert_string_equal(f.v[1].dest, "grow.test");
	assert_string_equal(f.v[1].rclass, "dns");
	assert_true(f.v[1].growth_per_min > 299 && f.v[1].growth_per_min < 301);
	/* Suspended with a cause votes for the cause; with no cause quoted
	 * (or from a mailmond without the split) it is the class of the
	 * rest, or "suspended" when alone. want NULL: no flood. */
	static const struct {
		const char *now, *want;
	} susp[] = {
		{"dest=x.test:300:300:refused:50 dest=x.test:300:300:suspended/refused:250", "refused"},
		{"dest=x.test:300:300:refused:50 dest=x.test:300:300:suspended/timeout:150 "
		 "dest=x.test:300:300:suspended/refused:100",
		 NULL},
		{"dest=x.test:300:300:suspended:300", "suspended"},
		{"dest=x.test:300:300:suspended/none:300", "suspended"},
		{"dest=x.test:300:300:timeout:10 dest=x.test:300:300:suspended:290", "timeout"},
	};
	parse_sample("t=0 def=0", &then);
	for (size_t i = 0; i < sizeof susp / sizeof susp[0]; i++) {
		char line[300];
		snprintf(line, sizeof line, "t=60 def=300 %s", susp[i].now);
		parse_sample(line, &now);
		mm_flood_detect(&fc, &then, NULL, &now, &f);
		if (f.n != (susp[i].want ? 1u : 0u) ||
		    (susp[i].want && strcmp(f.v[0].rclass, susp[i].want) != 0))
			fail_msg("%s: got %zu floods (%s), want %s", susp[i].now, f.n,
				 f.n ? f.v[0].rclass : "-", susp[i].want ? susp[i].want : "none");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stalled_node),
		cmocka_unit_test(test_stalled_qmgr_missing_no_logs),
		cmocka_unit_test(test_dead_destination),
		cmocka_unit_test(test_tarpit),
		cmocka_unit_test(test_unanswered),
		cmocka_unit_test(test_all_suspended),
		cmocka_unit_test(test_quiet_night),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_transport_without_process),
		cmocka_unit_test(test_qmgr_not_logging),
		cmocka_unit_test(test_locked_partition),
		cmocka_unit_test(test_agent_weight),
		cmocka_unit_test(test_agent_request),
		cmocka_unit_test(test_flood_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

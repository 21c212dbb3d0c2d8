/*
 * progstat_test: log lines per program and the signs of a transport with
 * no process, from real Postfix 3.7 lines (the transport ones recorded
 * on the lab Postfix with a transport map naming a service not in
 * master.cf).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "logs/progstat.h"
#include "parsers/postfix.h"

static const char *const lines[] = {
	"Dec 07 20:50:01 mail postfix-vexp/qmgr[16087]: warning: connect to transport "
	"private/nosuch: No such file or directory",
	"Dec 07 20:50:01 mail postfix-vexp/error[16150]: 7B734A72773: to=<u0@broken.test>, "
	"relay=none, delay=0.02, delays=0.01/0.01/0/0.01, dsn=4.3.0, status=deferred (mail "
	"transport unavailable)",
	"Dec 07 20:50:02 mail postfix-vexp/error[16150]: 7CE3CA72714: to=<u1@broken.test>, "
	"relay=none, delay=9, delays=9/0/0/0, dsn=4.3.0, status=deferred (delivery "
	"temporarily suspended: mail transport unavailable)",
	"Dec 07 20:49:21 mail postfix-vexp/qmgr[9328]: 65FF2A72489: from=<a@client.lab.test>, "
	"size=478, nrcpt=1 (queue active)",
	"Dec 07 20:51:41 mail postfix-vexp/qmgr[9328]: warning: connect to transport "
	"private/nosuch: No such file or directory",
	"Dec 07 20:51:42 mail postfix/qmgr[9]: warning: connect to transport private/two words: "
	"x",
	"Dec 07 20:51:42 mail postfix/qmgr[9]: warning: connect to transport private/relay",
	"Dec 07 20:51:43 mail postfix/smtp[9]: warning: connect to transport private/x: y",
	"Dec 07 20:51:44 mail postfix/smtpd[9]: connect from client[127.0.0.1]",
	"Dec 07 20:51:45 mail postfix/smtp[9]: 7CE3CA72714: to=<u1@x.test>, relay=none, "
	"delay=9, delays=9/0/0/0, dsn=4.4.1, status=deferred (connect refused)",
	"not a syslog line",
};

static uint64_t row(const struct mm_progstat_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return t->v[i].n;
	return 0;
}

static void test_lines(void **state)
{
	struct mm_progstat ps;
	mm_progstat_init(&ps);
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		struct mm_log_event ev;
		mm_postfix_parse(lines[i], strlen(lines[i]), 2026, &ev);
		mm_progstat_event(&ps, &ev);
	}
	static const struct {
		const char *name;
		uint64_t want;
	} progs[] = {{"qmgr", 5}, {"error", 2}, {"smtp", 2}, {"smtpd", 1}};
	for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++)
		assert_int_equal(row(&ps.programs, progs[i].name), progs[i].want);
	assert_int_equal(ps.programs.n, 4);
	/* Only qmgr's warning with a one-word name ending in ':' counts. */
	assert_int_equal(ps.transports.n, 1);
	assert_int_equal(row(&ps.transports, "nosuch"), 2);
	assert_int_equal(ps.unavailable_deferred, 2);
}

/* More programs than rows: the rest count as "other"; a long name is cut. */
static void test_cap(void **state)
{
	struct mm_progstat ps;
	mm_progstat_init(&ps);
	char line[300], name[100];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "p%02d%s", i, i == 0 ? "-a-very-long-program-name-well-beyond-the-forty-eight-byte-row" : "");
		snprintf(line, sizeof line, "Dec 07 20:51:44 mail postfix/%s[9]: hello", name);
		struct mm_log_event ev;
		mm_postfix_parse(line, strlen(line), 2026, &ev);
		mm_progstat_event(&ps, &ev);
	}
	assert_int_equal(ps.programs.n, MM_PROGSTAT_MAX);
	assert_int_equal(row(&ps.programs, "other"), 100 - (MM_PROGSTAT_MAX - 1));
	assert_int_equal(strlen(ps.programs.v[0].name), MM_PROGSTAT_NAME_MAX - 1);
	uint64_t sum = 0;
	for (size_t i = 0; i < ps.programs.n; i++)
		sum += ps.programs.v[i].n;
	assert_int_equal(sum, 100);
}

static const struct mm_progstat_inst *inst(const struct mm_progstat *ps, const char *name)
{
	for (size_t i = 0; i < ps->ninst; i++)
		if (strcmp(ps->inst[i].name, name) == 0)
			return &ps->inst[i];
	return NULL;
}

/* Per instance: the same lines split by syslog_name, with the outcomes
 * the verdict reads (Postfix 3.7 lines of two lab instances). */
static void test_instances(void **state)
{
	static const char *const two[] = {
		"Dec 07 23:10:01 mail postfix-ia/smtpd[100]: 1A2B3C4D5E: client=localhost[127.0.0.1]",
		"Dec 07 23:10:01 mail postfix-ia/qmgr[101]: 1A2B3C4D5E: from=<a@client.lab.test>, "
		"size=300, nrcpt=1 (queue active)",
		"Dec 07 23:10:01 mail postfix-ia/smtp[102]: 1A2B3C4D5E: to=<q0@sink.test>, "
		"relay=127.0.0.1[127.0.0.1]:2525, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, "
		"status=sent (250 Ok)",
		"Dec 07 23:10:02 mail postfix-ib/smtpd[200]: 2A2B3C4D5E: client=localhost[127.0.0.1]",
		"Dec 07 23:10:02 mail postfix-ib/pickup[201]: 3A2B3C4D5E: uid=0 from=<root>",
		"Dec 07 23:10:03 mail postfix-ib/smtp[202]: 2A2B3C4D5E: to=<q1@x.test>, relay=none, "
		"delay=9, delays=9/0/0/0, dsn=4.4.1, status=deferred (connect refused)",
		"Dec 07 23:10:03 mail postfix-ib/error[203]: 4A2B3C4D5E: to=<q2@x.test>, relay=none, "
		"delay=1, delays=1/0/0/0, dsn=4.3.0, status=deferred (mail transport unavailable)",
		"Dec 07 23:10:03 mail postfix-ib/qmgr[204]: warning: connect to transport "
		"private/smtp: No such file or directory",
		"Dec 07 23:10:04 mail postfix-ib/submission/smtpd[205]: 5A2B3C4D5E: "
		"client=localhost[127.0.0.1]",
		"Dec 07 23:10:05 mail postfix-ib/local[206]: 2A2B3C4D5E: to=<u@x.test>, relay=local, "
		"delay=1, delays=1/0/0/0, dsn=5.1.1, status=bounced (unknown user)",
		"Dec 07 23:10:05 mail dovecot: imap-login: Login: user=<u>, method=PLAIN, "
		"rip=127.0.0.1, lip=127.0.0.1, mpid=1, session=<x>",
	};
	struct mm_progstat ps;
	mm_progstat_init(&ps);
	for (size_t i = 0; i < sizeof two / sizeof two[0]; i++) {
		struct mm_log_event ev;
		mm_postfix_parse(two[i], strlen(two[i]), 2026, &ev);
		mm_progstat_event(&ps, &ev);
	}
	assert_int_equal(ps.ninst, 2);
	const struct mm_progstat_inst *a = inst(&ps, "postfix-ia"), *b = inst(&ps, "postfix-ib");
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(row(&a->programs, "qmgr"), 1);
	assert_int_equal(row(&a->programs, "smtpd"), 1);
	assert_int_equal(row(&b->programs, "qmgr"), 1);
	assert_int_equal(row(&b->programs, "smtpd"), 2); /* submission/smtpd too */
	assert_int_equal(a->submitted, 1);
	assert_int_equal(a->delivered, 1);
	assert_int_equal(a->deferred + a->bounced + a->unavailable_deferred, 0);
	assert_int_equal(b->submitted, 3);
	assert_int_equal(b->delivered, 0);
	assert_int_equal(b->deferred, 2); /* unavailable is also a deferral */
	assert_int_equal(b->unavailable_deferred, 1);
	assert_int_equal(b->bounced, 1);
	assert_int_equal(row(&b->transports, "smtp"), 1);
	assert_int_equal(a->transports.n, 0);
	/* The node-wide figures are unchanged by the split. */
	assert_int_equal(row(&ps.programs, "smtpd"), 3);
	assert_int_equal(ps.unavailable_deferred, 1);
}

/* More instances than rows: their lines are counted as dropped only. */
static void test_instance_cap(void **state)
{
	struct mm_progstat ps;
	mm_progstat_init(&ps);
	char line[200];
	for (int i = 0; i < MM_PROGSTAT_INST_MAX + 5; i++) {
		snprintf(line, sizeof line, "Dec 07 20:51:44 mail postfix-%d/qmgr[9]: hello", i);
		struct mm_log_event ev;
		mm_postfix_parse(line, strlen(line), 2026, &ev);
		mm_progstat_event(&ps, &ev);
	}
	assert_int_equal(ps.ninst, MM_PROGSTAT_INST_MAX);
	assert_int_equal(ps.inst_dropped, 5);
	assert_int_equal(row(&ps.programs, "qmgr"), MM_PROGSTAT_INST_MAX + 5);
}

static uint64_t delivered(const struct mm_progstat *ps, const char *dom)
{
	for (size_t i = 0; i < ps->ndests; i++)
		if (strcmp(ps->dests[i].name, dom) == 0)
			return ps->dests[i].delivered;
	return 0;
}

static void feed(struct mm_progstat *ps, const char *line)
{
	struct mm_log_event ev;
	mm_postfix_parse(line, strlen(line), 2026, &ev);
	mm_progstat_event(ps, &ev);
}

/* Delivered per recipient domain: status=sent only, the domain in lower
 * case as the queue scanner names it; a full table gives the row of the
 * domain delivered to least recently to the new one. */
static void test_dest_delivered(void **state)
{
	struct mm_progstat *ps = malloc(sizeof *ps);
	mm_progstat_init(ps);
	feed(ps, "Dec 07 20:51:45 mail postfix/smtp[9]: 7CE3CA72714: to=<u1@Sink.Test>, "
		 "relay=127.0.0.1[127.0.0.1]:2525, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, "
		 "status=sent (250 2.0.0 Ok)");
	feed(ps, "Dec 07 20:51:45 mail postfix/smtp[9]: 7CE3CA72715: to=<u2@sink.test>, "
		 "relay=127.0.0.1[127.0.0.1]:2525, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, "
		 "status=sent (250 2.0.0 Ok)");
	feed(ps, "Dec 07 20:51:45 mail postfix/smtp[9]: 7CE3CA72716: to=<u1@tarpit.test>, "
		 "relay=none, delay=300, delays=0/0/300/0, dsn=4.4.2, status=deferred (conversation "
		 "with 127.0.0.1[127.0.0.1] timed out while receiving the initial server greeting)");
	assert_int_equal(ps->ndests, 1);
	assert_int_equal(delivered(ps, "sink.test"), 2);
	assert_int_equal(delivered(ps, "tarpit.test"), 0);
	char line[400];
	for (int i = 0; i < MM_PROGSTAT_DEST_MAX + 5; i++) {
		snprintf(line, sizeof line,
			 "Dec 07 20:51:46 mail postfix/smtp[9]: 7CE3CA7271%d: to=<u@d%d.test>, "
			 "relay=x[127.0.0.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (ok)",
			 i % 10, i);
		feed(ps, line);
		if (i == 10) /* sink.test delivered again: now newer than d0-d10 */
			feed(ps, "Dec 07 20:51:47 mail postfix/smtp[9]: 7CE3CA72714: "
				 "to=<u3@sink.test>, relay=x[127.0.0.1]:25, delay=1, delays=0/0/0/1, "
				 "dsn=2.0.0, status=sent (ok)");
	}
	assert_int_equal(ps->ndests, MM_PROGSTAT_DEST_MAX);
	assert_int_equal(ps->dest_evicted, 6);
	/* Deliveries numbered 1, 2 (sink.test), then d0 = 3 ... d10 = 13,
	 * sink.test = 14, d11 = 15 ...: the evicted d0-d5 last delivered
	 * at 3-8; sink.test's row says 14. */
	assert_int_equal(ps->dest_tick, 2 + MM_PROGSTAT_DEST_MAX + 5 + 1);
	assert_int_equal(ps->dest_evicted_last, 8);
	for (size_t i = 0; i < ps->ndests; i++)
		if (strcmp(ps->dests[i].name, "sink.test") == 0)
			assert_int_equal(ps->dests[i].last, 14);
	assert_int_equal(delivered(ps, "sink.test"), 3);
	assert_int_equal(delivered(ps, "d0.test"), 0); /* evicted */
	assert_int_equal(delivered(ps, "d68.test"), 1);
	free(ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_instances),
		cmocka_unit_test(test_instance_cap),
		cmocka_unit_test(test_dest_delivered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* channels_test: channel counter arithmetic for a scripted log, checked
 * against the counts worked out by hand (imsimta counters meanings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "logs/channels.h"
#include "logs/lifecycle.h"
#include "logs/logpipe.h"
#include "parsers/parser.h"
#include "logs_testev.h"

/* The script: two connects, one reject, two messages from smtpd:
 *   M1 -> a@sink (smtp, sent first time, 0.5 s) and b@dead (smtp, deferred
 *         twice then bounced), removed
 *   M2 -> c@lab.test (lmtp, deferred once, then sent after 12 s), removed
 *   M3 -> pickup, d@sink (smtp) still queued at the end
 * and one connect failure on smtp. */
static const struct tev script[] = {
	{MM_EV_CONNECT, NULL, "smtpd", NULL, NULL, NULL, 0, 1000, 0, 0},
	{MM_EV_CONNECT, NULL, "smtpd", NULL, NULL, NULL, 0, 1001, 0, 0},
	{MM_EV_REJECT, NULL, "smtpd", "x@evil", "Relay access denied", NULL, 0, 1002, 0, 0},
	{MM_EV_CLIENT, "M1", "smtpd", NULL, NULL, NULL, 0, 1003, 0, 0},
	{MM_EV_QUEUED, "M1", NULL, "s@lab.test", NULL, "qmgr", 0, 1004, 1000, 0},
	{MM_EV_CLIENT, "M2", "smtpd", NULL, NULL, NULL, 0, 1005, 0, 0},
	{MM_EV_QUEUED, "M2", NULL, "s@lab.test", NULL, "qmgr", 0, 1006, 2000, 0},
	{MM_EV_DISCONNECT, NULL, "smtpd", NULL, NULL, NULL, 0, 1007, 0, 0},
	{MM_EV_DELIVERY, "M1", "smtp", "a@sink.test", "250 ok", NULL, MM_DS_SENT, 1010, 0, 0.5},
	{MM_EV_DELIVERY, "M1", "smtp", "b@dead.test", "refused", NULL, MM_DS_DEFERRED, 1011, 0, 1},
	{MM_EV_CONN_FAIL, NULL, "smtp", NULL, "Connection refused", NULL, 0, 1012, 0, 0},
	{MM_EV_DELIVERY, "M2", "lmtp", "c@lab.test", "busy", NULL, MM_DS_DEFERRED, 1013, 0, 1},
	{MM_EV_DELIVERY, "M1", "smtp", "b@dead.test", "refused", NULL, MM_DS_DEFERRED, 1020, 0, 9},
	{MM_EV_DELIVERY, "M2", "lmtp", "c@lab.test", "ok", NULL, MM_DS_SENT, 1021, 0, 12},
	{MM_EV_REMOVED, "M2", NULL, NULL, NULL, "qmgr", 0, 1022, 0, 0},
	{MM_EV_DELIVERY, "M1", "smtp", "b@dead.test", "550 no", NULL, MM_DS_BOUNCED, 1030, 0, 20},
	{MM_EV_REMOVED, "M1", NULL, NULL, NULL, "qmgr", 0, 1031, 0, 0},
	{MM_EV_PICKUP, "M3", "pickup", "root", NULL, NULL, 0, 1040, 0, 0},
	{MM_EV_QUEUED, "M3", NULL, "root@lab.test", NULL, "qmgr", 0, 1041, 300, 0},
	{MM_EV_DELIVERY, "M3", "smtp", "d@sink.test", "refused", NULL, MM_DS_DEFERRED, 1042, 0, 1},
};

static const struct {
	const char *chan;
	enum mm_cg_field f;
	int64_t want, want_min;
} expect[] = {
	{"smtpd", MM_CG_IN_ASSOC, 1, 0},
	{"smtpd", MM_CG_IN_ASSOC_TOTAL, 2, 0},
	{"smtpd", MM_CG_REJECTED, 1, 0},
	{"smtpd", MM_CG_SUBMITTED, 2, 0},
	{"smtpd", MM_CG_RECEIVED, 0, 0},
	{"smtpd", MM_CG_LAST_IN_MS, 1007, 0},
	{"pickup", MM_CG_SUBMITTED, 1, 0},
	{"smtp", MM_CG_RECEIVED, 2, 0},	    /* M1, M3 */
	{"smtp", MM_CG_STORED, 1, 0},	    /* M3 */
	{"smtp", MM_CG_DELIVERED, 1, 0},
	{"smtp", MM_CG_DELIVERED_FIRST, 1, 0},
	{"smtp", MM_CG_ATTEMPTED, 3, 0},
	{"smtp", MM_CG_FAILED, 1, 0},
	{"smtp", MM_CG_RCPT_DELIVERED, 1, 0},
	{"smtp", MM_CG_RCPT_FAILED, 1, 0},
	{"smtp", MM_CG_VOLUME_RECEIVED, 1300, 0},
	{"smtp", MM_CG_VOLUME_DELIVERED, 1000, 0},
	{"smtp", MM_CG_QTIME_SUM_MS, 500, 0},
	{"smtp", MM_CG_QTIME_COUNT, 1, 0},
	{"smtp", MM_CG_QFIRST_COUNT, 1, 0},
	{"smtp", MM_CG_OUT_ASSOC_FAILED, 1, 0},
	{"smtp", MM_CG_OUT_ASSOC_TOTAL, 4, 0}, /* M1 x3 attempts, M3 */
	{"smtp", MM_CG_LAST_OUT_MS, 1042, 0},
	{"lmtp", MM_CG_RECEIVED, 1, 0},
	{"lmtp", MM_CG_STORED, 0, 0},
	{"lmtp", MM_CG_DELIVERED, 1, 0},
	{"lmtp", MM_CG_DELIVERED_FIRST, 0, 0},
	{"lmtp", MM_CG_ATTEMPTED, 1, 0},
	{"lmtp", MM_CG_QTIME_SUM_MS, 12000, 0},
	{"lmtp", MM_CG_QFIRST_COUNT, 0, 0},
};

static int find_group(struct mm_cfile *cf, const char *name)
{
	for (uint32_t i = 0; i < mm_cfile_ngroups(cf); i++) {
		struct mm_cg_snapshot s;
		assert_int_equal(mm_cg_read(cf, i, &s), 0);
		if (strcmp(s.name, name) == 0)
			return (int)i;
	}
	return -1;
}

static void run_script(struct mm_channels *ch, struct mm_lifecycle *lc, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		struct mm_log_event ev = tev_make(&script[i]);
		uint16_t id = MM_LC_NO_CHAN;
		if (ev.type != MM_EV_QUEUED && ev.type != MM_EV_REMOVED)
			id = mm_channels_id_for(ch, &ev);
		bool in = ev.type == MM_EV_CLIENT || ev.type == MM_EV_PICKUP;
		struct mm_lc_change c;
		mm_lc_event(lc, &ev, in ? MM_LC_NO_CHAN : id, in ? id : MM_LC_NO_CHAN, &c);
		mm_channels_apply(ch, &ev, id, &c);
	}
}

static void test_script(void **state)
{
	struct mm_cfile *cf = mm_cfile_anon(16);
	struct mm_channels *ch = mm_channels_new(cf);
	struct mm_lc_limits lim = {.max_inflight = 64};
	struct mm_lifecycle *lc = mm_lc_new(&lim);
	run_script(ch, lc, 0, sizeof script / sizeof script[0]);
	for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
		int g = find_group(cf, expect[i].chan);
		assert_true(g >= 0);
		struct mm_cg_snapshot s;
		assert_int_equal(mm_cg_read(cf, (uint32_t)g, &s), 0);
		if (s.v[expect[i].f] != expect[i].want)
			fail_msg("%s %s: got %lld, want %lld", expect[i].chan,
				 mm_cg_field_names[expect[i].f], (long long)s.v[expect[i].f],
				 (long long)expect[i].want);
		assert_int_equal(s.min[expect[i].f], expect[i].want_min);
	}
	struct mm_cg_snapshot s;
	assert_int_equal(mm_cg_read(cf, (uint32_t)find_group(cf, "smtpd"), &s), 0);
	assert_string_equal(s.last_reject, "Relay access denied");
	assert_int_equal(mm_cg_read(cf, (uint32_t)find_group(cf, "smtp"), &s), 0);
	assert_string_equal(s.last_connfail, "Connection refused");
	mm_lc_free(lc);
	mm_channels_free(ch);
	mm_cfile_close(cf);
}

/* The seed's negative minimum: counters zeroed while M1 was queued; its
 * removal then takes Stored to -1, and Stored - minimum is the truth. */
static void test_negative_minimum(void **state)
{
	struct mm_cfile *cf = mm_cfile_anon(16);
	struct mm_channels *ch = mm_channels_new(cf);
	struct mm_lc_limits lim = {.max_inflight = 64};
	struct mm_lifecycle *lc = mm_lc_new(&lim);
	run_script(ch, lc, 0, 10); /* M1 enqueued to smtp, M1 still queued */
	struct mm_err err;
	assert_int_equal(mm_cfile_clear(cf, 0, &err), 0);
	run_script(ch, lc, 10, 17); /* ... M1 removed */
	struct mm_cg_snapshot s;
	assert_int_equal(mm_cg_read(cf, (uint32_t)find_group(cf, "smtp"), &s), 0);
	assert_int_equal(s.v[MM_CG_STORED], -1);
	assert_int_equal(s.min[MM_CG_STORED], -1);
	assert_int_equal(s.v[MM_CG_STORED] - s.min[MM_CG_STORED], 0);
	mm_lc_free(lc);
	mm_channels_free(ch);
	mm_cfile_close(cf);
}

/* Queue-scan gauges: a queued message goes to the channel of its latest
 * delivery attempt in the logs (M3 was deferred on smtp), one the logs
 * never saw attempted to "unattempted"; a later scan without them sets
 * the gauges back to 0. */
static void test_stored_gauges(void **state)
{
	struct mm_cfile *cf = mm_cfile_anon(16);
	struct mm_channels *ch = mm_channels_new(cf);
	struct mm_lc_limits lim = {.max_inflight = 64};
	struct mm_lifecycle *lc = mm_lc_new(&lim);
	run_script(ch, lc, 0, sizeof script / sizeof script[0]);
	struct mm_stored_msg q[] = {
		{.qid = "M3", .nrcpt = 1, .size = 300, .arrival_s = 900},
		{.qid = "NEW1", .nrcpt = 2, .size = 1000, .arrival_s = 990},
		{.qid = "NEW2", .nrcpt = 1, .size = 24, .arrival_s = 995},
	};
	mm_channels_set_stored(ch, lc, q, 3, 1000);
	struct mm_cg_snapshot s;
	assert_int_equal(mm_cg_read(cf, (uint32_t)find_group(cf, "smtp"), &s), 0);
	assert_int_equal(s.v[MM_CG_QSTORED_MSGS], 1);
	assert_int_equal(s.v[MM_CG_QSTORED_RCPTS], 1);
	assert_int_equal(s.v[MM_CG_QSTORED_VOLUME], 300);
	assert_int_equal(s.v[MM_CG_QOLDEST_S], 100);
	int un = find_group(cf, MM_CHAN_UNATTEMPTED);
	assert_true(un >= 0);
	assert_int_equal(mm_cg_read(cf, (uint32_t)un, &s), 0);
	assert_int_equal(s.v[MM_CG_QSTORED_MSGS], 2);
	assert_int_equal(s.v[MM_CG_QSTORED_RCPTS], 3);
	assert_int_equal(s.v[MM_CG_QSTORED_VOLUME], 1024);
	assert_int_equal(s.v[MM_CG_QOLDEST_S], 10);
	/* lmtp has nothing queued: its gauges stay 0 */
	assert_int_equal(mm_cg_read(cf, (uint32_t)find_group(cf, "lmtp"), &s), 0);
	assert_int_equal(s.v[MM_CG_QSTORED_MSGS], 0);

	mm_channels_set_stored(ch, lc, NULL, 0, 2000);
	assert_int_equal(mm_cg_read(cf, (uint32_t)find_group(cf, "smtp"), &s), 0);
	assert_int_equal(s.v[MM_CG_QSTORED_MSGS], 0);
	assert_int_equal(s.v[MM_CG_QOLDEST_S], 0);
	assert_int_equal(mm_cg_read(cf, (uint32_t)un, &s), 0);
	assert_int_equal(s.v[MM_CG_QSTORED_VOLUME], 0);
	mm_lc_free(lc);
	mm_channels_free(ch);
	mm_cfile_close(cf);
}

/* Dovecot logins through the real parser: a Login: line is a good login;
 * a failure counts once, from the login process with its attempt count,
 * not again from auth's per-attempt line. */
static void test_dovecot_logins(void **state)
{
	static const char *lines[] = {
		"Nov 21 06:01:34 imap-login: Info: Login: user=<bob>, method=PLAIN, rip=127.0.0.1, "
		"lip=127.0.0.1, mpid=13907, secured, session=<20jTF8NgVL1/AAAB>",
		"Nov 21 06:01:34 auth: Info: passwd-file(bob,127.0.0.1,<epXTF8NgWr1/AAAB>): "
		"Password mismatch",
		"Nov 21 06:01:34 auth: Info: passwd-file(bob,127.0.0.1,<epXTF8NgWr1/AAAB>): "
		"Password mismatch",
		"Nov 21 06:01:36 imap-login: Info: Disconnected: Connection closed (auth failed, 2 "
		"attempts in 2 secs): user=<bob>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, "
		"secured, session=<epXTF8NgWr1/AAAB>",
		"Nov 21 06:01:37 pop3-login: Info: Login: user=<bob>, method=PLAIN, rip=127.0.0.1, "
		"lip=127.0.0.1, mpid=13911, secured, session=<30jTF8NgVL1/AAAB>",
	};
	struct mm_lc_limits lim = {.max_inflight = 64};
	struct mm_logpipe *lp = mm_logpipe_new_anon(&lim, 16, mm_parser_find("auto"));
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		mm_logpipe_line(lp, lines[i], strlen(lines[i]));
	mm_logpipe_flush(lp);
	struct mm_cfile *cf = mm_logpipe_cfile(lp);
	struct mm_cg_snapshot s;
	assert_int_equal(mm_cg_read_named(cf, "imap", &s), 0);
	assert_int_equal(s.v[MM_CG_LOGINS_GOOD], 1);
	assert_int_equal(s.v[MM_CG_LOGINS_FAILED], 2);
	assert_int_equal(s.v[MM_CG_LOGIN_CONNS], 2);
	assert_int_equal(mm_cg_read_named(cf, "pop3", &s), 0);
	assert_int_equal(s.v[MM_CG_LOGINS_GOOD], 1);
	assert_int_equal(s.v[MM_CG_LOGINS_FAILED], 0);
	assert_int_equal(mm_cg_read_named(cf, "auth", &s), -1); /* no group for auth */
	mm_logpipe_free(lp);
}

/* Real smtpd lines through the parser: a reject at the CONNECT stage is a
 * rejected inbound association; a RCPT-stage reject is not, even when its
 * reason text says "CONNECT". */
static void test_connect_stage_reject(void **state)
{
	static const char *lines[] = {
		"Nov 21 06:00:01 mx postfix/smtpd[10]: NOQUEUE: reject: CONNECT from "
		"unknown[192.0.2.7]: 554 5.7.1 <unknown[192.0.2.7]>: Client host rejected: "
		"Access denied; proto=SMTP",
		"Nov 21 06:00:02 mx postfix/smtpd[10]: NOQUEUE: reject: RCPT from "
		"unknown[192.0.2.8]: 554 5.7.1 <x@y.test>: Relay access denied (no CONNECT); "
		"from=<a@b.test> to=<x@y.test> proto=ESMTP helo=<h>",
	};
	struct mm_lc_limits lim = {.max_inflight = 64};
	struct mm_logpipe *lp = mm_logpipe_new_anon(&lim, 16, mm_parser_find("postfix"));
	struct mm_cfile *cf = mm_logpipe_cfile(lp);
	for (size_t i = 0; i < 2; i++) {
		mm_logpipe_line(lp, lines[i], strlen(lines[i]));
		mm_logpipe_flush(lp);
		int g = find_group(cf, "smtpd");
		assert_true(g >= 0);
		struct mm_cg_snapshot s;
		assert_int_equal(mm_cg_read(cf, (uint32_t)g, &s), 0);
		assert_int_equal(s.v[MM_CG_REJECTED], (int64_t)i + 1);
		assert_int_equal(s.v[MM_CG_IN_ASSOC_REJECTED], 1);
	}
	mm_logpipe_free(lp);
}

/* More channel names than ids or slots: the rest count as "other". */
static void test_overflow_other(void **state)
{
	struct mm_cfile *cf = mm_cfile_anon(8);
	struct mm_channels *ch = mm_channels_new(cf);
	struct mm_lc_limits lim = {.max_inflight = 64};
	struct mm_lifecycle *lc = mm_lc_new(&lim);
	char name[16];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "t%d", i);
		struct tev t = {MM_EV_CONNECT, NULL, name, NULL, NULL, NULL, 0, 1, 0, 0};
		struct mm_log_event ev = tev_make(&t);
		struct mm_lc_change c;
		uint16_t id = mm_channels_id_for(ch, &ev);
		mm_lc_event(lc, &ev, id, MM_LC_NO_CHAN, &c);
		mm_channels_apply(ch, &ev, id, &c);
	}
	assert_int_equal(mm_cfile_ngroups(cf), 8);
	struct mm_cg_snapshot s;
	assert_int_equal(mm_cg_read(cf, 7, &s), 0);
	assert_string_equal(s.name, "other");
	assert_int_equal(s.v[MM_CG_IN_ASSOC_TOTAL], 13);
	mm_lc_free(lc);
	mm_channels_free(ch);
	mm_cfile_close(cf);
}

/* Messaging Server records (no queue IDs): counters follow the record
 * codes, E/D/Q/R/J and the connection records O/C/X with + and -. */
static void test_msgsrv_records(void **state)
{
	static const struct {
		enum mm_ev_type type;
		const char *src, *chan, *code;
		enum mm_dstatus status;
		uint32_t flags;
		uint64_t size;
	} recs[] = {
		{MM_EV_QUEUED, "tcp_local", "ims-ms", "E", 0, 0, 2048},
		{MM_EV_QUEUED, "tcp_local", "ims-ms", "EE", 0, MM_EVF_ESMTP, 1024},
		{MM_EV_QUEUED, "tcp_intranet", "tcp_local", "E", 0, 0, 1024},
		{MM_EV_DELIVERY, NULL, "ims-ms", "D", MM_DS_SENT, 0, 2048},
		{MM_EV_DELIVERY, NULL, "ims-ms", "Q", MM_DS_DEFERRED, 0, 1024},
		{MM_EV_DELIVERY, NULL, "tcp_local", "R", MM_DS_BOUNCED, 0, 1024},
		{MM_EV_REJECT, NULL, "tcp_local", "J", 0, 0, 0},
		{MM_EV_CONNECT, NULL, "tcp_local", "O", 0, MM_EVF_INBOUND, 0},
		{MM_EV_CONNECT, NULL, "tcp_local", "O", 0, MM_EVF_OUTBOUND, 0},
		{MM_EV_DISCONNECT, NULL, "tcp_local", "C", 0, MM_EVF_OUTBOUND, 0},
		{MM_EV_REJECT, NULL, "tcp_local", "X", 0, MM_EVF_INBOUND, 0},
	};
	static const struct {
		const char *chan;
		enum mm_cg_field f;
		int64_t want;
	} expect_ms[] = {
		{"ims-ms", MM_CG_RECEIVED, 2},	 {"ims-ms", MM_CG_STORED, 1},
		{"ims-ms", MM_CG_DELIVERED, 1},	 {"ims-ms", MM_CG_ATTEMPTED, 1},
		{"ims-ms", MM_CG_VOLUME_RECEIVED, 3072},
		{"tcp_local", MM_CG_SUBMITTED, 2}, {"tcp_local", MM_CG_RECEIVED, 1},
		{"tcp_local", MM_CG_FAILED, 1},	 {"tcp_local", MM_CG_STORED, 0},
		{"tcp_local", MM_CG_REJECTED, 1}, {"tcp_local", MM_CG_IN_ASSOC, 1},
		{"tcp_local", MM_CG_IN_ASSOC_REJECTED, 1},
		{"tcp_local", MM_CG_OUT_ASSOC, 0}, {"tcp_local", MM_CG_OUT_ASSOC_TOTAL, 1},
		{"tcp_intranet", MM_CG_SUBMITTED, 1},
	};
	struct mm_cfile *cf = mm_cfile_anon(16);
	struct mm_channels *ch = mm_channels_new(cf);
	for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
		struct tev t = {.type = recs[i].type, .channel = recs[i].chan, .t_ms = 5,
				.status = recs[i].status, .size = recs[i].size};
		struct mm_log_event ev = tev_make(&t);
		ev.source = MM_SRC_MSGSRV;
		ev.src_channel = tev_sv(recs[i].src);
		ev.code = tev_sv(recs[i].code);
		ev.flags = recs[i].flags;
		struct mm_lc_change c;
		memset(&c, 0, sizeof c);
		mm_channels_apply(ch, &ev, mm_channels_id_for(ch, &ev), &c);
	}
	for (size_t i = 0; i < sizeof expect_ms / sizeof expect_ms[0]; i++) {
		int g = find_group(cf, expect_ms[i].chan);
		assert_true(g >= 0);
		struct mm_cg_snapshot s;
		assert_int_equal(mm_cg_read(cf, (uint32_t)g, &s), 0);
		if (s.v[expect_ms[i].f] != expect_ms[i].want)
			fail_msg("%s %s: got %lld, want %lld", expect_ms[i].chan,
				 mm_cg_field_names[expect_ms[i].f], (long long)s.v[expect_ms[i].f],
				 (long long)expect_ms[i].want);
	}
	mm_channels_free(ch);
	mm_cfile_close(cf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_script),
		cmocka_unit_test(test_connect_stage_reject),
		cmocka_unit_test(test_dovecot_logins),
		cmocka_unit_test(test_stored_gauges),
		cmocka_unit_test(test_negative_minimum),
		cmocka_unit_test(test_overflow_other),
		cmocka_unit_test(test_msgsrv_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

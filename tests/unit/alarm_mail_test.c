/*
 * alarm_mail_test: the notice texts: subject, the seed's fields in the
 * body, the likely cause with context from the registry (top deferred
 * destinations and reason classes, a partition's lock state), templates,
 * digests, header safety (CR/LF in an instance, non-ASCII subjects) and
 * the SMTP DATA form (CRLF, dot-stuffing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alarm/alarm_mail.h"

static const struct mm_metric_def fams[] = {
	{.name = "mailmon_queue_destination_messages", .help = "x", .type = MM_METRIC_GAUGE,
	 .labels = {"queue", "destination"}},
	{.name = "mailmon_queue_reason_messages", .help = "x", .type = MM_METRIC_GAUGE,
	 .labels = {"queue", "reason"}},
	{.name = "mailmon_disk_locked", .help = "x", .type = MM_METRIC_GAUGE, .labels = {"path"}},
};

static void fill(struct mm_registry *r)
{
	struct mm_metric *m[3];
	struct mm_err err;
	assert_int_equal(mm_registry_add_all(r, fams, 3, m, &err), 0);
	mm_metric_set(m[0], (const char *[]){"deferred", "a.test"}, 20);
	mm_metric_set(m[0], (const char *[]){"deferred", "b.test"}, 30);
	mm_metric_set(m[0], (const char *[]){"active", "c.test"}, 99); /* not deferred */
	mm_metric_set(m[0], (const char *[]){"deferred", "d.test"}, 0);
	mm_metric_set(m[1], (const char *[]){"deferred", "refused"}, 25);
	mm_metric_set(m[1], (const char *[]){"deferred", "timeout"}, 5);
	mm_metric_set(m[2], (const char *[]){"/var/mail"}, 1);
}

static struct mm_alarm_def def(const char *name, const char *family, const char *desc)
{
	struct mm_alarm_def d;
	memset(&d, 0, sizeof d);
	snprintf(d.name, sizeof d.name, "%s", name);
	snprintf(d.description, sizeof d.description, "%s", desc);
	d.sel.name = (char *)family;
	d.statinterval_ms = 300000;
	d.threshold = 100;
	d.direction = 1;
	snprintf(d.severity, sizeof d.severity, "warning");
	return d;
}

static struct mm_alarm_event event(const struct mm_alarm_def *d, const char *instance,
				   double v, enum mm_alarm_kind k)
{
	struct mm_alarm_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = k;
	ev.def = d;
	snprintf(ev.inst.alarm, sizeof ev.inst.alarm, "%s", d->name);
	snprintf(ev.inst.instance, sizeof ev.inst.instance, "%s", instance);
	ev.inst.current = v;
	ev.inst.low = 12;
	ev.inst.high = 180;
	ev.inst.countoverthreshold = 7;
	ev.inst.timelastset = 1796660000; /* 2026-12-07 16:13:20 UTC */
	return ev;
}

static void test_single_mail(void **state)
{
	(void)state;
	struct mm_registry *r = mm_registry_new();
	fill(r);
	struct mm_alarm_def d = def("queuegrowth", "mailmon_queue_messages", "deferred growth");
	struct mm_alarm_event ev = event(&d, "deferred", 150, MM_ALARM_RAISE);
	struct mm_alarm_mail_ctx ctx = {.node = "mx1", .from = "mm@x.test", .to = "pm@x.test",
					.reg = r, .now = 1796660001, .seq = 1};
	struct mm_strbuf b;
	mm_strbuf_init(&b, 1 << 20);
	mm_alarm_mail_compose(&ctx, &ev, 1, &b);
	const char *want[] = {
		"Subject: ALARM: deferred growth of \"deferred\" is 150\n",
		"To: <pm@x.test>\n",
		"Date: Mon, 07 Dec 2026 16:13:21 +0000\n",
		"\n\nServer instance: mx1\nAlarm id: queuegrowth\nInstance: deferred\n"
		"Description: deferred growth\n"
		"Current measured value (2026-12-07 16:13:20 UTC): 150\n"
		"Lowest recorded value: 12\nHighest recorded value: 180\n"
		"Monitoring interval: 300 seconds\nThreshold: above 100\n"
		"Number of times over threshold: 7\nState: raised\nSeverity: warning\n",
		"Top queue_destination_messages: b.test 30, a.test 20\n"
		"Top queue_reason_messages: refused 25, timeout 5\n",
		"Next command:\nmailmon qshape --reasons -s deferred\n",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (!strstr(b.p, want[i]))
			fail_msg("missing \"%s\" in:\n%s", want[i], b.p);
	assert_null(strstr(b.p, "c.test")); /* the active queue is not deferred mail */
	mm_strbuf_free(&b);

	/* a partition: its lock state */
	struct mm_alarm_def dd = def("diskavail", "mailmon_disk_avail_percent", "space");
	dd.direction = -1;
	struct mm_alarm_event de = event(&dd, "/var/mail", 4, MM_ALARM_CLEAR);
	char cause[600], cmd[300];
	mm_alarm_hint(&de, r, cause, sizeof cause, cmd, sizeof cmd);
	assert_non_null(strstr(cause, "Partition /var/mail is filling up"));
	assert_non_null(strstr(cause, "LOCKED"));
	assert_string_equal(cmd, "df -h /var/mail; mailmon counterutil -o diskusage");
	char subj[600];
	mm_alarm_subject(&de, subj, sizeof subj);
	assert_string_equal(subj, "CLEARED: space of \"/var/mail\" is 4");
	mm_registry_free(r);
}

static void test_template_digest_headers(void **state)
{
	(void)state;
	struct mm_alarm_def d = def("q", "mailmon_x", "thing");
	struct mm_alarm_event ev[5];
	for (int i = 0; i < 5; i++) {
		char inst[32];
		snprintf(inst, sizeof inst, "i%d", i);
		ev[i] = event(&d, inst, i, i == 4 ? MM_ALARM_CLEAR : MM_ALARM_RAISE);
	}
	struct mm_alarm_mail_ctx ctx = {.node = "mx1", .from = "a@x.test", .to = "b@x.test",
					.now = 1796660001, .seq = 2,
					.template_text = "${alarm}/${instance}=${value} ${nosuch}"};
	struct mm_strbuf b;
	mm_strbuf_init(&b, 1 << 20);
	mm_alarm_mail_compose(&ctx, &ev[1], 1, &b);
	assert_non_null(strstr(b.p, "\n\nq/i1=1 ${nosuch}\n"));
	mm_strbuf_reset(&b);
	mm_alarm_mail_compose(&ctx, ev, 5, &b);
	assert_non_null(
		strstr(b.p, "Subject: ALARM DIGEST: 5 alarm changes on mx1 (4 raised, 1 cleared)\n"));
	for (int i = 0; i < 4; i++) {
		char line[64];
		snprintf(line, sizeof line, "ALARM: thing of \"i%d\" is %d\n", i, i);
		assert_non_null(strstr(b.p, line));
	}
	assert_non_null(strstr(b.p, "CLEARED: thing of \"i4\" is 4\n"));
	mm_strbuf_reset(&b);
	/* an instance with CR/LF cannot add a header; UTF-8 is encoded */
	struct mm_alarm_event bad = event(&d, "x\r\nBcc: evil@x.test", 1, MM_ALARM_RAISE);
	ctx.template_text = NULL;
	mm_alarm_mail_compose(&ctx, &bad, 1, &b);
	assert_null(strstr(b.p, "\nBcc:"));
	mm_strbuf_reset(&b);
	struct mm_alarm_event utf = event(&d, "caf\xc3\xa9", 1, MM_ALARM_RAISE);
	mm_alarm_mail_compose(&ctx, &utf, 1, &b);
	assert_non_null(strstr(b.p, "Subject: =?utf-8?B?"));
	mm_strbuf_free(&b);
}

static void test_smtp_data(void **state)
{
	(void)state;
	const char *in = "Subject: x\n\n.leading dot\nmid . dot\r\n..two\nlast";
	char *out = mm_alarm_smtp_data(in, strlen(in));
	assert_string_equal(out,
			    "Subject: x\r\n\r\n..leading dot\r\nmid . dot\r\n...two\r\nlast\r\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_mail),
		cmocka_unit_test(test_template_digest_headers),
		cmocka_unit_test(test_smtp_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

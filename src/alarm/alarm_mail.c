/*
 * alarm_mail: notice texts (see alarm_mail.h). The hint table below is
 * the one place that says, per kind of alarm, what probably happened and
 * what to run next.
 */
#include "alarm/alarm_mail.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/xalloc.h"

const char *mm_alarm_kind_name(enum mm_alarm_kind k)
{
	switch (k) {
	case MM_ALARM_RAISE: return "raised";
	case MM_ALARM_REPEAT: return "still raised";
	case MM_ALARM_CLEAR: return "cleared";
	}
	return "?";
}

void mm_alarm_format_value(double v, char *buf, size_t cap)
{
	if (isfinite(v) && fabs(v) < 1e15 && v == floor(v))
		snprintf(buf, cap, "%.0f", v);
	else
		snprintf(buf, cap, "%.4g", v);
}

/* Copies s into buf with control characters turned into spaces, so a
 * label value can never start a new header line. */
static void clean(const char *s, char *buf, size_t cap)
{
	size_t j = 0;
	for (; *s && j + 1 < cap; s++)
		buf[j++] = ((unsigned char)*s < 32 || *s == 127) ? ' ' : *s;
	buf[j] = '\0';
}

void mm_alarm_subject(const struct mm_alarm_event *ev, char *buf, size_t cap)
{
	char v[64], desc[MM_ALARM_TEXT_MAX], inst[MM_ALARM_TEXT_MAX];
	mm_alarm_format_value(ev->inst.current, v, sizeof v);
	clean(ev->def->description, desc, sizeof desc);
	clean(ev->inst.instance, inst, sizeof inst);
	snprintf(buf, cap, "%s: %s of \"%s\" is %s%s",
		 ev->kind == MM_ALARM_CLEAR ? "CLEARED" : "ALARM", desc, inst, v,
		 ev->gone ? " (no longer reported)" : "");
}

/* ---- hints: one row per kind of alarm, chosen by the watched family ---- */

struct hint {
	const char *family_prefix; /* the alarm's family starts with this */
	const char *instance_has;  /* and its instance contains this (or NULL) */
	const char *cause;	   /* %s: the instance */
	const char *command;	   /* %s: the instance */
	const char *context;	   /* family whose top series add context */
	const char *context2;	   /* a second one (reason classes) */
};

static const struct hint hints[] = {
	{"mailmon_queue_messages", "active",
	 "The active queue is not draining: the queue manager (Postfix qmgr) may be\n"
	 "stalled or not running, or every delivery agent is busy.",
	 "mailmon status; postqueue -p | tail -1", NULL, NULL},
	{"mailmon_queue_messages", NULL,
	 "Deferred mail is piling up: destinations refuse or time out, or mail\n"
	 "arrives faster than it can be delivered.",
	 "mailmon qshape --reasons -s deferred", "mailmon_queue_destination_messages",
	 "mailmon_queue_reason_messages"},
	{"mailmon_queue_oldest", NULL,
	 "A message has waited this long in queue \"%s\": its destination keeps\n"
	 "deferring it, or the queue is not being run.",
	 "mailmon qshape --oldest -s deferred", "mailmon_queue_destination_oldest_age_seconds",
	 "mailmon_queue_reason_messages"},
	{"mailmon_messages_deferred", NULL,
	 "Deliveries on channel %s are being deferred.",
	 "mailmon qshape --reasons -s deferred", "mailmon_queue_destination_messages",
	 "mailmon_queue_reason_messages"},
	{"mailmon_node_verdict", "stalled",
	 "This node accepts mail but does not deliver it (the outage of seeds/001):\n"
	 "the verdict's reasons name the cause (qmgr stopped, missing or not\n"
	 "logging, or a transport with no process: postconf -M). The HAProxy\n"
	 "agent answers drain while it lasts.",
	 "mailmon status; mailmon qshape -s incoming active", NULL, NULL},
	{"mailmon_node_verdict", NULL,
	 "The node verdict is %s: mailmon status lists the reasons.", "mailmon status",
	 "mailmon_flooded_destination_messages", NULL},
	{"mailmon_instance_verdict", "stalled",
	 "Postfix instance,state %s: the instance accepts mail but does not deliver\n"
	 "it; its verdict names the cause (qmgr stopped, missing or not logging, or\n"
	 "a transport with no process). The HAProxy agent answers drain to its\n"
	 "agent-send while it lasts.",
	 "mailmon status; postqueue -c CONFIG_DIRECTORY_OF_THE_INSTANCE -p | tail -1", NULL, NULL},
	{"mailmon_instance_verdict", NULL,
	 "Postfix instance,state %s: mailmon status lists the reasons.", "mailmon status", NULL,
	 NULL},
	{"mailmon_flooded_destination", NULL,
	 "Destination,class %s: one destination holds a large or fast-growing share\n"
	 "of the queue and its deliveries fail for one reason.",
	 "mailmon qm messages DEST (the destination named above); mailmon qshape --reasons -s "
	 "deferred",
	 "mailmon_flooded_destination_messages", "mailmon_queue_reason_messages"},
	{"mailmon_baseline_departure", "queue",
	 "The queue (incoming + active + deferred) is far outside its usual size for\n"
	 "this hour of the week: above, mail arrives faster than it leaves (a\n"
	 "failing destination, a stalled queue manager, a bulk sender); below, mail\n"
	 "stopped arriving.",
	 "mailmon status; mailmon qshape --reasons -s deferred", "mailmon_baseline_high",
	 "mailmon_baseline_current"},
	{"mailmon_baseline_departure", "inflow",
	 "Mail accepted per minute is far outside its usual level for this hour:\n"
	 "above, a bulk sender, a mail loop or a spam run through an account;\n"
	 "below, clients cannot reach this node (load balancer, MX, smtpd).",
	 "mailmon status; mailmon history mailmon_messages_submitted_total --since 1d",
	 "mailmon_baseline_high", "mailmon_baseline_current"},
	{"mailmon_baseline_departure", NULL,
	 "Deferrals per minute are far outside their usual level for this hour:\n"
	 "destinations refuse or time out, or a relay or content filter is down.",
	 "mailmon qshape --reasons -s deferred", "mailmon_baseline_high",
	 "mailmon_baseline_current"},
	{"mailmon_isolated_destination", NULL,
	 "Destination,reason %s was isolated: its mail goes to the slow transport\n"
	 "([isolate] transport) until it answers again (release_after), or until\n"
	 "released by hand.",
	 "mailmon isolate --list; mailmon isolate --release DEST", NULL, NULL},
	{"mailmon_isolate_setup", NULL,
	 "mailmond was asked to isolate a destination but the Postfix setup is\n"
	 "missing: its map first in main.cf transport_maps, or the transport in\n"
	 "master.cf (docs/cluster.md, \"Isolation\").",
	 "mailmon isolate --list (the last result names what is missing)", NULL, NULL},
	{"mailmon_disk_avail", NULL,
	 "Partition %s is filling up; mail to a full partition is lost or\n"
	 "deferred, and repairs need free space.",
	 "df -h %s; mailmon counterutil -o diskusage", NULL, NULL},
	{"mailmon_disk", NULL, "Partition %s is filling up.", "df -h %s; mailmon status", NULL, NULL},
	{"mailmon_service_up", NULL,
	 "Service %s does not answer its probe or its processes are missing.",
	 "mailmon status; then mailmon probe with the url of [service.%s]", NULL, NULL},
	{"mailmon_service_response", NULL,
	 "Service %s answers slowly: load, a slow directory (LDAP) or disk.",
	 "mailmon status", NULL, NULL},
	{"mailmon_service_state", NULL,
	 "The watcher restarted %s too often and gave up (flap limit); it stays\n"
	 "down until someone looks.",
	 "mailmon status; then mailmon config check and kill -HUP mailmond to retry", NULL, NULL},
	{"mailmon_certificate", NULL, "The TLS certificate of %s is about to expire.",
	 "mailmon probe with the url of [service.%s] (shows the days left)", NULL, NULL},
	{"mailmon_log_lines", NULL,
	 "Log source %s has stopped growing: the MTA stopped logging, the log\n"
	 "moved, or mail stopped flowing.",
	 "mailmon status; ls -l %s", NULL, NULL},
	{"mailmon_errors", NULL, "mailmond itself had errors of kind %s (file descriptors,\n"
	 "memory, or accepting connections).",
	 "journalctl -u mailmond -n 50", NULL, NULL},
	{"mailmon_cpu", NULL, "The CPUs are busy: load beyond capacity, or a looping process.",
	 "top -b -n 1 | head -20", "mailmon_process_cpu_ratio", NULL},
	{"mailmon_process_cpu", NULL,
	 "The processes of %s use this much CPU: heavy load on it, or a process\n"
	 "stuck in a loop.",
	 "mailmon status; top -b -n 1 | head -20", NULL, NULL},
};

static const struct hint default_hint = {
	NULL, NULL, "The value of %s crossed its threshold.", "mailmon alarms", NULL, NULL};

static const struct hint *find_hint(const struct mm_alarm_event *ev)
{
	for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++) {
		const struct hint *h = &hints[i];
		if (strncmp(ev->def->sel.name, h->family_prefix, strlen(h->family_prefix)) != 0)
			continue;
		if (h->instance_has && !strstr(ev->inst.instance, h->instance_has))
			continue;
		return h;
	}
	return &default_hint;
}

/* Expands the single %s of a hint with the instance (no other format). */
static void expand(const char *fmt, const char *inst, char *buf, size_t cap)
{
	size_t j = 0;
	for (const char *p = fmt; *p && j + 1 < cap; p++) {
		if (p[0] == '%' && p[1] == 's') {
			for (const char *q = inst; *q && j + 1 < cap; q++)
				buf[j++] = *q;
			p++;
			continue;
		}
		buf[j++] = *p;
	}
	buf[j] = '\0';
}

/* Up to three series of family fam with the largest values, as
 * "a.test 120, b.test 40", named by their last label. In a family with a
 * queue label only the deferred queue counts; zeros are left out. */
static void top_series(const struct mm_registry *reg, const char *fam, char *buf, size_t cap)
{
	buf[0] = '\0';
	const struct mm_metric *m = reg ? mm_registry_find(reg, fam) : NULL;
	if (!m)
		return;
	size_t ns = mm_metric_nseries(m), nl = mm_metric_nlabels(m);
	int qlabel = -1;
	for (size_t i = 0; i < nl; i++)
		if (strcmp(mm_metric_def(m)->labels[i], "queue") == 0)
			qlabel = (int)i;
	const struct mm_series *best[3] = {NULL, NULL, NULL};
	for (size_t i = 0; i < ns; i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		if (qlabel >= 0 && (!s->lv[qlabel] || strcmp(s->lv[qlabel], "deferred") != 0))
			continue;
		if (!(s->value > 0))
			continue;
		for (int k = 0; k < 3; k++) {
			if (!best[k] || s->value > best[k]->value) {
				for (int j = 2; j > k; j--)
					best[j] = best[j - 1];
				best[k] = s;
				break;
			}
		}
	}
	size_t len = 0;
	for (int k = 0; k < 3 && best[k]; k++) {
		char v[64];
		mm_alarm_format_value(best[k]->value, v, sizeof v);
		const char *label = nl ? best[k]->lv[nl - 1] : "";
		int n = snprintf(buf + len, cap - len, "%s%s %s", k ? ", " : "", label, v);
		if (n < 0 || (size_t)n >= cap - len)
			break;
		len += (size_t)n;
	}
}

void mm_alarm_hint(const struct mm_alarm_event *ev, const struct mm_registry *reg, char *cause,
		   size_t ccap, char *cmd, size_t kcap)
{
	const struct hint *h = find_hint(ev);
	char inst[MM_ALARM_TEXT_MAX];
	clean(ev->inst.instance, inst, sizeof inst);
	expand(h->cause, inst, cause, ccap);
	expand(h->command, inst, cmd, kcap);
	const char *ctx[] = {h->context, h->context2};
	for (int k = 0; k < 2; k++) {
		if (!ctx[k])
			continue;
		char top[400];
		top_series(reg, ctx[k], top, sizeof top);
		if (top[0]) {
			size_t len = strlen(cause);
			snprintf(cause + len, ccap - len, "\nTop %s: %s", ctx[k] + 8, top);
		}
	}
	/* a partition: its lock state */
	const struct mm_metric *lk = reg && strncmp(ev->def->sel.name, "mailmon_disk", 12) == 0
					     ? mm_registry_find(reg, "mailmon_disk_locked")
					     : NULL;
	if (lk && mm_metric_nlabels(lk) == 1) {
		const char *lv[] = {ev->inst.instance};
		const struct mm_series *s = mm_metric_lookup(lk, lv);
		if (s) {
			size_t len = strlen(cause);
			snprintf(cause + len, ccap - len, "\nPartition lock ([disk] lock_threshold): %s",
				 s->value > 0 ? "LOCKED, deliveries held" : "not locked");
		}
	}
}

/* ---- mail ---- */

static void add_date(struct mm_strbuf *b, const char *name, int64_t t)
{
	char d[64];
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(d, sizeof d, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	mm_strbuf_printf(b, "%s%s\n", name, d);
}

static void iso_time(int64_t t, char *buf, size_t cap)
{
	if (t <= 0) {
		snprintf(buf, cap, "never");
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* A header value: ASCII as is, anything else as one RFC 2047 word. */
static void add_header_text(struct mm_strbuf *b, const char *s)
{
	bool ascii = true;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p >= 127)
			ascii = false;
	if (ascii) {
		mm_strbuf_adds(b, s);
		return;
	}
	size_t n = strlen(s);
	unsigned char *enc = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock(enc, (const unsigned char *)s, (int)n);
	mm_strbuf_printf(b, "=?utf-8?B?%s?=", (char *)enc);
	free(enc);
}

static void headers(const struct mm_alarm_mail_ctx *ctx, const char *subject, const char *tag,
		    struct mm_strbuf *b)
{
	mm_strbuf_printf(b, "From: mailmon on %s <%s>\n", ctx->node, ctx->from);
	mm_strbuf_printf(b, "To: <%s>\n", ctx->to);
	mm_strbuf_adds(b, "Subject: ");
	add_header_text(b, subject);
	mm_strbuf_addc(b, '\n');
	add_date(b, "Date: ", ctx->now);
	mm_strbuf_printf(b, "Message-ID: <%lld.%ld.%llu@mailmon.invalid>\n", (long long)ctx->now,
			 (long)getpid(), (unsigned long long)ctx->seq);
	mm_strbuf_adds(b, "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
			  "Content-Transfer-Encoding: 8bit\nAuto-Submitted: auto-generated\n");
	mm_strbuf_printf(b, "X-Mailmon-Alarm: %s\n\n", tag);
}

struct field {
	const char *name;
	char value[600];
};

#define NFIELDS 16

/* The named fields of one event, for the built-in body and templates. */
static size_t fields(const struct mm_alarm_mail_ctx *ctx, const struct mm_alarm_event *ev,
		     struct field *f)
{
	const struct mm_alarm_inst *in = &ev->inst;
	const struct mm_alarm_def *d = ev->def;
	char t[64];
	size_t n = 0;
#define F(nm, ...) (f[n].name = nm, snprintf(f[n].value, sizeof f[n].value, __VA_ARGS__), n++)
	F("node", "%s", ctx->node);
	F("alarm", "%s", d->name);
	char inst[MM_ALARM_TEXT_MAX];
	clean(in->instance, inst, sizeof inst);
	F("instance", "%s", inst);
	F("description", "%s", d->description);
	mm_alarm_format_value(in->current, t, sizeof t);
	F("value", "%s", t);
	char when[64];
	iso_time(in->timelastset, when, sizeof when);
	F("time", "%s", when);
	mm_alarm_format_value(in->low, t, sizeof t);
	F("low", "%s", t);
	mm_alarm_format_value(in->high, t, sizeof t);
	F("high", "%s", t);
	F("interval", "%lld seconds", (long long)(d->statinterval_ms / 1000));
	mm_alarm_format_value(d->threshold, t, sizeof t);
	F("threshold", "%s", t);
	F("direction", "%s", d->direction > 0 ? "above" : "below");
	F("count", "%llu", (unsigned long long)in->countoverthreshold);
	F("state", "%s", mm_alarm_kind_name(ev->kind));
	F("severity", "%s", d->severity);
	char cause[600], cmd[300];
	mm_alarm_hint(ev, ctx->reg, cause, sizeof cause, cmd, sizeof cmd);
	F("cause", "%s", cause);
	F("command", "%s", cmd);
#undef F
	return n;
}

static const char *field_get(const struct field *f, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(f[i].name) == len && strncmp(f[i].name, name, len) == 0)
			return f[i].value;
	return NULL;
}

static void template_body(const char *tpl, const struct field *f, size_t n, struct mm_strbuf *b)
{
	for (const char *p = tpl; *p; p++) {
		if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p + 2, '}');
			const char *v = end ? field_get(f, n, p + 2, (size_t)(end - p - 2)) : NULL;
			if (v) {
				mm_strbuf_adds(b, v);
				p = end;
				continue;
			}
		}
		mm_strbuf_addc(b, *p);
	}
	if (b->len && b->p[b->len - 1] != '\n')
		mm_strbuf_addc(b, '\n');
}

static void builtin_body(const struct field *f, size_t n, struct mm_strbuf *b)
{
#define V(nm) field_get(f, n, nm, strlen(nm))
	mm_strbuf_printf(b, "Server instance: %s\n", V("node"));
	mm_strbuf_printf(b, "Alarm id: %s\n", V("alarm"));
	mm_strbuf_printf(b, "Instance: %s\n", V("instance"));
	mm_strbuf_printf(b, "Description: %s\n", V("description"));
	mm_strbuf_printf(b, "Current measured value (%s): %s\n", V("time"), V("value"));
	mm_strbuf_printf(b, "Lowest recorded value: %s\n", V("low"));
	mm_strbuf_printf(b, "Highest recorded value: %s\n", V("high"));
	mm_strbuf_printf(b, "Monitoring interval: %s\n", V("interval"));
	mm_strbuf_printf(b, "Threshold: %s %s\n", V("direction"), V("threshold"));
	mm_strbuf_printf(b, "Number of times over threshold: %s\n", V("count"));
	mm_strbuf_printf(b, "State: %s\n", V("state"));
	mm_strbuf_printf(b, "Severity: %s\n", V("severity"));
	mm_strbuf_printf(b, "\nLikely cause:\n%s\n", V("cause"));
	mm_strbuf_printf(b, "\nNext command:\n%s\n", V("command"));
#undef V
}

void mm_alarm_mail_compose(const struct mm_alarm_mail_ctx *ctx, const struct mm_alarm_event *evs,
			   size_t n, struct mm_strbuf *out)
{
	struct field *f = xcalloc(NFIELDS, sizeof *f);
	if (n == 1) {
		char subject[600], tag[400];
		mm_alarm_subject(&evs[0], subject, sizeof subject);
		char inst[MM_ALARM_TEXT_MAX];
		clean(evs[0].inst.instance, inst, sizeof inst);
		snprintf(tag, sizeof tag, "%s/%s %s", evs[0].def->name, inst,
			 evs[0].kind == MM_ALARM_CLEAR ? "cleared" : "raised");
		headers(ctx, subject, tag, out);
		size_t nf = fields(ctx, &evs[0], f);
		if (ctx->template_text)
			template_body(ctx->template_text, f, nf, out);
		else
			builtin_body(f, nf, out);
		free(f);
		return;
	}
	size_t raised = 0, cleared = 0;
	for (size_t i = 0; i < n; i++)
		if (evs[i].kind == MM_ALARM_CLEAR)
			cleared++;
		else
			raised++;
	char subject[300];
	snprintf(subject, sizeof subject, "ALARM DIGEST: %zu alarm changes on %s (%zu raised, %zu cleared)",
		 n, ctx->node, raised, cleared);
	headers(ctx, subject, "digest", out);
	mm_strbuf_printf(out, "Server instance: %s\n%zu alarms changed state within a short "
			      "window; one line each:\n\n", ctx->node, n);
	for (size_t i = 0; i < n; i++) {
		char s[600];
		mm_alarm_subject(&evs[i], s, sizeof s);
		mm_strbuf_printf(out, "%s\n", s);
	}
	/* the cause and command once per alarm name */
	mm_strbuf_adds(out, "\n");
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			if (evs[j].def == evs[i].def)
				seen = true;
		if (seen)
			continue;
		char cause[600], cmd[300];
		mm_alarm_hint(&evs[i], ctx->reg, cause, sizeof cause, cmd, sizeof cmd);
		mm_strbuf_printf(out, "%s (%s, threshold %s ", evs[i].def->name,
				 evs[i].def->description, evs[i].def->direction > 0 ? "above" : "below");
		char t[64];
		mm_alarm_format_value(evs[i].def->threshold, t, sizeof t);
		mm_strbuf_printf(out, "%s):\n  Likely cause: %s\n  Next command: %s\n\n", t, cause,
				 cmd);
	}
	mm_strbuf_adds(out, "Details of each: mailmon alarms\n");
	free(f);
}

char *mm_alarm_smtp_data(const char *m, size_t n)
{
	struct mm_strbuf b;
	mm_strbuf_init(&b, 2 * n + 8);
	bool bol = true;
	for (size_t i = 0; i < n; i++) {
		char c = m[i];
		if (bol && c == '.')
			mm_strbuf_addc(&b, '.');
		bol = false;
		if (c == '\r' && i + 1 < n && m[i + 1] == '\n')
			continue;
		if (c == '\n') {
			mm_strbuf_add(&b, "\r\n", 2);
			bol = true;
			continue;
		}
		mm_strbuf_addc(&b, c);
	}
	if (!bol)
		mm_strbuf_add(&b, "\r\n", 2);
	size_t len;
	return mm_strbuf_steal(&b, &len);
}

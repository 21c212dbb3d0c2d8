/*
 * notify: digest window, outbox pump and the channels (see notify.h);
 * reading [alarm]'s notice settings is notify_conf.c.
 */
#include "alarm/notify.h"

#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "alarm/alarm_mail.h"
#include "core/childproc.h"
#include "core/clock.h"
#include "core/envp.h"
#include "core/httpc.h"
#include "core/strbuf.h"
#include "core/xalloc.h"
#include "probes/probe.h"

#define MAIL_MAX ((size_t)1 << 20)

/* The notifier's own messages go to its owner's sink. */
#define logf_(n, level, ...) mm_logsink_printf(&(n)->log, (level), __VA_ARGS__)

struct mm_notifier {
	struct event_base *base;
	struct mm_probe_env *penv;
	struct mm_outbox *ob;
	struct mm_alarm_engine *engine;
	struct mm_notify_conf conf;
	bool have_conf;
	struct mm_logsink log;

	struct mm_alarm_event *pend;
	size_t npend, pcap;
	int64_t window_end_ms; /* 0: no window open */
	const struct mm_registry *reg;

	struct event *timer;
	struct mm_probe *mail_busy;
	struct mm_outbox_entry *mail_entry;
	char *mail_data; /* the probe's DATA text, kept until it is done */
	struct mm_httpc *am_busy;
	struct mm_outbox_entry *am_entry;
	struct mm_httpc *am_refresh_busy;
	uint64_t seq;
};

/* ---- the notifier ---- */

static void on_timer(evutil_socket_t fd, short what, void *arg);

struct mm_notifier *mm_notifier_new(struct event_base *base, struct mm_probe_env *penv,
				    const char *outbox_dir, struct mm_alarm_engine *engine,
				    struct mm_err *err)
{
	struct mm_outbox *ob = mm_outbox_open(outbox_dir, 30000, 1800000, err);
	if (!ob)
		return NULL;
	struct mm_notifier *n = xcalloc(1, sizeof *n);
	n->base = base;
	n->penv = penv;
	n->ob = ob;
	n->engine = engine;
	n->timer = evtimer_new(base, on_timer, n);
	return n;
}

void mm_notifier_free(struct mm_notifier *n)
{
	if (!n)
		return;
	if (n->mail_busy)
		mm_probe_cancel(n->mail_busy);
	free(n->mail_data);
	if (n->am_busy)
		mm_httpc_cancel(n->am_busy);
	if (n->am_refresh_busy)
		mm_httpc_cancel(n->am_refresh_busy);
	event_free(n->timer);
	mm_outbox_close(n->ob);
	mm_notify_conf_free(&n->conf);
	free(n->pend);
	free(n);
}

void mm_notifier_set_log(struct mm_notifier *n, struct mm_logsink log)
{
	n->log = log;
}

const struct mm_outbox *mm_notifier_outbox(const struct mm_notifier *n)
{
	return n->ob;
}

const struct mm_notify_conf *mm_notifier_conf(const struct mm_notifier *n)
{
	return &n->conf;
}

static void pump(struct mm_notifier *n);

void mm_notifier_set_conf(struct mm_notifier *n, struct mm_notify_conf *nc)
{
	mm_notify_conf_free(&n->conf);
	n->conf = *nc;
	memset(nc, 0, sizeof *nc);
	n->have_conf = true;
	mm_outbox_set_retry(n->ob, n->conf.retry_min_ms, n->conf.retry_max_ms);
	pump(n);
}

/* Writes result into every instance a notice is about. */
static void set_results(struct mm_notifier *n, const char *keys, const char *result)
{
	if (!keys || !n->engine)
		return;
	const char *p = keys;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char key[MM_ALARM_NAME_MAX + MM_ALARM_TEXT_MAX + 2];
		if (len < sizeof key) {
			memcpy(key, p, len);
			key[len] = '\0';
			char *tab = strchr(key, '\t');
			if (tab) {
				*tab = '\0';
				struct mm_alarm_inst *in = mm_alarm_find(n->engine, key, tab + 1);
				if (in) {
					snprintf(in->last_result, sizeof in->last_result, "%s", result);
					n->engine->dirty = true;
				}
			}
		}
		p += len + (nl ? 1 : 0);
	}
}

static char *event_keys(const struct mm_alarm_event *evs, size_t count)
{
	struct mm_strbuf b;
	mm_strbuf_init(&b, (size_t)1 << 20);
	for (size_t i = 0; i < count; i++)
		mm_strbuf_printf(&b, "%s\t%s\n", evs[i].inst.alarm, evs[i].inst.instance);
	size_t len;
	return mm_strbuf_steal(&b, &len);
}

static void enqueue_mail(struct mm_notifier *n, const struct mm_alarm_event *evs, size_t count,
			 int64_t now_ms)
{
	struct mm_alarm_mail_ctx ctx = {
		.node = n->conf.node,
		.from = n->conf.from,
		.to = n->conf.to,
		.template_text = n->conf.template_text,
		.reg = n->reg,
		.now = now_ms / 1000,
		.seq = ++n->seq,
	};
	struct mm_strbuf b;
	mm_strbuf_init(&b, MAIL_MAX);
	mm_alarm_mail_compose(&ctx, evs, count, &b);
	char *keys = event_keys(evs, count);
	struct mm_err err = {{0}};
	if (!mm_outbox_add(n->ob, "mail", b.p, b.len, keys, now_ms, &err)) {
		logf_(n, LOG_WARNING, "alarm mail could not be queued: %s", err.msg);
		set_results(n, keys, "mail: could not be queued");
	} else {
		set_results(n, keys, "mail: queued");
	}
	free(keys);
	mm_strbuf_free(&b);
}

/* ---- Alertmanager v2: POST /api/v2/alerts ---- */

/* One alert: labels alertname, instance, severity, node; annotations
 * description, summary, cause, command; startsAt (the raise), endsAt (the
 * clear, or a little past the next refresh while it holds). */
static json_t *am_alert(const struct mm_notify_conf *c, const struct mm_alarm_def *d,
			const struct mm_alarm_inst *in, bool cleared, const struct mm_registry *reg,
			int64_t now)
{
	struct mm_alarm_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = cleared ? MM_ALARM_CLEAR : MM_ALARM_RAISE;
	ev.def = d;
	ev.inst = *in;
	char subject[600], cause[600], cmd[300], starts[32], ends[32], v[64];
	mm_alarm_subject(&ev, subject, sizeof subject);
	mm_alarm_hint(&ev, reg, cause, sizeof cause, cmd, sizeof cmd);
	mm_alarm_format_value(in->current, v, sizeof v);
	/* a raise's time: for a clear, the raise was before; without it, now */
	int64_t raised = cleared ? (in->timelastwarning ? in->timelastwarning : now)
				 : (in->timestatechanged ? in->timestatechanged : now);
	mm_utc_iso8601(raised, starts, sizeof starts);
	mm_utc_iso8601(cleared ? (in->timestatechanged ? in->timestatechanged : now)
			: now + MM_NOTIFY_AM_HOLD_S,
		ends, sizeof ends);
	return json_pack("{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s}",
			 "labels", "alertname", d->name, "instance", in->instance, "severity",
			 d->severity, "node", c->node, "annotations", "description", d->description,
			 "summary", subject, "cause", cause, "command", cmd, "value", v, "startsAt",
			 starts, "endsAt", ends);
}

static char *json_text(json_t *arr, size_t *len)
{
	char *text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	*len = text ? strlen(text) : 0;
	return text;
}

static void enqueue_am(struct mm_notifier *n, const struct mm_alarm_event *evs, size_t count,
		       int64_t now_ms)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append_new(arr, am_alert(&n->conf, evs[i].def, &evs[i].inst,
						    evs[i].kind == MM_ALARM_CLEAR, n->reg,
						    now_ms / 1000));
	size_t len;
	char *text = json_text(arr, &len);
	if (!text)
		return;
	char *keys = event_keys(evs, count);
	struct mm_err err = {{0}};
	if (!mm_outbox_add(n->ob, "am", text, len, keys, now_ms, &err))
		logf_(n, LOG_WARNING, "Alertmanager notice could not be queued: %s", err.msg);
	free(keys);
	free(text);
}

/* POSTs body to the Alertmanager of n's conf; done(arg) gets the answer.
 * The request in flight, or NULL with err set. Used by the outbox, the
 * refresh and the test notice alike. */
static struct mm_httpc *am_post(struct mm_notifier *n, const char *body, size_t len,
				mm_httpc_done_fn *done, void *arg, struct mm_err *err)
{
	static const char *const headers[] = {"Content-Type: application/json", NULL};
	struct mm_httpc_req req = {
		.method = "POST",
		.host = n->conf.am_host,
		.port = n->conf.am_port,
		.path = "/api/v2/alerts",
		.headers = headers,
		.body = body,
		.body_len = len,
		.timeout_ms = n->conf.am_timeout_ms,
		.max_bytes = 64 << 10,
	};
	return mm_httpc_start(n->base, &req, done, arg, err);
}

static int am_start(struct mm_notifier *n, const char *body, size_t len, mm_httpc_done_fn *done,
		    struct mm_httpc **out, struct mm_err *err)
{
	*out = am_post(n, body, len, done, n, err);
	return *out ? 0 : -1;
}

static void am_done(const struct mm_httpc_res *res, void *arg)
{
	struct mm_notifier *n = arg;
	struct mm_outbox_entry *e = n->am_entry;
	n->am_busy = NULL;
	n->am_entry = NULL;
	int64_t now = mm_wall_ms();
	if (res->status == 200) {
		mm_outbox_done(n->ob, e);
	} else {
		char why[200];
		if (res->error)
			snprintf(why, sizeof why, "Alertmanager: %.150s", res->error);
		else
			snprintf(why, sizeof why, "Alertmanager: HTTP %d: %.120s", res->status,
				 res->body);
		mm_outbox_failed(n->ob, e, why, now);
		logf_(n, LOG_WARNING, "%s (%u attempts)", why, e->attempts);
	}
	pump(n);
}

static void send_am(struct mm_notifier *n, struct mm_outbox_entry *e, int64_t now_ms)
{
	struct mm_err err = {{0}};
	size_t len;
	char *body = mm_outbox_read(n->ob, e, &len, &err);
	if (body) {
		n->am_entry = e;
		e->busy = true;
		if (am_start(n, body, len, am_done, &n->am_busy, &err) == 0) {
			free(body);
			return;
		}
		e->busy = false;
		n->am_entry = NULL;
		free(body);
	}
	mm_outbox_failed(n->ob, e, err.msg, now_ms);
	logf_(n, LOG_WARNING, "Alertmanager: %s", err.msg);
}

static void am_refresh_done(const struct mm_httpc_res *res, void *arg)
{
	struct mm_notifier *n = arg;
	n->am_refresh_busy = NULL;
	if (res->status != 200)
		logf_(n, LOG_WARNING, "Alertmanager refresh: %s", res->error ? res->error : "not accepted");
}

void mm_notifier_am_refresh(struct mm_notifier *n, const struct mm_alarm_engine *e,
			    const struct mm_alarm_defs *defs, const struct mm_registry *reg,
			    int64_t now_ms)
{
	if (!n->have_conf || !n->conf.am_url[0] || n->am_refresh_busy || !e)
		return;
	json_t *arr = json_array();
	int64_t now = now_ms / 1000;
	for (size_t i = 0; i < e->ninst; i++) {
		const struct mm_alarm_inst *in = &e->inst[i];
		const struct mm_alarm_def *d = mm_alarm_defs_find(defs, in->alarm);
		if (d && in->warningstate && in->notified &&
		    !mm_alarm_silenced(e, in->alarm, in->instance, now))
			json_array_append_new(arr, am_alert(&n->conf, d, in, false, reg, now));
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return;
	}
	size_t len;
	char *text = json_text(arr, &len);
	struct mm_err err = {{0}};
	if (text && am_start(n, text, len, am_refresh_done, &n->am_refresh_busy, &err) < 0)
		logf_(n, LOG_WARNING, "Alertmanager refresh: %s", err.msg);
	free(text);
}

/* ---- exec hook: once per event, not retried ---- */

struct exec_job {
	struct mm_notifier *n;
	char **envp;
	char key[MM_ALARM_NAME_MAX + MM_ALARM_TEXT_MAX + 2];
};


static void exec_done(const struct mm_child_result *res, void *arg)
{
	struct exec_job *j = arg;
	char what[300];
	mm_child_describe(res, what, sizeof what);
	bool ok = res->exit_code == 0 && !res->timed_out && !res->signal;
	if (!ok)
		logf_(j->n, LOG_WARNING, "alarm exec hook for %s: %s", j->key, what);
	mm_envp_free(j->envp);
	free(j);
}

static char **event_env(const struct mm_notify_conf *c, const struct mm_alarm_event *ev)
{
	char v[64], t[64], subject[600];
	mm_alarm_format_value(ev->inst.current, v, sizeof v);
	mm_alarm_format_value(ev->def->threshold, t, sizeof t);
	mm_alarm_subject(ev, subject, sizeof subject);
	const char *const kv[][2] = {
		{"MAILMON_ALARM", ev->def->name},
		{"MAILMON_INSTANCE", ev->inst.instance},
		{"MAILMON_STATE", ev->kind == MM_ALARM_CLEAR ? "cleared"
				   : ev->kind == MM_ALARM_REPEAT ? "repeated" : "raised"},
		{"MAILMON_VALUE", v},
		{"MAILMON_THRESHOLD", t},
		{"MAILMON_DIRECTION", ev->def->direction > 0 ? "above" : "below"},
		{"MAILMON_SEVERITY", ev->def->severity},
		{"MAILMON_DESCRIPTION", ev->def->description},
		{"MAILMON_SUBJECT", subject},
		{"MAILMON_NODE", c->node},
	};
	return mm_envp_new(kv, sizeof kv / sizeof kv[0]);
}

static void run_exec(struct mm_notifier *n, const struct mm_alarm_event *ev)
{
	struct exec_job *j = xcalloc(1, sizeof *j);
	j->n = n;
	j->envp = event_env(&n->conf, ev);
	snprintf(j->key, sizeof j->key, "%s/%s", ev->inst.alarm, ev->inst.instance);
	struct mm_child_params p = {
		.argv = n->conf.exec_argv,
		.envp = j->envp,
		.timeout_ms = n->conf.exec_timeout_ms,
		.max_output = 64 << 10,
		.keep_stderr = true,
	};
	struct mm_err err = {{0}};
	if (!mm_child_start(n->base, &p, exec_done, j, &err)) {
		logf_(n, LOG_WARNING, "alarm exec hook for %s: %s", j->key, err.msg);
		mm_envp_free(j->envp);
		free(j);
	}
}

/* ---- digest window ---- */

static void arm(struct mm_notifier *n)
{
	int64_t due = mm_outbox_next_due(n->ob);
	if (n->window_end_ms && n->window_end_ms < due)
		due = n->window_end_ms;
	if (due == INT64_MAX) {
		evtimer_del(n->timer);
		return;
	}
	int64_t wait = due - mm_wall_ms();
	if (wait < 0)
		wait = 0;
	struct timeval tv = {wait / 1000, (wait % 1000) * 1000};
	evtimer_add(n->timer, &tv);
}

void mm_notifier_flush(struct mm_notifier *n, int64_t now_ms)
{
	n->window_end_ms = 0;
	if (n->npend == 0 || !n->have_conf) {
		n->npend = 0;
		return;
	}
	if (n->conf.mail) {
		if (n->npend > (size_t)n->conf.digest_min)
			enqueue_mail(n, n->pend, n->npend, now_ms);
		else
			for (size_t i = 0; i < n->npend; i++)
				enqueue_mail(n, &n->pend[i], 1, now_ms);
	}
	n->npend = 0;
	pump(n);
}

void mm_notifier_events(struct mm_notifier *n, const struct mm_alarm_event *evs, size_t count,
			const struct mm_registry *reg, int64_t now_ms)
{
	if (!n->have_conf)
		return;
	n->reg = reg;
	for (size_t i = 0; i < count; i++) {
		const struct mm_alarm_event *ev = &evs[i];
		char subject[600];
		mm_alarm_subject(ev, subject, sizeof subject);
		logf_(n, ev->kind != MM_ALARM_CLEAR ? LOG_WARNING : LOG_INFO, "%s%s", subject,
		      ev->silenced ? " (silenced)" : "");
		if (ev->silenced)
			continue;
		if (n->conf.exec_argv)
			run_exec(n, ev);
		if (n->conf.am_url[0])
			enqueue_am(n, ev, 1, now_ms);
		n->pend = xgrow(n->pend, &n->pcap, n->npend + 1, sizeof *n->pend);
		n->pend[n->npend++] = *ev;
	}
	if (n->npend == 0)
		return;
	pump(n); /* Alertmanager does not wait for the digest window */
	if (n->conf.digest_window_ms <= 0) {
		mm_notifier_flush(n, now_ms);
		return;
	}
	if (!n->window_end_ms) {
		n->window_end_ms = now_ms + n->conf.digest_window_ms;
		arm(n);
	}
}

/* ---- sending ---- */

static void mail_done(const struct mm_probe_result *res, void *arg)
{
	struct mm_notifier *n = arg;
	struct mm_outbox_entry *e = n->mail_entry;
	n->mail_busy = NULL;
	n->mail_entry = NULL;
	free(n->mail_data);
	n->mail_data = NULL;
	int64_t now = mm_wall_ms();
	char result[200];
	time_t t = (time_t)(now / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char hm[32];
	strftime(hm, sizeof hm, "%Y-%m-%d %H:%M:%S", &tm);
	if (res->fail == MM_PF_NONE) {
		snprintf(result, sizeof result, "mail sent %s: %.120s", hm, res->queue_id);
		set_results(n, e->keys, result);
		logf_(n, LOG_INFO, "alarm mail %llu delivered to %s:%d: %s", (unsigned long long)e->seq,
		      n->conf.host, n->conf.port, res->queue_id);
		mm_outbox_done(n->ob, e);
	} else {
		char why[200];
		snprintf(why, sizeof why, "%s: %.150s", mm_probe_fail_name(res->fail), res->msg);
		mm_outbox_failed(n->ob, e, why, now);
		snprintf(result, sizeof result, "mail failed %s (queued, attempt %u): %.120s", hm,
			 e->attempts, why);
		set_results(n, e->keys, result);
		logf_(n, LOG_WARNING, "alarm mail %llu to %s:%d failed (%u attempts; retry in %llds): %s",
		      (unsigned long long)e->seq, n->conf.host, n->conf.port, e->attempts,
		      (long long)((e->next_ms - now) / 1000), why);
	}
	pump(n);
}

/* The SMTP probe that hands a notice to [alarm] noticehost: sender,
 * recipient and server from c; the caller adds the DATA and timeouts. */
static void mail_params(const struct mm_notify_conf *c, struct mm_probe_params *p)
{
	mm_probe_params_init(p);
	p->proto = MM_PROTO_SMTP;
	snprintf(p->scheme, sizeof p->scheme, "smtp");
	snprintf(p->host, sizeof p->host, "%s", c->host);
	p->port = c->port;
	snprintf(p->helo, sizeof p->helo, "mailmon.invalid");
	snprintf(p->mail_from, sizeof p->mail_from, "%s", c->from);
	snprintf(p->rcpt, sizeof p->rcpt, "%s", c->to);
}

static void send_mail(struct mm_notifier *n, struct mm_outbox_entry *e, int64_t now_ms)
{
	struct mm_err err = {{0}};
	size_t len;
	char *msg = mm_outbox_read(n->ob, e, &len, &err);
	if (!msg) {
		mm_outbox_failed(n->ob, e, err.msg, now_ms);
		logf_(n, LOG_WARNING, "alarm mail %llu: %s", (unsigned long long)e->seq, err.msg);
		return;
	}
	struct mm_probe_params p;
	mail_params(&n->conf, &p);
	n->mail_data = mm_alarm_smtp_data(msg, len);
	free(msg);
	p.data = n->mail_data;
	p.connect_timeout_ms = n->conf.timeout_ms < 10000 ? n->conf.timeout_ms : 10000;
	p.timeout_ms = n->conf.timeout_ms;
	n->mail_entry = e;
	e->busy = true;
	n->mail_busy = mm_probe_start(n->penv, &p, mail_done, n, &err);
	if (!n->mail_busy) {
		free(n->mail_data);
		n->mail_data = NULL;
		n->mail_entry = NULL;
		mm_outbox_failed(n->ob, e, err.msg, now_ms);
		logf_(n, LOG_WARNING, "alarm mail %llu: %s", (unsigned long long)e->seq, err.msg);
	}
}

static void pump(struct mm_notifier *n)
{
	if (!n->have_conf)
		return;
	int64_t now = mm_wall_ms();
	if (!n->mail_busy) {
		struct mm_outbox_entry *e = mm_outbox_due(n->ob, "mail", now);
		if (e)
			send_mail(n, e, now);
	}
	if (!n->am_busy && n->conf.am_url[0]) {
		struct mm_outbox_entry *e = mm_outbox_due(n->ob, "am", now);
		if (e)
			send_am(n, e, now);
	}
	arm(n);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct mm_notifier *n = arg;
	int64_t now = mm_wall_ms();
	if (n->window_end_ms && now >= n->window_end_ms)
		mm_notifier_flush(n, now);
	pump(n);
}

/* ---- test notices ---- */

struct test_job {
	mm_notify_test_fn *done;
	void *arg;
	char channel[16];
	char **envp; /* exec: kept until the child is done */
	char *data;  /* mail: the DATA text, kept until the probe is done */
};

static void test_mail_done(const struct mm_probe_result *res, void *arg)
{
	struct test_job *j = arg;
	j->done(j->arg, j->channel, res->fail == MM_PF_NONE,
		res->fail == MM_PF_NONE ? res->queue_id : res->msg);
	free(j->data);
	free(j);
}

static void test_am_done(const struct mm_httpc_res *res, void *arg)
{
	struct test_job *j = arg;
	char what[200];
	if (res->error)
		snprintf(what, sizeof what, "%s", res->error);
	else
		snprintf(what, sizeof what, "HTTP %d", res->status);
	j->done(j->arg, j->channel, res->status == 200, what);
	free(j);
}

static void test_exec_done(const struct mm_child_result *res, void *arg)
{
	struct test_job *j = arg;
	char what[300];
	mm_child_describe(res, what, sizeof what);
	j->done(j->arg, j->channel, res->exit_code == 0 && !res->timed_out && !res->signal, what);
	mm_envp_free(j->envp);
	free(j);
}

int mm_notifier_test(struct mm_notifier *n, int64_t now_ms, mm_notify_test_fn *done, void *arg)
{
	int tried = 0;
	if (!n->have_conf)
		return 0;
	static const struct mm_alarm_def tdef = {
		.name = "test",
		.enable = true,
		.statinterval_ms = 60000,
		.threshold = 0,
		.direction = 1,
		.cycles_n = 1,
		.cycles_m = 1,
		.severity = "warning",
		.description = "mailmon test notice",
		.sel = {.name = "mailmon_test"},
	};
	struct mm_alarm_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = MM_ALARM_RAISE;
	ev.def = &tdef;
	snprintf(ev.inst.alarm, sizeof ev.inst.alarm, "test");
	snprintf(ev.inst.instance, sizeof ev.inst.instance, "%s", n->conf.node);
	ev.inst.current = ev.inst.high = ev.inst.low = 1;
	ev.inst.timelastset = now_ms / 1000;
	ev.inst.countoverthreshold = 1;
	if (n->conf.mail) {
		struct mm_alarm_mail_ctx ctx = {.node = n->conf.node, .from = n->conf.from,
						.to = n->conf.to, .template_text = n->conf.template_text,
						.now = now_ms / 1000, .seq = ++n->seq};
		struct mm_strbuf b;
		mm_strbuf_init(&b, MAIL_MAX);
		mm_alarm_mail_compose(&ctx, &ev, 1, &b);
		struct mm_probe_params p;
		mail_params(&n->conf, &p);
		struct test_job *j = xcalloc(1, sizeof *j);
		j->data = mm_alarm_smtp_data(b.p, b.len);
		p.data = j->data;
		p.timeout_ms = n->conf.timeout_ms;
		j->done = done;
		j->arg = arg;
		snprintf(j->channel, sizeof j->channel, "mail");
		struct mm_err err = {{0}};
		tried++;
		if (!mm_probe_start(n->penv, &p, test_mail_done, j, &err)) {
			done(arg, "mail", 0, err.msg);
			free(j->data);
			free(j);
		}
		mm_strbuf_free(&b);
	}
	if (n->conf.am_url[0]) {
		struct test_job *j = xcalloc(1, sizeof *j);
		j->done = done;
		j->arg = arg;
		snprintf(j->channel, sizeof j->channel, "alertmanager");
		json_t *arr = json_array();
		json_array_append_new(arr, am_alert(&n->conf, &tdef, &ev.inst, false, NULL,
						    now_ms / 1000));
		size_t len;
		char *text = json_text(arr, &len);
		struct mm_err err = {{0}};
		tried++;
		if (!text || !am_post(n, text, len, test_am_done, j, &err)) {
			done(arg, "alertmanager", 0, text ? err.msg : "cannot encode");
			free(j);
		}
		free(text);
	}
	if (n->conf.exec_argv) {
		struct test_job *j = xcalloc(1, sizeof *j);
		j->done = done;
		j->arg = arg;
		snprintf(j->channel, sizeof j->channel, "exec");
		j->envp = event_env(&n->conf, &ev);
		struct mm_child_params p = {.argv = n->conf.exec_argv, .envp = j->envp,
					    .timeout_ms = n->conf.exec_timeout_ms,
					    .max_output = 64 << 10, .keep_stderr = true};
		struct mm_err err = {{0}};
		tried++;
		if (!mm_child_start(n->base, &p, test_exec_done, j, &err)) {
			done(arg, "exec", 0, err.msg);
			mm_envp_free(j->envp);
			free(j);
		}
	}
	return tried;
}

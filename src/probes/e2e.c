/* e2e: see e2e.h. One run is a small state machine over three probes:
 * LDAP -> SMTP (with data) -> IMAP/POP3 (mailbox task), plus a timer
 * between POP3 looks. Every step checks the run's remaining time. */
#include "probes/e2e.h"

#include <ctype.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "core/xalloc.h"
#include "probes/pingpong.h"

static const char *const leg_names[MM_E2E_LEG_COUNT] = {
	[MM_E2E_OK] = "ok",
	[MM_E2E_DIRECTORY] = "directory",
	[MM_E2E_SUBMISSION] = "submission",
	[MM_E2E_DELIVERY] = "delivery",
	[MM_E2E_RETRIEVAL] = "retrieval",
	[MM_E2E_INTERNAL] = "internal",
};

const char *mm_e2e_leg_name(enum mm_e2e_leg leg)
{
	return (unsigned)leg < MM_E2E_LEG_COUNT ? leg_names[leg] : "?";
}

struct mm_e2e {
	struct mm_probe_env *env;
	struct mm_e2e_params prm;
	mm_e2e_cb *cb;
	void *arg;
	struct mm_e2e_result res;
	struct mm_probe *probe;	 /* the one running */
	struct event *ev_look;	 /* POP3: the next look */
	struct event *ev_done;	 /* delivers the result from the loop */
	int64_t t0_us, end_us;	 /* start; start + timeout */
	int64_t data_end_us;
	char *message;
	uint64_t nonce;
	const char *fetch_proto; /* "imap" / "pop3" for stage names */
};

void mm_e2e_params_init(struct mm_e2e_params *p)
{
	memset(p, 0, sizeof *p);
	mm_strlcpy(p->name, "e2e", sizeof p->name);
	mm_probe_params_init(&p->ldap);
	mm_probe_params_init(&p->submit);
	mm_probe_params_init(&p->fetch);
	p->timeout_ms = 60000;
	p->poll_ms = 500;
	p->cleanup_age_ms = 600000;
}

/* RFC 5322 date in UTC, without locale. */
static void rfc5322_date(int64_t wall_ms, char *out, size_t cap)
{
	static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, cap, "%s, %d %s %04d %02d:%02d:%02d +0000", wd[tm.tm_wday], tm.tm_mday,
		 mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int mm_e2e_message(const char *from, const char *to, const char *name, const char *tag,
		   int64_t sent_ms, uint64_t nonce, char *out, size_t cap)
{
	char date[64];
	rfc5322_date(sent_ms, date, sizeof date);
	int n = snprintf(out, cap,
			 "From: <%s>\r\n"
			 "To: <%s>\r\n"
			 "Subject: mailmon end-to-end probe %s\r\n"
			 "Date: %s\r\n"
			 "Message-ID: <%016" PRIx64 ".%" PRId64 "@mailmon.invalid>\r\n"
			 "%s: %s\r\n"
			 "MIME-Version: 1.0\r\n"
			 "Content-Type: text/plain; charset=us-ascii\r\n"
			 "Auto-Submitted: auto-generated\r\n"
			 "\r\n"
			 "mailmon end-to-end delivery probe \"%s\".\r\n"
			 "It deletes this message when it finds it; a copy left here is\r\n"
			 "removed by a later run.\r\n",
			 from[0] ? from : "mailmon@mailmon.invalid", to, name, date, nonce, sent_ms,
			 MM_E2E_HEADER, tag, name);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void add_stage(struct mm_e2e *e, const char *prefix, const char *name, int64_t us)
{
	char full[24];
	snprintf(full, sizeof full, "%s%s", prefix, name);
	for (size_t i = 0; i < e->res.nstages; i++)
		if (strcmp(e->res.stages[i].name, full) == 0) {
			e->res.stages[i].us += us;
			return;
		}
	if (e->res.nstages < MM_E2E_MAX_STAGES) {
		mm_strlcpy(e->res.stages[e->res.nstages].name, full, sizeof e->res.stages[0].name);
		e->res.stages[e->res.nstages++].us = us;
	}
}

static void add_probe_stages(struct mm_e2e *e, const char *prefix, const struct mm_probe_result *r)
{
	for (size_t i = 0; i < r->nstages; i++)
		add_stage(e, prefix, r->stages[i].name, r->stages[i].us);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct mm_e2e *e = arg;
	e->res.total_us = mm_probe_now_us() - e->t0_us;
	e->cb(&e->res, e->arg);
	mm_e2e_cancel(e);
}

static void finish(struct mm_e2e *e)
{
	e->probe = NULL;
	event_active(e->ev_done, EV_TIMEOUT, 0);
}

static void fail_leg(struct mm_e2e *e, enum mm_e2e_leg leg, const struct mm_probe_result *r)
{
	e->res.leg = leg;
	e->res.fail = r->fail;
	mm_strlcpy(e->res.stage, r->stage, sizeof e->res.stage);
	mm_strlcpy(e->res.msg, r->msg, sizeof e->res.msg);
	finish(e);
}

static int64_t remaining_ms(struct mm_e2e *e)
{
	return (e->end_us - mm_probe_now_us()) / 1000;
}

/* The run's remaining time bounds each probe. */
static void bound(struct mm_e2e *e, struct mm_probe_params *p)
{
	int64_t left = remaining_ms(e);
	if (left < 1)
		left = 1;
	if (p->timeout_ms > left || p->timeout_ms <= 0)
		p->timeout_ms = left;
	if (p->connect_timeout_ms > p->timeout_ms)
		p->connect_timeout_ms = p->timeout_ms;
}

static void start_fetch(struct mm_e2e *e);

/* Received chain -> hops with their delays. */
static void hops_from_header(struct mm_e2e *e, const char *hdr, size_t len)
{
	struct mm_e2e_result *r = &e->res;
	r->nhops = mm_received_parse(hdr, len, r->hops, MM_RECEIVED_MAX);
	int64_t prev = r->sent_wall_ms - r->sent_wall_ms % 1000; /* stamps have 1 s resolution */
	for (size_t i = 0; i < r->nhops; i++) {
		if (!r->hops[i].have_time) {
			r->hop_us[i] = -1;
			continue;
		}
		int64_t d = r->hops[i].wall_ms - prev;
		r->hop_us[i] = d > 0 ? d * 1000 : 0;
		if (r->hops[i].wall_ms > prev)
			prev = r->hops[i].wall_ms;
	}
}

static void take_claims(struct mm_e2e *e, const struct mm_probe_box_result *b)
{
	for (size_t i = 0; i < b->nclaimed && e->res.nclaimed < MM_BOX_MAX_CLAIMED; i++) {
		int64_t sent = 0;
		mm_e2e_tag_parse(b->claimed[i].tag, NULL, 0, &sent);
		size_t k = e->res.nclaimed++;
		mm_strlcpy(e->res.claimed[k].tag, b->claimed[i].tag, sizeof e->res.claimed[k].tag);
		e->res.claimed[k].sent_wall_ms = sent;
		e->res.claimed[k].delay_ms = b->claimed[i].delivered_wall_ms && sent
						     ? b->claimed[i].delivered_wall_ms - sent
						     : -1;
	}
	e->res.scanned += b->scanned;
	e->res.cleaned += b->cleaned;
}

static void on_look_timer(evutil_socket_t fd, short what, void *arg)
{
	start_fetch(arg);
}

static void on_fetch(const struct mm_probe_result *r, void *arg)
{
	struct mm_e2e *e = arg;
	const struct mm_probe_box_result *b = &r->box;
	e->probe = NULL;
	add_probe_stages(e, e->fetch_proto, r);
	e->res.polls += b->polls;
	e->res.idle = e->res.idle || b->idle;
	take_claims(e, b);
	if (r->fail != MM_PF_NONE && !(b->found && b->fetched_us)) {
		if (b->ready && r->fail == MM_PF_TIMEOUT) {
			e->res.waited_us = mm_probe_now_us() - e->data_end_us;
			fail_leg(e, MM_E2E_DELIVERY, r);
			const char *q = strstr(e->res.queue_id, "queued as ");
			snprintf(e->res.msg, sizeof e->res.msg,
				 "message%s%.40s not visible in the mailbox %.3f s after DATA (timeout)",
				 q ? " " : "", q ? q + 10 : "",
				 (double)(mm_probe_now_us() - e->data_end_us) / 1e6);
			return;
		}
		fail_leg(e, MM_E2E_RETRIEVAL, r);
		return;
	}
	if (!b->found) {
		/* POP3: one look found nothing; look again while time is left. */
		if (remaining_ms(e) > e->prm.poll_ms) {
			struct timeval tv = {e->prm.poll_ms / 1000, (e->prm.poll_ms % 1000) * 1000};
			event_add(e->ev_look, &tv);
			return;
		}
		e->res.leg = MM_E2E_DELIVERY;
		e->res.fail = MM_PF_TIMEOUT;
		e->res.waited_us = mm_probe_now_us() - e->data_end_us;
		mm_strlcpy(e->res.stage, "wait", sizeof e->res.stage);
		snprintf(e->res.msg, sizeof e->res.msg,
			 "message not visible in the mailbox %.3f s after DATA (timeout)",
			 (double)(mm_probe_now_us() - e->data_end_us) / 1e6);
		finish(e);
		return;
	}
	int64_t now = mm_probe_now_us();
	e->res.delivered = true;
	e->res.delivery_us = b->visible_us - e->data_end_us;
	if (e->res.delivery_us < 0)
		e->res.delivery_us = 0;
	e->res.retrieve_us = now - b->visible_us;
	e->res.late = e->prm.deadline_ms > 0 && e->res.delivery_us > e->prm.deadline_ms * 1000;
	hops_from_header(e, b->header, b->header_len);
	e->res.leg = MM_E2E_OK;
	e->res.fail = r->fail; /* a failed LOGOUT after the work is done is not a failure */
	snprintf(e->res.msg, sizeof e->res.msg, "delivered in %.3f s%s",
		 (double)e->res.delivery_us / 1e6, e->res.late ? " (late)" : "");
	finish(e);
}

static void start_fetch(struct mm_e2e *e)
{
	struct mm_probe_params p = e->prm.fetch;
	bound(e, &p);
	p.box.on = true;
	mm_strlcpy(p.box.tag, e->res.tag, sizeof p.box.tag);
	if (e->prm.claim)
		mm_e2e_tag_prefix(e->prm.name, p.box.claim, sizeof p.box.claim);
	p.box.poll_ms = e->prm.poll_ms;
	p.box.cleanup_age_ms = e->prm.cleanup_age_ms;
	p.box.no_idle = e->prm.no_idle;
	struct mm_err err;
	e->probe = mm_probe_start(e->env, &p, on_fetch, e, &err);
	if (!e->probe) {
		e->res.leg = MM_E2E_INTERNAL;
		e->res.fail = MM_PF_INTERNAL;
		snprintf(e->res.msg, sizeof e->res.msg, "fetch: %.400s", err.msg);
		finish(e);
	}
}

static void on_submit(const struct mm_probe_result *r, void *arg)
{
	struct mm_e2e *e = arg;
	e->probe = NULL;
	add_probe_stages(e, "smtp_", r);
	e->res.smtp_us = r->total_us;
	if (r->fail != MM_PF_NONE && !r->data_end_us) {
		fail_leg(e, MM_E2E_SUBMISSION, r);
		return;
	}
	/* Accepted: a failed QUIT afterwards does not unsend the message. */
	e->data_end_us = r->data_end_us;
	mm_strlcpy(e->res.queue_id, r->queue_id, sizeof e->res.queue_id);
	if (remaining_ms(e) <= 0) {
		e->res.leg = MM_E2E_DELIVERY;
		e->res.fail = MM_PF_TIMEOUT;
		snprintf(e->res.msg, sizeof e->res.msg, "no time left after submission");
		finish(e);
		return;
	}
	start_fetch(e);
}

static void start_submit(struct mm_e2e *e)
{
	struct mm_probe_params p = e->prm.submit;
	bound(e, &p);
	e->res.sent_wall_ms = mm_wall_ms();
	mm_e2e_tag_make(e->prm.name, e->res.sent_wall_ms, e->nonce, e->res.tag, sizeof e->res.tag);
	size_t cap = 4096;
	e->message = xmalloc(cap);
	if (mm_e2e_message(p.mail_from, p.rcpt, e->prm.name, e->res.tag, e->res.sent_wall_ms,
			   e->nonce, e->message, cap) < 0) {
		e->res.leg = MM_E2E_INTERNAL;
		e->res.fail = MM_PF_INTERNAL;
		snprintf(e->res.msg, sizeof e->res.msg, "message too long");
		finish(e);
		return;
	}
	p.data = e->message;
	struct mm_err err;
	e->probe = mm_probe_start(e->env, &p, on_submit, e, &err);
	if (!e->probe) {
		e->res.leg = MM_E2E_INTERNAL;
		e->res.fail = MM_PF_INTERNAL;
		snprintf(e->res.msg, sizeof e->res.msg, "submit: %.400s", err.msg);
		finish(e);
	}
}

static void on_ldap(const struct mm_probe_result *r, void *arg)
{
	struct mm_e2e *e = arg;
	e->probe = NULL;
	e->res.ldap_us = r->total_us;
	add_stage(e, "", "ldap", r->total_us);
	if (r->fail != MM_PF_NONE) {
		fail_leg(e, MM_E2E_DIRECTORY, r);
		return;
	}
	start_submit(e);
}

struct mm_e2e *mm_e2e_start(struct mm_probe_env *env, const struct mm_e2e_params *prm,
			    mm_e2e_cb *cb, void *arg, struct mm_err *err)
{
	if (!mm_e2e_name_ok(prm->name)) {
		mm_err_set(err, "e2e: name \"%s\": use 1-63 of A-Z a-z 0-9 . _ -", prm->name);
		return NULL;
	}
	if (prm->submit.proto != MM_PROTO_SMTP || !prm->submit.rcpt[0]) {
		mm_err_set(err, "e2e: submission needs an smtp, smtps or submission URL and a recipient");
		return NULL;
	}
	if (prm->fetch.proto != MM_PROTO_IMAP && prm->fetch.proto != MM_PROTO_POP3) {
		mm_err_set(err, "e2e: retrieval needs an imap(s) or pop3(s) URL");
		return NULL;
	}
	if (!prm->fetch.user[0]) {
		mm_err_set(err, "e2e: retrieval needs the mailbox user's credentials");
		return NULL;
	}
	if (prm->have_ldap && prm->ldap.proto != MM_PROTO_LDAP) {
		mm_err_set(err, "e2e: the directory URL must be ldap:// or ldaps://");
		return NULL;
	}
	if (prm->timeout_ms <= 0 || prm->poll_ms <= 0) {
		mm_err_set(err, "e2e: timeout and poll interval must be positive");
		return NULL;
	}
	struct mm_e2e *e = xcalloc(1, sizeof *e);
	e->env = env;
	e->prm = *prm;
	e->cb = cb;
	e->arg = arg;
	e->t0_us = mm_probe_now_us();
	e->end_us = e->t0_us + prm->timeout_ms * 1000;
	e->res.ldap_us = e->res.smtp_us = e->res.delivery_us = e->res.retrieve_us = -1;
	e->res.waited_us = -1;
	e->fetch_proto = prm->fetch.proto == MM_PROTO_IMAP ? "imap_" : "pop3_";
	if (getrandom(&e->nonce, sizeof e->nonce, 0) != sizeof e->nonce)
		e->nonce = (uint64_t)mm_probe_now_us() ^ ((uint64_t)getpid() << 32);
	e->ev_look = evtimer_new(env->base, on_look_timer, e);
	e->ev_done = event_new(env->base, -1, 0, on_done, e);
	if (prm->have_ldap) {
		struct mm_probe_params p = prm->ldap;
		bound(e, &p);
		e->probe = mm_probe_start(env, &p, on_ldap, e, err);
		if (!e->probe) {
			mm_e2e_cancel(e);
			return NULL;
		}
	} else {
		start_submit(e);
	}
	return e;
}

void mm_e2e_cancel(struct mm_e2e *e)
{
	if (!e)
		return;
	if (e->probe)
		mm_probe_cancel(e->probe);
	event_free(e->ev_look);
	event_free(e->ev_done);
	free(e->message);
	free(e);
}

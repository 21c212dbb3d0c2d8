/*
 * proto_pop3: the POP3 probe on the pingpong engine.
 *
 * greeting +OK -> CAPA (a -ERR is fine: CAPA is optional) -> [STLS -> TLS]
 * -> [USER, PASS, STAT] -> QUIT. A -ERR to USER or PASS is MM_PF_AUTH.
 * With a mailbox task (params.box) STAT is followed by the task
 * (proto_pop3_box.c), which ends with its own QUIT.
 */
#include <stdio.h>
#include <string.h>

#include "probes/pingpong.h"

enum { P_GREET, P_CAPA, P_STLS, P_USER, P_PASS, P_STAT, P_QUIT };

static int pop3_line(struct mm_probe *p, const char *line, size_t len)
{
	return mm_pop3_reply_feed(&p->rs, line, len);
}

static void pop3_cmd(struct mm_probe *p, int step, bool multi, const char *stage,
		     const char *verb, const char *argument)
{
	p->step = step;
	p->rs.multiline = multi;
	pp_send(p, stage, "%s%s%s\r\n", verb, argument ? " " : "", argument ? argument : "");
}

static void pop3_start(struct mm_probe *p)
{
	p->step = P_GREET;
	p->rs.multiline = false;
	pp_expect(p, "greeting");
}

static void after_tls_or_capa(struct mm_probe *p)
{
	if (p->prm.user[0])
		pop3_cmd(p, P_USER, false, "user", "USER", p->prm.user);
	else
		pop3_cmd(p, P_QUIT, false, "quit", "QUIT", NULL);
}

static void pop3_reply(struct mm_probe *p)
{
	char t[200];
	bool ok = p->rs.status == MM_ST_OK;
	switch (p->step) {
	case P_GREET:
		if (!ok) {
			pp_fail(p, MM_PF_REJECTED, "greeting: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		pop3_cmd(p, P_CAPA, true, "capa", "CAPA", NULL);
		return;
	case P_CAPA:
		if (p->prm.starttls && !p->prm.tls) {
			if (!ok || !mm_reply_has_word(p->reply, p->reply_len, "STLS")) {
				pp_fail(p, MM_PF_MISSING, "capa: server does not offer STLS");
				return;
			}
			pop3_cmd(p, P_STLS, false, "stls", "STLS", NULL);
			return;
		}
		after_tls_or_capa(p);
		return;
	case P_STLS:
		if (!ok) {
			pp_fail(p, MM_PF_REJECTED, "stls: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		pp_start_tls(p);
		return;
	case P_USER:
		if (!ok) {
			pp_fail(p, MM_PF_AUTH, "user: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		pop3_cmd(p, P_PASS, false, "pass", "PASS", p->prm.pass);
		return;
	case P_PASS:
		if (!ok) {
			pp_fail(p, MM_PF_AUTH, "pass: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		pop3_cmd(p, P_STAT, false, "stat", "STAT", NULL);
		return;
	case P_STAT:
		if (!ok) {
			pp_fail(p, MM_PF_REJECTED, "stat: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		if (p->prm.box.on) {
			mm_pop3_box_start(p);
			return;
		}
		pop3_cmd(p, P_QUIT, false, "quit", "QUIT", NULL);
		return;
	case P_QUIT:
		pp_finish(p);
		return;
	default:
		mm_pop3_box_reply(p);
		return;
	}
}

static void pop3_tls_done(struct mm_probe *p)
{
	after_tls_or_capa(p);
}

const struct mm_proto_ops mm_proto_pop3 = {
	.name = "POP3",
	.line = pop3_line,
	.start = pop3_start,
	.reply = pop3_reply,
	.tls_done = pop3_tls_done,
};

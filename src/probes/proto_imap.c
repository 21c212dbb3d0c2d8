/*
 * proto_imap: the IMAP probe on the pingpong engine.
 *
 * greeting "* OK" -> CAPABILITY -> [STARTTLS -> TLS] -> [LOGIN, SELECT
 * INBOX] -> LOGOUT. After a "* PREAUTH" greeting LOGIN is skipped. A NO to LOGIN is MM_PF_AUTH; any other NO/BAD is
 * MM_PF_REJECTED; a "* BYE" greeting is a rejection.
 * With a mailbox task (params.box) SELECT is followed by the task
 * (proto_imap_box.c) instead of LOGOUT; the task ends with mm_imap_logout.
 */
#include <stdio.h>
#include <string.h>

#include "probes/pingpong.h"

enum { I_GREET, I_CAPA, I_STARTTLS, I_LOGIN, I_SELECT, I_LOGOUT };

static int imap_line(struct mm_probe *p, const char *line, size_t len)
{
	if (p->box)
		return mm_imap_box_line(p, line, len);
	return mm_imap_reply_feed(&p->rs, line, len);
}

void mm_imap_cmd(struct mm_probe *p, int step, const char *stage, const char *cmd)
{
	snprintf(p->tag, sizeof p->tag, "m%d", ++p->ntag);
	p->rs.tag = p->tag;
	p->step = step;
	pp_send(p, stage, "%s %s\r\n", p->tag, cmd);
}

static void imap_start(struct mm_probe *p)
{
	p->step = I_GREET;
	p->rs.tag = NULL;
	pp_expect(p, "greeting");
}

/* An IMAP quoted string: no CR/LF (checked at start), escape \ and ". */
static void quote(char *out, size_t cap, const char *in)
{
	size_t o = 0;
	out[o++] = '"';
	for (; *in && o + 3 < cap; in++) {
		if (*in == '"' || *in == '\\')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o++] = '"';
	out[o] = '\0';
}

static void after_tls_or_capa(struct mm_probe *p)
{
	if (p->preauth && p->prm.user[0]) {
		mm_imap_cmd(p, I_SELECT, "select", "SELECT INBOX"); /* already logged in */
		return;
	}
	if (p->prm.user[0]) {
		char u[2 * MM_PROBE_STR + 4], w[2 * MM_PROBE_STR + 4], cmd[4 * MM_PROBE_STR + 16];
		quote(u, sizeof u, p->prm.user);
		quote(w, sizeof w, p->prm.pass);
		snprintf(cmd, sizeof cmd, "LOGIN %s %s", u, w);
		mm_imap_cmd(p, I_LOGIN, "login", cmd);
		memset(cmd, 0, sizeof cmd);
		memset(w, 0, sizeof w);
		return;
	}
	mm_imap_cmd(p, I_LOGOUT, "logout", "LOGOUT");
}

static void imap_reply(struct mm_probe *p)
{
	char t[200];
	bool ok = p->rs.status == MM_ST_OK;
	switch (p->step) {
	case I_GREET:
		if (p->rs.status == MM_ST_BYE) {
			pp_fail(p, MM_PF_REJECTED, "greeting: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		p->preauth = p->rs.status == MM_ST_PREAUTH;
		mm_imap_cmd(p, I_CAPA, "capability", "CAPABILITY");
		return;
	case I_CAPA:
		if (!ok) {
			pp_fail(p, MM_PF_REJECTED, "capability: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		if (p->prm.starttls && !p->prm.tls) {
			if (!mm_reply_has_word(p->reply, p->reply_len, "STARTTLS")) {
				pp_fail(p, MM_PF_MISSING, "capability: server does not offer STARTTLS");
				return;
			}
			mm_imap_cmd(p, I_STARTTLS, "starttls", "STARTTLS");
			return;
		}
		after_tls_or_capa(p);
		return;
	case I_STARTTLS:
		if (!ok) {
			pp_fail(p, MM_PF_REJECTED, "starttls: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		pp_start_tls(p);
		return;
	case I_LOGIN:
		if (!ok) {
			/* The tagged line is the last one of the reply. */
			const char *last = strrchr(p->reply, '\n');
			pp_fail(p, p->rs.status == MM_ST_NO ? MM_PF_AUTH : MM_PF_REJECTED, "login: %.160s",
				last ? last + 1 : p->reply);
			return;
		}
		mm_imap_cmd(p, I_SELECT, "select", "SELECT INBOX");
		return;
	case I_SELECT:
		if (!ok) {
			const char *last = strrchr(p->reply, '\n');
			pp_fail(p, MM_PF_REJECTED, "select: %.160s", last ? last + 1 : p->reply);
			return;
		}
		if (p->prm.box.on) {
			mm_imap_box_start(p);
			return;
		}
		mm_imap_logout(p);
		return;
	case I_LOGOUT:
		pp_finish(p);
		return;
	default:
		mm_imap_box_reply(p);
		return;
	}
}

void mm_imap_logout(struct mm_probe *p)
{
	mm_imap_cmd(p, I_LOGOUT, "logout", "LOGOUT");
}

static void imap_tls_done(struct mm_probe *p)
{
	after_tls_or_capa(p);
}

const struct mm_proto_ops mm_proto_imap = {
	.name = "IMAP",
	.line = imap_line,
	.start = imap_start,
	.reply = imap_reply,
	.tls_done = imap_tls_done,
};

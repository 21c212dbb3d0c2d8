/*
 * proto_smtp: the SMTP, LMTP and submission probe on the pingpong engine.
 *
 * greeting 220 -> EHLO (LHLO for LMTP) -> [STARTTLS -> TLS -> EHLO]
 * -> [AUTH PLAIN] -> [MAIL FROM, RCPT TO, RSET: proves the server accepts
 * a transaction without sending anything] -> QUIT.
 * With params.data (the end-to-end probe) RCPT is followed by DATA, the
 * message and "." instead of RSET; the 250 after "." is the end of DATA
 * (res.data_end_us) and its text names the queue id.
 * A 4xx/5xx reply is MM_PF_REJECTED, except to AUTH (MM_PF_AUTH); a
 * STARTTLS or AUTH the server does not offer is MM_PF_MISSING.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "probes/pingpong.h"

enum { S_GREET, S_EHLO, S_STARTTLS, S_EHLO2, S_AUTH, S_MAIL, S_RCPT, S_RSET, S_DATA, S_DOT, S_QUIT };

static int smtp_line(struct mm_probe *p, const char *line, size_t len)
{
	return mm_smtp_reply_feed(&p->rs, line, len);
}

static void smtp_start(struct mm_probe *p)
{
	p->step = S_GREET;
	pp_expect(p, "greeting");
}

static const char *hello_verb(struct mm_probe *p)
{
	return p->prm.proto == MM_PROTO_LMTP ? "LHLO" : "EHLO";
}

static void send_quit(struct mm_probe *p)
{
	p->step = S_QUIT;
	pp_send(p, "quit", "QUIT\r\n");
}

static void send_mail(struct mm_probe *p)
{
	p->step = S_MAIL;
	pp_send(p, "mail", "MAIL FROM:<%s>\r\n", p->prm.mail_from);
}

/* After a (second) EHLO: the next optional step, in protocol order. */
static void after_ehlo(struct mm_probe *p)
{
	bool tls_up = p->prm.tls || p->step == S_EHLO2;
	if (p->prm.starttls && !tls_up) {
		if (!mm_reply_has_word(p->reply, p->reply_len, "STARTTLS")) {
			pp_fail(p, MM_PF_MISSING, "ehlo: server does not offer STARTTLS");
			return;
		}
		p->step = S_STARTTLS;
		pp_send(p, "starttls", "STARTTLS\r\n");
		return;
	}
	if (p->prm.user[0]) {
		if (!mm_reply_has_word(p->reply, p->reply_len, "AUTH") ||
		    !mm_reply_has_word(p->reply, p->reply_len, "PLAIN")) {
			pp_fail(p, MM_PF_MISSING, "ehlo: server does not offer AUTH PLAIN");
			return;
		}
		unsigned char raw[3 * MM_PROBE_STR];
		size_t ul = strlen(p->prm.user), pl = strlen(p->prm.pass);
		raw[0] = '\0';
		memcpy(raw + 1, p->prm.user, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, p->prm.pass, pl);
		unsigned char b64[4 * MM_PROBE_STR + 8];
		EVP_EncodeBlock(b64, raw, (int)(2 + ul + pl));
		OPENSSL_cleanse(raw, sizeof raw);
		p->step = S_AUTH;
		pp_send(p, "auth", "AUTH PLAIN %s\r\n", (char *)b64);
		OPENSSL_cleanse(b64, sizeof b64);
		return;
	}
	if (p->prm.rcpt[0])
		send_mail(p);
	else
		send_quit(p);
}

static void smtp_reply(struct mm_probe *p)
{
	char t[200];
	int code = p->rs.code;
	const char *stage = p->res.stage;
	switch (p->step) {
	case S_GREET:
		if (code != 220) {
			pp_fail(p, MM_PF_REJECTED, "greeting: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		p->step = S_EHLO;
		pp_send(p, "ehlo", "%s %s\r\n", hello_verb(p), p->prm.helo);
		return;
	case S_EHLO:
	case S_EHLO2:
		if (code != 250) {
			pp_fail(p, MM_PF_REJECTED, "%s: %s", stage, pp_reply_text(p, t, sizeof t));
			return;
		}
		after_ehlo(p);
		return;
	case S_STARTTLS:
		if (code != 220) {
			pp_fail(p, MM_PF_REJECTED, "starttls: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		pp_start_tls(p);
		return;
	case S_AUTH:
		if (code != 235) {
			pp_fail(p, MM_PF_AUTH, "auth: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		if (p->prm.rcpt[0])
			send_mail(p);
		else
			send_quit(p);
		return;
	case S_MAIL:
		if (code != 250) {
			pp_fail(p, MM_PF_REJECTED, "mail: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		p->step = S_RCPT;
		pp_send(p, "rcpt", "RCPT TO:<%s>\r\n", p->prm.rcpt);
		return;
	case S_RCPT:
		if (code != 250 && code != 251) {
			pp_fail(p, MM_PF_REJECTED, "rcpt: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		if (p->prm.data) {
			p->step = S_DATA;
			pp_send(p, "data", "DATA\r\n");
			return;
		}
		p->step = S_RSET;
		pp_send(p, "rset", "RSET\r\n");
		return;
	case S_DATA:
		if (code != 354) {
			pp_fail(p, MM_PF_REJECTED, "data: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		p->step = S_DOT;
		pp_write(p, p->prm.data);
		pp_send(p, "dot", ".\r\n");
		return;
	case S_DOT:
		if (code != 250) {
			pp_fail(p, MM_PF_REJECTED, "dot: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		p->res.data_end_us = mm_probe_now_us();
		pp_reply_text(p, p->res.queue_id, sizeof p->res.queue_id);
		send_quit(p);
		return;
	case S_RSET:
		if (code != 250) {
			pp_fail(p, MM_PF_REJECTED, "rset: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		send_quit(p);
		return;
	case S_QUIT:
		pp_finish(p); /* any reply to QUIT will do: the work is done */
		return;
	}
}

static void smtp_tls_done(struct mm_probe *p)
{
	p->step = S_EHLO2;
	pp_send(p, "ehlo", "%s %s\r\n", hello_verb(p), p->prm.helo);
}

const struct mm_proto_ops mm_proto_smtp = {
	.name = "SMTP",
	.line = smtp_line,
	.start = smtp_start,
	.reply = smtp_reply,
	.tls_done = smtp_tls_done,
};

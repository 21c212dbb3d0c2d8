/* dovecot: see dovecot.h. */
#include "parsers/dovecot.h"

#include <string.h>

#include "parsers/event_fmt.h"
#include "parsers/scan.h"

/* Dovecot process names that may lead a log_path line or the message of
 * a syslog line. */
static const char *const dc_names[] = {
	"imap-login", "pop3-login", "submission-login", "managesieve-login", "auth",
	"auth-worker", "lmtp", "imap", "pop3", "submission", "managesieve", "master",
	"lda", "indexer", "indexer-worker", "doveadm", "config", "anvil", "log",
	"stats", "dict", "quota-status", "imap-urlauth", "imap-hibernate",
};

/* The name part of a prefix: up to '(' or the end. */
static struct mm_sv dc_name(struct mm_sv prefix)
{
	const char *lp = prefix.len ? memchr(prefix.p, '(', prefix.len) : NULL;
	return lp ? sv_of(prefix.p, lp) : prefix;
}

static bool dc_known_name(struct mm_sv name)
{
	for (size_t i = 0; i < sizeof dc_names / sizeof dc_names[0]; i++)
		if (sv_eq(name, dc_names[i], strlen(dc_names[i])))
			return true;
	return false;
}

bool mm_dovecot_is_program(struct mm_sv program)
{
	if (SV_EQ(program, "dovecot"))
		return true;
	return dc_known_name(dc_name(program));
}

/* "lmtp(bob)<13802><3Jir...>", "lmtp(13802)", "auth-worker(77)",
 * "imap-login": service, user (addr) and pid. */
static void dc_prefix(struct mm_sv prefix, struct mm_log_event *ev)
{
	struct sc c = {prefix.p, prefix.p + prefix.len};
	struct mm_sv name;
	sc_until(&c, '(', true, &name);
	ev->service = name;
	ev->instance = (struct mm_sv){NULL, 0};
	if (sc_eatc(&c, '(')) {
		const char *rp = mm_memrmem(c.p, c.e, ")", 1);
		if (rp != NULL) {
			struct sc in = {c.p, rp};
			uint32_t pid;
			if (sc_u32(&in, &pid) && in.p == in.e)
				ev->pid = pid;
			else
				ev->addr = sv_of(c.p, rp);
			c.p = rp + 1;
		}
	}
	if (sc_eatc(&c, '<')) {
		uint32_t pid;
		if (sc_u32(&c, &pid) && sc_eatc(&c, '>'))
			ev->pid = pid;
	}
	/* the channel: the protocol */
	if (name.len > 6 && memcmp(name.p + name.len - 6, "-login", 6) == 0)
		ev->channel = sv_of(name.p, name.p + name.len - 6);
	else
		ev->channel = name;
}

/* "user=<u>, method=PLAIN, rip=1.2.3.4, lip=..., mpid=1, secured, TLS,
 * session=<s>": fills addr, code (method), client_ip and flags. */
static void dc_login_kv(struct sc *c, struct mm_log_event *ev)
{
	while (c->p < c->e) {
		if (SC_EAT(c, "user=<")) {
			const char *gt = mm_memmem(c->p, c->e, ">, ", 3);
			const char *end = gt ? gt : (c->e > c->p && c->e[-1] == '>' ? c->e - 1 : c->e);
			ev->addr = sv_of(c->p, end);
			c->p = end < c->e ? end + 1 : end;
		} else {
			const char *comma = mm_memmem(c->p, c->e, ", ", 2);
			struct mm_sv item = sv_of(c->p, comma ? comma : c->e);
			c->p = comma ? comma : c->e;
			struct sc it = {item.p, item.p + item.len};
			if (SC_EAT(&it, "method="))
				ev->code = sv_of(it.p, it.e);
			else if (SC_EAT(&it, "rip="))
				ev->client_ip = sv_of(it.p, it.e);
			else if (SV_EQ(item, "secured"))
				ev->flags |= MM_EVF_SECURED;
			else if (SV_EQ(item, "TLS"))
				ev->flags |= MM_EVF_TLS;
		}
		if (!SC_EAT(c, ", "))
			break;
	}
}

/* Login process lines after the level. */
static void dc_login(struct sc *c, struct mm_log_event *ev)
{
	if (SC_EAT(c, "Login: ")) {
		ev->type = MM_EV_LOGIN;
		dc_login_kv(c, ev);
		return;
	}
	if (!SC_PEEK(c, "Disconnected") && !SC_PEEK(c, "Aborted login") &&
	    !SC_PEEK(c, "Login aborted") && !SC_PEEK(c, "Maximum number of connections"))
		return;
	/* "Disconnected: Connection closed (auth failed, 1 attempts in 2 secs): user=<bob>, ..." */
	const char *kv = mm_memmem(c->p, c->e, "): ", 3);
	const char *reason_end = kv ? kv + 1 : c->e;
	const char *r = c->p;
	if (SC_EAT(c, "Disconnected: ") || SC_EAT(c, "Login aborted: "))
		r = c->p;
	ev->reason = sv_of(r, reason_end);
	const char *af = mm_memmem(r, reason_end, "(auth failed, ", 14);
	if (af != NULL) {
		struct sc n = {af + 14, reason_end};
		sc_u32(&n, &ev->conn_count);
		ev->type = MM_EV_AUTH_FAIL;
	} else {
		ev->type = MM_EV_LOGIN_ABORT;
	}
	if (kv != NULL) {
		c->p = kv + 3;
		dc_login_kv(c, ev);
	}
}

/* auth: "passwd-file(bob,127.0.0.1,<sess>): Password mismatch". A
 * lookup without a remote address ("passwd-file(nobody): unknown user",
 * from an LMTP userdb lookup) is not a login failure. */
static bool dc_level(struct sc *c, struct mm_log_event *ev)
{
	if (SC_EAT(c, "Info: ") || SC_EAT(c, "Debug: "))
		return false;
	if (SC_EAT(c, "Warning: "))
		ev->type = MM_EV_WARNING;
	else if (SC_EAT(c, "Error: "))
		ev->type = MM_EV_ERROR;
	else if (SC_EAT(c, "Fatal: "))
		ev->type = MM_EV_FATAL;
	else if (SC_EAT(c, "Panic: "))
		ev->type = MM_EV_PANIC;
	else
		return false;
	ev->reason = sv_of(c->p, c->e);
	return true;
}

static bool dc_auth_failed(const struct sc *c)
{
	return SC_PEEK(c, "Password mismatch") || SC_PEEK(c, "unknown user") ||
	       SC_PEEK(c, "pam_authenticate() failed") || SC_PEEK(c, "Invalid password") ||
	       SC_PEEK(c, "password mismatch") || SC_PEEK(c, "invalid credentials");
}

/* Dovecot 2.4: the user and address are in the prefix,
 * "auth(u,ip,sasl:login)<sess>: Info: DRIVER: Password mismatch" and
 * "auth-worker(u,ip)<pid><sess>: request [12]: Info: DRIVER: ...";
 * dc_prefix put "u,ip[,...]" in addr. */
static bool dc_auth24(struct sc *c, struct mm_log_event *ev)
{
	if (!ev->addr.len || !mm_scan_has(ev->addr.p, ev->addr.p + ev->addr.len, ','))
		return false;
	struct sc in = {ev->addr.p, ev->addr.p + ev->addr.len};
	struct mm_sv user, ip = {NULL, 0};
	sc_until(&in, ',', true, &user);
	if (sc_eatc(&in, ','))
		sc_until(&in, ',', true, &ip);
	ev->addr = user;
	ev->client_ip = ip;
	if (SC_EAT(c, "request [")) {
		const char *rb = sc_find(c, ']');
		if (rb && c->e - rb >= 3 && rb[1] == ':' && rb[2] == ' ')
			c->p = rb + 3;
	}
	if (dc_level(c, ev))
		return true;
	const char *colon = mm_memmem(c->p, c->e, ": ", 2);
	if (colon && !mm_scan_has(c->p, colon, ' ')) {
		ev->code = sv_of(c->p, colon); /* the passdb driver */
		c->p = colon + 2;
	}
	ev->reason = sv_of(c->p, c->e);
	if (dc_auth_failed(c))
		ev->type = ip.len ? MM_EV_AUTH_FAIL : MM_EV_IGNORED;
	return true;
}

static void dc_auth(struct sc *c, struct mm_log_event *ev)
{
	if (dc_auth24(c, ev))
		return;
	const char *lp = sc_find(c, '(');
	const char *close = mm_memmem(c->p, c->e, "): ", 3);
	if (lp == NULL || close == NULL || close < lp)
		return;
	ev->code = sv_of(c->p, lp); /* the passdb driver */
	struct sc in = {lp + 1, close};
	struct mm_sv user;
	bool has_ip = false;
	sc_until(&in, ',', true, &user);
	if (sc_eatc(&in, ',')) {
		struct mm_sv ip;
		sc_until(&in, ',', true, &ip);
		ev->client_ip = ip;
		has_ip = ip.len > 0;
	}
	ev->addr = user;
	c->p = close + 3;
	ev->reason = sv_of(c->p, c->e);
	if (dc_auth_failed(c))
		ev->type = has_ip ? MM_EV_AUTH_FAIL : MM_EV_IGNORED;
}

/* lmtp: "msgid=<..>: saved mail to INBOX"; sieve: "msgid=<..>: stored mail into mailbox 'INBOX'". */
static void dc_lmtp(struct sc *c, struct mm_log_event *ev)
{
	if (SC_EAT(c, "Connect from ") || SC_EAT(c, "Disconnect from ")) {
		ev->type = MM_EV_IGNORED;
		return;
	}
	SC_EAT(c, "sieve: ");
	if (!SC_EAT(c, "msgid="))
		return;
	/* "msgid=<id>: save failed to INBOX: Quota exceeded (...)" (after
	 * "Error: ", so the event is an ERROR; code says what failed) */
	const char *sf = mm_memmem(c->p, c->e, ": save failed to ", 17);
	if (sf) {
		const char *p = c->p, *e = sf;
		if (p < e && *p == '<' && e[-1] == '>') {
			p++;
			e--;
		}
		ev->message_id = sv_of(p, e);
		ev->code = sv_of(sf + 2, sf + 13);
		ev->reason = sv_of(sf + 2, c->e);
		return;
	}
	const char *colon = mm_memrmem(c->p, c->e, ": saved mail to ", 16);
	size_t skip = 16;
	if (colon == NULL) {
		colon = mm_memrmem(c->p, c->e, ": stored mail into mailbox ", 27);
		skip = 27;
	}
	if (colon == NULL)
		return;
	const char *p = c->p, *e = colon;
	if (p < e && *p == '<' && e[-1] == '>') {
		p++;
		e--;
	}
	ev->message_id = sv_of(p, e);
	ev->code = sv_of(colon + skip, c->e); /* the mailbox */
	ev->reason = sv_of(colon + 2, c->e);
	ev->type = MM_EV_LMTP_SAVED;
}

/* imap(u)/pop3(u): "Disconnected: Logged out in=.. out=..",
 * "Logged out ...", "Connection closed ...", "Disconnected for inactivity". */
static void dc_session(struct sc *c, struct mm_log_event *ev)
{
	if (SC_EAT(c, "Disconnected: ") || SC_PEEK(c, "Disconnected ") ||
	    SC_PEEK(c, "Logged out") || SC_PEEK(c, "Connection closed")) {
		ev->type = MM_EV_SESSION_END;
		ev->reason = sv_of(c->p, c->e);
	}
}

void mm_dovecot_parse_msg(const char *line, size_t len, const struct mm_syslog_hdr *h,
			  struct mm_log_event *ev)
{
	len = mm_scan_trim_eol(line, len);
	ev->source = MM_SRC_DOVECOT;
	ev->type = MM_EV_UNPARSED;
	struct sc c = {line + h->msg_off, line + len};
	struct mm_sv prefix = h->program;
	if (SV_EQ(h->program, "dovecot")) {
		/* syslog form: "imap-login: Login: ..." */
		const char *colon = mm_memmem(c.p, c.e, ": ", 2);
		if (colon == NULL)
			return;
		prefix = sv_of(c.p, colon);
		c.p = colon + 2;
	}
	dc_prefix(prefix, ev);
	struct mm_sv name = ev->service;
	if (dc_level(&c, ev)) {
		if (ev->type == MM_EV_ERROR && (SV_EQ(name, "lmtp") || SV_EQ(name, "lda")))
			dc_lmtp(&c, ev); /* a failed save keeps ERROR, gains the msgid */
		return;
	}
	if (name.len > 6 && memcmp(name.p + name.len - 6, "-login", 6) == 0)
		dc_login(&c, ev);
	else if (SV_EQ(name, "auth") || SV_EQ(name, "auth-worker"))
		dc_auth(&c, ev);
	else if (SV_EQ(name, "lmtp") || SV_EQ(name, "lda"))
		dc_lmtp(&c, ev);
	else if (SV_EQ(name, "imap") || SV_EQ(name, "pop3") || SV_EQ(name, "submission") ||
		 SV_EQ(name, "managesieve"))
		dc_session(&c, ev);
	else if (SV_EQ(name, "master") &&
		 (SC_PEEK(&c, "Dovecot v") || SC_PEEK(&c, "SIGHUP received") ||
		  SC_PEEK(&c, "SIGTERM received")))
		ev->type = MM_EV_IGNORED;
}

void mm_dovecot_parse(const char *line, size_t len, int year_hint, struct mm_log_event *ev)
{
	struct mm_syslog_hdr h;
	mm_ev_reset(ev);
	ev->source = MM_SRC_DOVECOT;
	if (mm_syslog_parse(line, len, year_hint, &h) != 0)
		return;
	mm_ev_set_header(ev, &h);
	mm_dovecot_parse_msg(line, len, &h, ev);
}

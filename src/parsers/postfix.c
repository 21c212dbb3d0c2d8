/*
 * postfix: see postfix.h. The message is dispatched on its first byte
 * after an optional queue id ("A89B5A72162: ", long ids, "NOQUEUE: "),
 * then each form is read left to right. Free text that Postfix copies
 * from the outside (reject reasons, status texts, header values) is
 * never scanned for structure except where the format pins its end:
 * status text runs to the end of the line, and the envelope list of a
 * reject is the leftmost "; from=<" after which a complete, valid list
 * runs to the end (pf_find_envelope). Owns no memory; never fails.
 */
#include "parsers/postfix.h"

#include <string.h>

#include "parsers/event_fmt.h"
#include "parsers/scan.h"

static const char *const pf_services[] = {
	"smtpd",   "smtp",     "lmtp",	 "local",     "virtual",      "pipe",	  "error",
	"retry",   "discard",  "bounce", "defer",     "trace",	      "cleanup",  "qmgr",
	"oqmgr",   "pickup",   "postsuper", "master", "postscreen",   "dnsblog",  "tlsproxy",
	"anvil",   "scache",   "verify", "tlsmgr",    "proxymap",     "trivial-rewrite",
	"showq",   "flush",    "postdrop", "sendmail", "postqueue",   "postfix-script",
	"postlogd", "postlog", "postmap", "postalias", "postmulti",    "spawn",	  "qmqpd",
	"smtp-sink", "smtp-source", "postconf", "postkick", "postcat", "postlock",
};

bool mm_postfix_is_service(struct mm_sv service)
{
	for (size_t i = 0; i < sizeof pf_services / sizeof pf_services[0]; i++)
		if (sv_eq(service, pf_services[i], strlen(pf_services[i])))
			return true;
	return false;
}

/* The transport: the component before the service in a three-part name
 * ("postfix/relay/smtp" -> "relay"), else the service itself. */
static struct mm_sv pf_channel(struct mm_sv program, struct mm_sv instance, struct mm_sv service)
{
	if (program.p == NULL || service.p == NULL || service.p == program.p)
		return service;
	if (instance.p != NULL && instance.p + instance.len + 1 == service.p)
		return service; /* two components: "postfix/smtp" */
	const char *slash = service.p - 1; /* the '/' before the service */
	for (const char *q = slash; q > program.p; q--) {
		if (q[-1] == '/')
			return sv_of(q, slash);
	}
	return service;
}

/* Short ids are upper-case hex, at least 6 long (5 digits of
 * microseconds and the inode); long ids (enable_long_queue_ids) mix
 * digits and letters and are at least 10 long. Words such as
 * "statistics" or "Deleted" are neither. */
static bool pf_qid(struct sc *c, struct mm_sv *qid)
{
	const unsigned char *p = (const unsigned char *)c->p;
	size_t n = 0, max = sc_left(c) < 24 ? sc_left(c) : 24;
	unsigned all = MM_CC_HEXUP, any = 0, cc;
	while (n < max && (cc = mm_scan_cc[p[n]]) != 0) {
		all &= cc;
		any |= cc;
		n++;
	}
	if (n < 5 || n > 20 || n + 1 > sc_left(c) || p[n] != ':')
		return false;
	if (n + 1 < sc_left(c) && p[n + 1] != ' ')
		return false;
	bool hex = all & MM_CC_HEXUP, digit = any & MM_CC_DIGIT, upper = any & MM_CC_UPPER;
	if (!(hex && n >= 6) && !(n >= 10 && digit && upper))
		return false;
	*qid = sv_of(c->p, c->p + n);
	c->p += n + 1;
	sc_eatc(c, ' ');
	return true;
}

/* Inside "<...>": the address up to the first '>' that ends the value
 * (one followed by the end, a space, ',', ';', ':' or ')'); a quoted
 * local part ("a>b, c"@x) is skipped first. The cursor ends after the
 * '>'; a line cut inside the address gives the rest of the line. */
static struct mm_sv pf_addr(struct sc *c)
{
	const char *start = c->p, *p = c->p;
	if (p < c->e && *p == '"') {
		for (p++; p < c->e && *p != '"'; p++)
			if (*p == '\\' && p + 1 < c->e)
				p++;
	}
	while ((p = mm_scan_to(p, c->e, '>')) != NULL) {
		const char *n = p + 1;
		if (n == c->e || *n == ' ' || *n == ',' || *n == ';' || *n == ':' || *n == ')')
			break;
		p++;
	}
	if (p == NULL)
		p = c->e;
	struct mm_sv v = sv_of(start, p);
	c->p = p < c->e ? p + 1 : p;
	return v;
}

/* "name[ip]" or "[ip]" with an optional ":port"; "local" alone is a
 * client name without address. */
static bool pf_client(struct sc *c, struct mm_log_event *ev)
{
	const char *lb = mm_scan_to(c->p, c->e, '[');
	if (lb == NULL || mm_scan_has(c->p, lb, ' '))
		return false;
	const char *rb = mm_scan_to(lb, c->e, ']');
	if (rb == NULL)
		return false;
	if (lb > c->p)
		ev->client_name = sv_of(c->p, lb);
	ev->client_ip = sv_of(lb + 1, rb);
	c->p = rb + 1;
	if (c->p + 1 < c->e && c->p[0] == ':' && is_digit(c->p[1])) {
		uint64_t port;
		c->p++;
		sc_u64(c, &port);
	}
	return true;
}

/* "550 " and "5.7.1 " at the front of a reply text. */
static void pf_reply_code(struct sc *c, struct mm_log_event *ev)
{
	if (sc_left(c) >= 4 && is_digit(c->p[0]) && is_digit(c->p[1]) && is_digit(c->p[2]) &&
	    c->p[3] == ' ') {
		ev->smtp_code = (uint16_t)((c->p[0] - '0') * 100 + (c->p[1] - '0') * 10 +
					   (c->p[2] - '0'));
		c->p += 4;
	}
	if (sc_left(c) >= 6 && (c->p[0] == '2' || c->p[0] == '4' || c->p[0] == '5') &&
	    c->p[1] == '.' && is_digit(c->p[2])) {
		const char *q = c->p + 2;
		while (q < c->e && is_digit(*q))
			q++;
		if (q + 1 < c->e && *q == '.' && is_digit(q[1])) {
			q++;
			while (q < c->e && is_digit(*q))
				q++;
			if (q < c->e && *q == ' ') {
				ev->dsn = sv_of(c->p, q);
				c->p = q + 1;
			}
		}
	}
}

/* "from=<a> to=<b> proto=ESMTP helo=<h>" (smtpd, cleanup) or the same
 * with ", " between fields (postscreen), starting at p. Succeeds only
 * when every key is one of these and the list ends where the format
 * says: at the end of the line, or (cleanup) at ": ". On success fills
 * sender/addr and returns where the list stopped; else returns NULL and
 * changes nothing. */
static const char *pf_envelope(const char *p, const char *e, bool cleanup,
			       struct mm_log_event *ev)
{
	struct sc c = {p, e};
	struct mm_sv from = {NULL, 0}, to = {NULL, 0};
	int keys = 0;
	for (;;) {
		while (c.p < c.e && (*c.p == ' ' || *c.p == ','))
			c.p++;
		const char *k = c.p;
		while (c.p < c.e && *c.p >= 'a' && *c.p <= 'z')
			c.p++;
		if (c.p == k || c.p >= c.e || *c.p != '=') {
			c.p = k;
			break;
		}
		struct mm_sv key = sv_of(k, c.p);
		c.p++;
		struct mm_sv val;
		if (sc_eatc(&c, '<')) {
			val = pf_addr(&c);
		} else {
			const char *v = c.p;
			while (c.p < c.e && *c.p != ' ' && *c.p != ',' && *c.p != ':' && *c.p != ';')
				c.p++;
			val = sv_of(v, c.p);
		}
		if (SV_EQ(key, "from"))
			from = val;
		else if (SV_EQ(key, "to"))
			to = val;
		else if (!SV_EQ(key, "proto") && !SV_EQ(key, "helo"))
			return NULL;
		keys++;
	}
	if (keys == 0)
		return NULL;
	if (!(c.p == c.e || (cleanup && c.e - c.p >= 1 && *c.p == ':')))
		return NULL;
	ev->sender = from;
	ev->addr = to;
	return c.p;
}

/* The leftmost "; from=<" (or "; proto=" when no sender is known) after
 * which a whole valid envelope list follows: reason texts and quoted
 * addresses may contain the marker themselves. Returns the ';' or NULL. */
static const char *pf_find_envelope(const char *p, const char *e, bool cleanup,
				    struct mm_log_event *ev, const char **list_end)
{
	static const char *const marks[] = {"; from=<", "; to=<", "; proto="};
	for (size_t m = 0; m < 3; m++) {
		size_t n = strlen(marks[m]);
		for (const char *q = mm_memmem(p, e, marks[m], n); q != NULL;
		     q = mm_memmem(q + 1, e, marks[m], n)) {
			const char *end = pf_envelope(q + 2, e, cleanup, ev);
			if (end != NULL) {
				*list_end = end;
				return q;
			}
		}
	}
	return NULL;
}

/* After "reject: ", "hold: ", "discard: ", "milter-reject: ", a cleanup
 * "warning: ": the stage, the client, the reply, the reason and the
 * envelope. */
static void pf_action(struct sc *c, struct mm_log_event *ev)
{
	struct mm_sv stage;
	sc_until(c, ' ', true, &stage);
	ev->code = stage;
	const char *list_end = NULL;
	if (SV_EQ(stage, "header") || SV_EQ(stage, "body") || SV_EQ(stage, "mime-header") ||
	    SV_EQ(stage, "nested-header")) {
		/* "header Subject: x from name[ip]; from=<> to=<> proto=P helo=<>: 5.7.1 text" */
		const char *marker = pf_find_envelope(c->p, c->e, true, ev, &list_end);
		if (marker == NULL) {
			ev->reason = sv_of(c->p, c->e);
			return;
		}
		const char *from = mm_memrmem(c->p, marker, " from ", 6);
		if (from != NULL) {
			struct sc cl = {from + 6, marker};
			if (!pf_client(&cl, ev) && cl.p < cl.e)
				ev->client_name = sv_of(cl.p, cl.e); /* "local" */
		}
		c->p = list_end;
		SC_EAT(c, ": ");
		pf_reply_code(c, ev);
		ev->reason = sv_of(c->p, c->e);
		return;
	}
	/* "RCPT from name[ip]: 550 5.7.1 text; from=<a> to=<b> proto=ESMTP helo=<h>" */
	if (SC_EAT(c, " from ")) {
		pf_client(c, ev);
		SC_EAT(c, ": ");
	}
	pf_reply_code(c, ev);
	const char *marker = pf_find_envelope(c->p, c->e, false, ev, &list_end);
	ev->reason = sv_of(c->p, marker ? marker : c->e);
}

/* "to=<a>, orig_to=<b>, relay=x, delay=1, delays=a/b/c/d, dsn=2.0.0,
 * status=sent (text)". status is last; its text runs to the end. */
enum pf_key { K_NONE = -1, K_OTHER, K_TO, K_ORIG_TO, K_RELAY, K_DELAY, K_DELAYS, K_DSN, K_STATUS };

/* The key at the cursor, with the cursor moved past its '='. The keys
 * Postfix writes are matched whole (one switch, one compare); any other
 * lower-case key is K_OTHER; K_NONE when no "key=" is there. */
static enum pf_key pf_key(struct sc *c)
{
	switch (c->p < c->e ? *c->p : '\0') {
	case 't':
		if (SC_EAT(c, "to="))
			return K_TO;
		break;
	case 'o':
		if (SC_EAT(c, "orig_to="))
			return K_ORIG_TO;
		break;
	case 'r':
		if (SC_EAT(c, "relay="))
			return K_RELAY;
		break;
	case 'd':
		if (SC_EAT(c, "delays="))
			return K_DELAYS;
		if (SC_EAT(c, "delay="))
			return K_DELAY;
		if (SC_EAT(c, "dsn="))
			return K_DSN;
		break;
	case 's':
		if (SC_EAT(c, "status="))
			return K_STATUS;
		break;
	default:
		break;
	}
	const char *k = c->p;
	while (c->p < c->e && ((*c->p >= 'a' && *c->p <= 'z') || *c->p == '_'))
		c->p++;
	if (c->p == k || c->p >= c->e || *c->p != '=') {
		c->p = k;
		return K_NONE;
	}
	c->p++;
	return K_OTHER;
}

static void pf_delivery(struct sc *c, struct mm_log_event *ev)
{
	for (;;) {
		enum pf_key key = pf_key(c);
		if (key == K_NONE)
			return; /* no status: leave UNPARSED */
		if (key == K_STATUS) {
			struct mm_sv word;
			const char *sp = mm_scan_to(c->p, c->e, ' ');
			word = sv_of(c->p, sp ? sp : c->e);
			c->p = sp ? sp + 1 : c->e;
			if (SV_EQ(word, "sent"))
				ev->status = MM_DS_SENT;
			else if (SV_EQ(word, "deferred"))
				ev->status = MM_DS_DEFERRED;
			else if (SV_EQ(word, "bounced"))
				ev->status = MM_DS_BOUNCED;
			else if (SV_EQ(word, "expired"))
				ev->status = MM_DS_EXPIRED;
			else if (SV_EQ(word, "force-expired")) {
				ev->status = MM_DS_EXPIRED;
				ev->code = word;
			}
			else if (SV_EQ(word, "SOFTBOUNCE")) {
				ev->status = MM_DS_DEFERRED;
				ev->code = word;
			} else {
				/* deliverable/undeliverable: an address probe,
				 * not a delivery */
				ev->code = word;
				ev->type = MM_EV_IGNORED;
				return;
			}
			const char *r = c->p, *re = c->e;
			if (r < re && *r == '(') {
				r++;
				if (re > r && re[-1] == ')')
					re--;
			}
			ev->reason = sv_of(r, re);
			struct sc rs = {r, re};
			if (SC_PEEK(&rs, "delivery temporarily suspended: "))
				ev->flags |= MM_EVF_SUSPENDED;
			ev->type = MM_EV_DELIVERY;
			return;
		}
		struct mm_sv val;
		if (sc_eatc(c, '<')) {
			val = pf_addr(c);
		} else {
			const char *comma = mm_scan_comma_sp(c->p, c->e);
			val = sv_of(c->p, comma ? comma : c->e);
			c->p = comma ? comma : c->e;
		}
		switch (key) {
		case K_TO:
			ev->addr = val;
			break;
		case K_ORIG_TO:
			ev->orig_to = val;
			break;
		case K_RELAY:
			ev->relay = val;
			break;
		case K_DSN:
			ev->dsn = val;
			break;
		case K_DELAY: {
			struct sc v = {val.p, val.p + val.len};
			sc_decimal(&v, &ev->delay);
			break;
		}
		case K_DELAYS: {
			struct sc v = {val.p, val.p + val.len};
			double d[4];
			int i = 0;
			for (; i < 4; i++) {
				if (!sc_decimal(&v, &d[i]))
					break;
				if (i < 3 && !sc_eatc(&v, '/'))
					break;
			}
			if (i >= 3 && v.p == v.e) /* all four read */
				memcpy(ev->delays, d, sizeof d);
			break;
		}
		default:
			break;
		}
		if (!SC_EAT(c, ", "))
			return;
	}
}

/* qmgr "from=<a>, size=N, nrcpt=N (queue active)" or
 * "from=<a>, status=expired, returned to sender". */
static void pf_qmgr_from(struct sc *c, struct mm_log_event *ev)
{
	ev->addr = pf_addr(c);
	if (SC_EAT(c, ", size=")) {
		if (!sc_u64(c, &ev->size))
			return;
		if (SC_EAT(c, ", nrcpt=") && sc_u32(c, &ev->nrcpt))
			ev->type = MM_EV_QUEUED;
		return;
	}
	bool forced = false;
	if (SC_EAT(c, ", status=expired") || (forced = SC_EAT(c, ", status=force-expired"))) {
		/* force-expired: postsuper -e / -f (Postfix 3.5 and later) */
		ev->type = MM_EV_EXPIRED;
		ev->status = MM_DS_EXPIRED;
		if (forced)
			ev->code = sv_of(c->p - 13, c->p);
		SC_EAT(c, ", ");
		ev->reason = sv_of(c->p, c->e);
	}
}

/* "client=name[ip]" with optional ", sasl_method=M, sasl_username=u". */
static void pf_client_eq(struct sc *c, struct mm_log_event *ev)
{
	if (!pf_client(c, ev))
		return;
	ev->type = MM_EV_CLIENT;
	while (SC_EAT(c, ", ")) {
		struct mm_sv v;
		if (SC_EAT(c, "sasl_method=")) {
			sc_until(c, ',', true, &v);
			ev->code = v;
			ev->flags |= MM_EVF_SASL;
		} else if (SC_EAT(c, "sasl_username=")) {
			sc_until(c, ',', true, &v);
			ev->addr = v;
		} else {
			sc_until(c, ',', true, &v);
		}
	}
}

/* "lost connection after DATA (0 bytes) from name[ip]" and the timeout
 * and "too many errors" forms. */
static void pf_lost(struct sc *c, struct mm_log_event *ev)
{
	struct mm_sv stage;
	sc_until(c, ' ', true, &stage);
	ev->code = stage;
	const char *from = mm_memmem(c->p, c->e, "from ", 5);
	if (from == NULL)
		return;
	c->p = from + 5;
	if (pf_client(c, ev))
		ev->type = MM_EV_LOST;
}

/* "connect to host[ip]:port: reason" */
static void pf_conn_fail(struct sc *c, struct mm_log_event *ev)
{
	const char *start = c->p;
	const char *rb = mm_scan_to(c->p, c->e, ']');
	if (rb == NULL)
		return;
	c->p = rb + 1;
	if (sc_eatc(c, ':')) {
		uint64_t port;
		sc_u64(c, &port);
	}
	ev->relay = sv_of(start, c->p);
	if (!SC_EAT(c, ": "))
		return;
	ev->reason = sv_of(c->p, c->e);
	ev->type = MM_EV_CONN_FAIL;
}

/* The many informational lines that carry nothing counted. */
static const char *const pf_ignored[] = {
	"daemon started",
	"reload -- ",
	"terminating on signal",
	"starting the Postfix mail system",
	"stopping the Postfix mail system",
	"refreshing the Postfix mail system",
	"Postfix is running with backwards-compatible",
	"See http://www.postfix.org/",
	"statistics: ",
	"table ",
	"Deleted: ",
	"Requeued: ",
	"Placed on hold: ",
	"Released from hold: ",
	"Anonymous TLS connection established",
	"Trusted TLS connection established",
	"Untrusted TLS connection established",
	"Verified TLS connection established",
	"setting up TLS connection",
	"SSL_accept error",
	"SSL_connect error",
	"TLS library problem",
	"improper command pipelining",
	"PASS NEW ",
	"PASS OLD ",
	"PREGREET ",
	"HANGUP ",
	"DNSBL rank ",
	"COMMAND ",
	"BARE NEWLINE ",
	"NON-SMTP COMMAND ",
	"WHITELISTED ",
	"ALLOWLISTED ",
	"BLACKLISTED ",
	"DENYLISTED ",
	"WHITELIST VETO ",
	"ALLOWLIST VETO ",
	"cache ",
	"addr ",
	"host ",
	"lost connection with ",
	"conversation with ",
	"enabling PIX workarounds",
	"skipped, still being delivered",
	"resent-message-id=",
	"redirect: ",
	"replace: ",
	"prepend: ",
	"filter: ",
	"info: ",
	"released from hold",
	"requeued",
	"orig_id=",
	"connect to subsystem",
	"proxy-accept: ",
	"server certificate verification failed",
	"certificate verification failed",
	"breaking line",
	"Cannot start TLS",
	"warning: ", /* only reached for queue-id warnings of other agents */
};

/* postscreen's verdicts (postscreen(8)): "PASS NEW [ip]:port", "PREGREET
 * 11 after 0.1 from [ip]:port: EHLO x", "DNSBL rank 3 for [ip]:port",
 * "COMMAND PIPELINING from [ip]:port after ...", ... The verdict goes to
 * code (up to " [", " from", " for", " after" or a digit), the client to
 * client_ip; the line stays IGNORED (nothing counted by the pipeline). */
static bool pf_postscreen_verdict(const struct sc *c, struct mm_log_event *ev)
{
	static const char *const verdicts[] = {
		"PASS NEW ", "PASS OLD ", "PREGREET ", "HANGUP ", "DNSBL rank ", "COMMAND ",
		"BARE NEWLINE ", "NON-SMTP COMMAND ", "WHITELISTED ", "ALLOWLISTED ",
		"BLACKLISTED ", "DENYLISTED ", "WHITELIST VETO ", "ALLOWLIST VETO ",
	};
	for (size_t i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++) {
		size_t n = strlen(verdicts[i]);
		if (!sc_peek(c, verdicts[i], n))
			continue;
		const char *p = c->p + n, *end = p;
		if (i == 5) { /* "COMMAND PIPELINING", "COMMAND TIME LIMIT", ... */
			const char *f = mm_memmem(p, c->e, " from ", 6);
			end = f ? f : p;
		} else {
			end = c->p + n - 1;
		}
		ev->code = sv_of(c->p, end);
		const char *lb = mm_scan_to(end, c->e, '[');
		const char *rb = lb ? mm_scan_to(lb, c->e, ']') : NULL;
		if (rb)
			ev->client_ip = sv_of(lb + 1, rb);
		ev->type = MM_EV_IGNORED;
		return true;
	}
	return false;
}

static bool pf_is_ignored(const struct sc *c, struct mm_log_event *ev)
{
	for (size_t i = 0; i < sizeof pf_ignored / sizeof pf_ignored[0]; i++) {
		size_t n = strlen(pf_ignored[i]);
		if (sc_peek(c, pf_ignored[i], n)) {
			ev->type = MM_EV_IGNORED;
			return true;
		}
	}
	return false;
}

static bool pf_dsn_notice(struct sc *c, struct mm_log_event *ev)
{
	static const char *const kinds[] = {
		"sender non-delivery notification: ",
		"postmaster non-delivery notification: ",
		"sender delivery status notification: ",
		"sender delay notification: ",
		"postmaster delay notification: ",
	};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t n = strlen(kinds[i]);
		if (sc_peek(c, kinds[i], n)) {
			ev->code = sv_of(c->p, c->p + n - 2);
			c->p += n;
			ev->new_queue_id = sv_of(c->p, c->e);
			ev->type = MM_EV_BOUNCE_DSN;
			return true;
		}
	}
	return false;
}

/* Severity prefixes of msg(3): "warning: ", "error: ", "fatal: ", "panic: ". */
/* smtpd "warning: name[ip]: SASL MECH authentication failed: text": one
 * failed AUTH command (Postfix logs one line per attempt). */
static bool pf_sasl_failed(struct sc *c, struct mm_log_event *ev)
{
	const char *rb = mm_memmem(c->p, c->e, "]: SASL ", 8);
	if (!rb)
		return false;
	const char *lb = mm_memrmem(c->p, rb, "[", 1);
	const char *mech = rb + 8;
	const char *sp = mm_scan_to(mech, c->e, ' ');
	if (!lb || !sp || mm_scan_has(c->p, lb, ' ') ||
	    (size_t)(c->e - sp) < 22 || memcmp(sp, " authentication failed", 22) != 0)
		return false;
	ev->type = MM_EV_AUTH_FAIL;
	ev->client_name = sv_of(c->p, lb);
	ev->client_ip = sv_of(lb + 1, rb);
	ev->code = sv_of(mech, sp);
	const char *r = sp + 22;
	if (r + 2 <= c->e && r[0] == ':' && r[1] == ' ')
		r += 2;
	ev->reason = sv_of(r, c->e);
	const char *u = mm_memmem(r, c->e, "sasl_username=", 14);
	if (u)
		ev->addr = sv_of(u + 14, c->e);
	return true;
}

static bool pf_severity(struct sc *c, struct mm_log_event *ev)
{
	if (SC_EAT(c, "warning: ")) {
		if (pf_sasl_failed(c, ev))
			return true;
		ev->type = MM_EV_WARNING;
	}
	else if (SC_EAT(c, "error: "))
		ev->type = MM_EV_ERROR;
	else if (SC_EAT(c, "fatal: "))
		ev->type = MM_EV_FATAL;
	else if (SC_EAT(c, "panic: "))
		ev->type = MM_EV_PANIC;
	else
		return false;
	ev->reason = sv_of(c->p, c->e);
	return true;
}

static void pf_message(struct sc *c, struct mm_log_event *ev)
{
	if (c->p >= c->e)
		return;
	if (pf_severity(c, ev))
		return;
	bool noqueue = SC_EAT(c, "NOQUEUE: ");
	if (!noqueue)
		pf_qid(c, &ev->queue_id);
	if (c->p >= c->e)
		return;

	switch (*c->p) {
	case 't':
		if (SC_EAT(c, "to=<")) {
			ev->addr = pf_addr(c);
			if (SC_EAT(c, ", "))
				pf_delivery(c, ev);
			return;
		}
		if (SC_EAT(c, "timeout after ") || SC_EAT(c, "too many errors after ")) {
			pf_lost(c, ev);
			return;
		}
		break;
	case 'f':
		if (SC_EAT(c, "from=<")) {
			pf_qmgr_from(c, ev);
			return;
		}
		break;
	case 'c':
		if (SC_EAT(c, "client=")) {
			pf_client_eq(c, ev);
			return;
		}
		if (SC_EAT(c, "connect from ")) {
			if (pf_client(c, ev))
				ev->type = MM_EV_CONNECT;
			return;
		}
		if (SC_EAT(c, "connect to ")) {
			pf_conn_fail(c, ev);
			return;
		}
		break;
	case 'C':
		if (SC_EAT(c, "CONNECT from ")) { /* postscreen */
			if (pf_client(c, ev))
				ev->type = MM_EV_CONNECT;
			return;
		}
		break;
	case 'd':
		if (SC_EAT(c, "disconnect from ")) {
			if (pf_client(c, ev)) {
				ev->type = MM_EV_DISCONNECT;
				sc_eatc(c, ' ');
				if (c->p < c->e)
					ev->reason = sv_of(c->p, c->e);
			}
			return;
		}
		if (SC_EAT(c, "discard: ")) {
			ev->type = MM_EV_DISCARD;
			pf_action(c, ev);
			return;
		}
		break;
	case 'D':
		if (SC_EAT(c, "DISCONNECT ")) { /* postscreen */
			if (pf_client(c, ev))
				ev->type = MM_EV_DISCONNECT;
			return;
		}
		break;
	case 'm':
		if (SC_EAT(c, "message-id=")) {
			const char *p = c->p, *e = c->e;
			if (p < e && *p == '<') {
				p++;
				if (e > p && e[-1] == '>')
					e--;
			}
			ev->message_id = sv_of(p, e);
			ev->type = MM_EV_MESSAGE_ID;
			return;
		}
		if (SC_EAT(c, "milter-reject: ")) {
			ev->type = MM_EV_REJECT;
			pf_action(c, ev);
			return;
		}
		if (SC_EAT(c, "milter-hold: ")) {
			ev->type = MM_EV_HOLD;
			pf_action(c, ev);
			return;
		}
		if (SC_EAT(c, "milter-discard: ")) {
			ev->type = MM_EV_DISCARD;
			pf_action(c, ev);
			return;
		}
		break;
	case 'u':
		if (SC_EAT(c, "uid=")) { /* pickup: "uid=0 from=<a>" */
			uint64_t uid;
			sc_u64(c, &uid);
			if (SC_EAT(c, " from=<")) {
				ev->addr = pf_addr(c);
				ev->type = MM_EV_PICKUP;
			}
			return;
		}
		break;
	case 'r':
		if (SC_PEEK(c, "removed") && sc_left(c) == 7) {
			ev->type = MM_EV_REMOVED;
			return;
		}
		if (SC_EAT(c, "reject: ")) {
			ev->type = MM_EV_REJECT;
			pf_action(c, ev);
			return;
		}
		if (SC_EAT(c, "reject_warning: ")) {
			ev->type = MM_EV_REJECT_WARN;
			pf_action(c, ev);
			return;
		}
		break;
	case 'h':
		if (SC_EAT(c, "hold: ")) {
			ev->type = MM_EV_HOLD;
			pf_action(c, ev);
			return;
		}
		break;
	case 'p':
		if (SC_PEEK(c, "placed on hold") && sc_left(c) == 14) { /* postsuper -h */
			ev->type = MM_EV_HOLD;
			ev->code = sv_of(c->p, c->e);
			return;
		}
		if (SC_EAT(c, "proxy-reject: ")) { /* before-queue content filter */
			ev->type = MM_EV_REJECT;
			struct mm_sv stage;
			sc_until(c, ':', true, &stage);
			ev->code = stage;
			SC_EAT(c, ": ");
			pf_reply_code(c, ev);
			const char *list_end;
			const char *marker = pf_find_envelope(c->p, c->e, false, ev, &list_end);
			ev->reason = sv_of(c->p, marker ? marker : c->e);
			return;
		}
		break;
	case 'l':
		if (SC_EAT(c, "lost connection after ")) {
			pf_lost(c, ev);
			return;
		}
		break;
	case 'w':
		if (SC_EAT(c, "warn: ")) { /* access-table WARN action */
			ev->type = MM_EV_WARNING;
			pf_action(c, ev);
			return;
		}
		if (ev->queue_id.p != NULL && SC_EAT(c, "warning: ")) {
			/* cleanup header/body WARN action, or an agent's
			 * per-message warning */
			ev->type = MM_EV_WARNING;
			struct sc probe = *c;
			if (SC_PEEK(&probe, "header ") || SC_PEEK(&probe, "body ") ||
			    SC_PEEK(&probe, "mime-header ") || SC_PEEK(&probe, "nested-header "))
				pf_action(c, ev);
			else
				ev->reason = sv_of(c->p, c->e);
			return;
		}
		break;
	default:
		break;
	}
	if (pf_dsn_notice(c, ev))
		return;
	if (SV_EQ(ev->service, "postscreen") && pf_postscreen_verdict(c, ev))
		return;
	pf_is_ignored(c, ev);
}

void mm_postfix_parse_msg(const char *line, size_t len, const struct mm_syslog_hdr *h,
			  struct mm_log_event *ev)
{
	len = mm_scan_trim_eol(line, len);
	ev->source = MM_SRC_POSTFIX;
	ev->type = MM_EV_UNPARSED;
	if (!SV_EQ(h->service, "qmgr") && !SV_EQ(h->service, "oqmgr"))
		ev->channel = pf_channel(h->program, h->instance, h->service);
	struct sc c = {line + h->msg_off, line + len};
	pf_message(&c, ev);
}

void mm_postfix_parse(const char *line, size_t len, int year_hint, struct mm_log_event *ev)
{
	struct mm_syslog_hdr h;
	mm_ev_reset(ev);
	ev->source = MM_SRC_POSTFIX;
	if (mm_syslog_parse(line, len, year_hint, &h) != 0)
		return;
	mm_ev_set_header(ev, &h);
	mm_postfix_parse_msg(line, len, &h, ev);
}

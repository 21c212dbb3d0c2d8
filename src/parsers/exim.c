/* exim: see exim.h. */
#include "parsers/exim.h"

#include <string.h>

#include "parsers/event_fmt.h"
#include "parsers/scan.h"

/* The names this grammar gives that are not spelled in the line (a
 * channel "smtp", a stage "CONNECT"): views into this one array, which
 * mm_exim_is_static() recognises (the fuzz target checks every other view
 * lies in the line). */
static const char lits[] = "exim\0smtp\0local\0CONNECT\0RCPT\0DATA\0MAIL\0EHLO\0VRFY\0"
			   "SMTP\0Frozen\0queue-run";

static struct mm_sv lit(const char *w)
{
	size_t n = strlen(w);
	for (const char *p = lits; p < lits + sizeof lits; p += strlen(p) + 1)
		if (strlen(p) == n && memcmp(p, w, n) == 0)
			return (struct mm_sv){p, (uint32_t)n};
	return (struct mm_sv){NULL, 0};
}

bool mm_exim_is_static(const char *p)
{
	return p >= lits && p < lits + sizeof lits;
}

static bool is_b62(char ch)
{
	return (mm_scan_cc[(unsigned char)ch] & (MM_CC_DIGIT | MM_CC_UPPER | MM_CC_LOWER)) != 0;
}

static bool b62_run(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_b62(p[i]))
			return false;
	return true;
}

/* Length of a message ID at p followed by a space or the end (16 for
 * 6-6-2, 23 for 6-11-4), or 0. */
static size_t msgid_len(const char *p, const char *e)
{
	size_t left = (size_t)(e - p);
	if (left >= 16 && b62_run(p, 6) && p[6] == '-' && b62_run(p + 7, 6) && p[13] == '-' &&
	    b62_run(p + 14, 2) && (left == 16 || p[16] == ' '))
		return 16;
	if (left >= 23 && b62_run(p, 6) && p[6] == '-' && b62_run(p + 7, 11) && p[18] == '-' &&
	    b62_run(p + 19, 4) && (left == 23 || p[23] == ' '))
		return 23;
	return 0;
}

static bool two_digits(const char *p, int *v)
{
	if (!is_digit(p[0]) || !is_digit(p[1]))
		return false;
	*v = (p[0] - '0') * 10 + (p[1] - '0');
	return true;
}

/* "YYYY-MM-DD HH:MM:SS[.fff][ +HHMM] ": Exim's own stamp. Advances the
 * cursor past it and its space; false (cursor unchanged) otherwise. */
static bool exim_stamp(struct sc *c, int64_t *ms_out)
{
	const char *p = c->p;
	if (sc_left(c) < 20)
		return false;
	int y1, y2, mo, d, h, mi, s;
	if (!two_digits(p, &y1) || !two_digits(p + 2, &y2) || p[4] != '-' ||
	    !two_digits(p + 5, &mo) || p[7] != '-' || !two_digits(p + 8, &d) || p[10] != ' ' ||
	    !two_digits(p + 11, &h) || p[13] != ':' || !two_digits(p + 14, &mi) ||
	    p[16] != ':' || !two_digits(p + 17, &s))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return false;
	p += 19;
	int ms = 0;
	if (p < c->e && *p == '.') {
		int n = 0;
		p++;
		while (p < c->e && is_digit(*p)) {
			if (n < 3)
				ms = ms * 10 + (*p - '0');
			n++;
			p++;
		}
		if (!n)
			return false;
		for (; n < 3; n++)
			ms *= 10;
	}
	int year = y1 * 100 + y2;
	int64_t t;
	if (c->e - p >= 6 && p[0] == ' ' && (p[1] == '+' || p[1] == '-') && is_digit(p[2]) &&
	    is_digit(p[3]) && is_digit(p[4]) && is_digit(p[5])) {
		int oh = (p[2] - '0') * 10 + (p[3] - '0'), om = (p[4] - '0') * 10 + (p[5] - '0');
		int64_t off = (int64_t)(oh * 60 + om) * 60 * (p[1] == '-' ? -1 : 1);
		t = (mm_days_from_civil(year, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
		     mi * 60 + s - off) * 1000 + ms;
		p += 6;
	} else {
		t = mm_local_time_ms(year, mo, d, h, mi, s, ms);
	}
	if (p < c->e && *p != ' ')
		return false;
	if (p < c->e)
		p++;
	c->p = p;
	*ms_out = t;
	return true;
}

/* "[12345] " (the +pid selector; also "[12345/2]" continuations). */
static void exim_pid(struct sc *c, struct mm_log_event *ev)
{
	struct sc s = *c;
	uint32_t pid;
	if (!sc_eatc(&s, '[') || !sc_u32(&s, &pid))
		return;
	if (sc_eatc(&s, '/')) {
		uint32_t dummy;
		sc_u32(&s, &dummy);
	}
	if (!sc_eatc(&s, ']'))
		return;
	sc_eatc(&s, ' ');
	ev->pid = pid;
	*c = s;
}

static struct mm_sv word(struct sc *c)
{
	const char *sp = mm_scan_to(c->p, c->e, ' ');
	const char *end = sp ? sp : c->e;
	struct mm_sv w = sv_of(c->p, end);
	c->p = sp ? sp + 1 : c->e;
	return w;
}

/* "H=name (helo) [ip]:port", "H=(helo) [ip]", "H=[ip]": the view of the
 * whole value (up to "]" and a ":port" or "*" after it), name and ip. */
static const char *host_value(const char *p, const char *e, struct mm_sv *name, struct mm_sv *ip)
{
	const char *lb = mm_scan_to(p, e, '[');
	if (!lb)
		return NULL;
	const char *rb = mm_scan_to(lb, e, ']');
	if (!rb)
		return NULL;
	if (name) {
		if (p < lb && *p != '(' && *p != '[') {
			const char *sp = mm_scan_to(p, lb, ' ');
			*name = sv_of(p, sp ? sp : lb);
		}
	}
	if (ip)
		*ip = sv_of(lb + 1, rb);
	const char *q = rb + 1;
	if (q + 1 < e && *q == ':' && is_digit(q[1])) {
		q++;
		while (q < e && is_digit(*q))
			q++;
	}
	if (q < e && *q == '*')
		q++;
	return q;
}

/* Exim's "KEY=value" fields after the address of a message line. Stops
 * at the first word that is not a field; returns where it stopped. */
struct fields {
	struct mm_sv router, transport, host, host_ip, host_name, proto, conf, user, id, auth;
	uint64_t size;
	bool has_size, tls;
	double dt;
	bool has_dt;
};

static bool is_key_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

/* "1h2m3s", "0s", "3.2s" (readconf_printtime, +deliver_time) */
static bool exim_duration(struct mm_sv v, double *out)
{
	struct sc c = {v.p, v.p + v.len};
	double total = 0;
	bool any = false;
	while (c.p < c.e) {
		double n;
		if (!sc_decimal(&c, &n) || c.p >= c.e)
			return false;
		switch (*c.p++) {
		case 'w': total += n * 604800; break;
		case 'd': total += n * 86400; break;
		case 'h': total += n * 3600; break;
		case 'm': total += n * 60; break;
		case 's': total += n; break;
		default: return false;
		}
		any = true;
	}
	*out = total;
	return any;
}

static void parse_fields(struct sc *c, struct fields *f)
{
	while (c->p < c->e) {
		while (c->p < c->e && *c->p == ' ')
			c->p++;
		const char *k = c->p;
		while (c->p < c->e && is_key_char(*c->p) && c->p - k < 3)
			c->p++;
		if (c->p == k || c->p >= c->e || *c->p != '=') {
			c->p = k;
			return;
		}
		struct mm_sv key = sv_of(k, c->p);
		c->p++;
		const char *v = c->p, *ve;
		if (SV_EQ(key, "H")) {
			ve = host_value(v, c->e, &f->host_name, &f->host_ip);
			if (!ve) {
				c->p = k;
				return;
			}
			f->host = sv_of(v, ve);
			c->p = ve;
			continue;
		}
		if (v < c->e && *v == '"') {
			/* C="250 2.0.0 Ok" (quotes inside are backslashed) */
			const char *q = v + 1;
			while (q < c->e && *q != '"')
				q += (*q == '\\' && q + 1 < c->e) ? 2 : 1;
			ve = q < c->e ? q + 1 : c->e;
			if (SV_EQ(key, "C"))
				f->conf = sv_of(v + 1, q < c->e ? q : c->e);
			c->p = ve;
			continue;
		}
		const char *sp = mm_scan_to(v, c->e, ' ');
		ve = sp ? sp : c->e;
		c->p = ve;
		struct mm_sv val = sv_of(v, ve);
		/* "R=router:" ends the fields of a ** line: the reason follows */
		bool colon = val.len && val.p[val.len - 1] == ':';
		if (colon)
			val.len--;
		if (SV_EQ(key, "R"))
			f->router = val;
		else if (SV_EQ(key, "T"))
			f->transport = val;
		else if (SV_EQ(key, "P"))
			f->proto = val;
		else if (SV_EQ(key, "U"))
			f->user = val;
		else if (SV_EQ(key, "id"))
			f->id = val;
		else if (SV_EQ(key, "A"))
			f->auth = val;
		else if (SV_EQ(key, "X"))
			f->tls = true;
		else if (SV_EQ(key, "DT"))
			f->has_dt = exim_duration(val, &f->dt);
		else if (SV_EQ(key, "S")) {
			struct sc n = {val.p, val.p + val.len};
			f->has_size = sc_u64(&n, &f->size);
		}
		if (colon) {
			c->p = ve - 1;
			return;
		}
	}
}

/* The text after the first ": " at or after p (a ** or == reason). */
static struct mm_sv after_colon(const char *p, const char *e)
{
	const char *q = mm_memmem(p, e, ": ", 2);
	if (!q)
		return (struct mm_sv){NULL, 0};
	return sv_of(q + 2, e);
}

/* "550 5.1.1 text" somewhere in a reason: the SMTP code and DSN. */
static void smtp_reply(struct mm_sv r, struct mm_log_event *ev)
{
	const char *p = r.p, *e = r.p + r.len;
	while (p && p + 4 <= e) {
		if ((p[0] == '4' || p[0] == '5') && is_digit(p[1]) && is_digit(p[2]) &&
		    (p[3] == ' ' || p[3] == '-') && (p == r.p || p[-1] == ' ')) {
			ev->smtp_code = (uint16_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
			const char *d = p + 4;
			if (d + 5 <= e && is_digit(d[0]) && d[1] == '.' && is_digit(d[2])) {
				const char *de = d;
				while (de < e && *de != ' ')
					de++;
				ev->dsn = sv_of(d, de);
			}
			return;
		}
		p = mm_scan_to(p + 1, e, ' ');
		if (p)
			p++;
	}
}

static void set_channel(struct mm_log_event *ev, const struct fields *f)
{
	ev->channel = f->transport.len ? f->transport : f->router;
}

/* A message line: "ID <= ...", "ID => ...", "ID Completed", ... */
static void message_line(struct sc *c, struct mm_log_event *ev)
{
	struct fields f;
	memset(&f, 0, sizeof f);
	if (sc_left(c) >= 3 && c->p[2] == ' ') {
		char a = c->p[0], b = c->p[1];
		c->p += 3;
		if (a == '<' && b == '=') {
			struct mm_sv s = word(c);
			if (SV_EQ(s, "<>"))
				s.len = 0; /* the null sender: present, empty */
			ev->addr = s;
			parse_fields(c, &f);
			ev->type = MM_EV_QUEUED;
			ev->flags |= MM_EVF_ARRIVAL;
			ev->size = f.size;
			ev->nrcpt = 0;
			ev->client_name = f.host_name;
			ev->client_ip = f.host_ip;
			ev->code = f.proto;
			ev->message_id = f.id;
			if (f.auth.len)
				ev->flags |= MM_EVF_SASL;
			if (f.tls)
				ev->flags |= MM_EVF_TLS;
			/* P=esmtp, esmtps, esmtpa, smtp... is SMTP; P=local,
			 * local-smtp, local-bsmtp are local submissions */
			bool local = f.proto.len >= 5 && memcmp(f.proto.p, "local", 5) == 0;
			bool smtp = f.proto.len && mm_memmem(f.proto.p, f.proto.p + f.proto.len,
							     "smtp", 4) != NULL;
			ev->channel = (smtp && !local && f.host_ip.len)
					      ? lit("smtp")
					      : lit("local");
			return;
		}
		enum mm_dstatus st = MM_DS_NONE;
		if ((a == '=' && b == '>') || (a == '-' && b == '>') || (a == '>' && b == '>'))
			st = MM_DS_SENT;
		else if (a == '*' && b == '>')
			st = MM_DS_NONE; /* -N: delivery suppressed, nothing sent */
		else if (a == '=' && b == '=')
			st = MM_DS_DEFERRED;
		else if (a == '*' && b == '*')
			st = MM_DS_BOUNCED;
		else {
			c->p -= 3;
			goto words;
		}
		ev->code = sv_of(c->p - 3, c->p - 1);
		struct mm_sv addr = word(c);
		bool colon = addr.len && addr.p[addr.len - 1] == ':';
		if (colon)
			addr.len--;
		ev->addr = addr;
		if (!colon && sc_left(c) && *c->p == '<') {
			const char *gt = mm_scan_to(c->p, c->e, '>');
			if (gt) {
				ev->orig_to = sv_of(c->p + 1, gt);
				c->p = gt + 1;
				/* "=> alice <alice@lab.test>", "=> |/bin/x <a@b>":
				 * a local user, pipe or file; the address is in <> */
				if (!mm_scan_has(addr.p, addr.p + addr.len, '@'))
					ev->addr = ev->orig_to;
			}
		}
		if (!colon)
			parse_fields(c, &f);
		set_channel(ev, &f);
		ev->relay = f.host.len ? f.host : f.transport.len ? (struct mm_sv){NULL, 0}
								 : f.router;
		if (f.has_dt)
			ev->delay = f.dt;
		if (st == MM_DS_NONE) {
			ev->type = MM_EV_IGNORED;
			return;
		}
		ev->type = MM_EV_DELIVERY;
		ev->status = st;
		if (st == MM_DS_SENT) {
			ev->reason = f.conf;
		} else {
			const char *from = colon ? c->p - 1 : c->p;
			const char *df = mm_memmem(from, c->e, "defer (", 7);
			ev->reason = after_colon(df ? df : from, c->e);
			if (!ev->reason.len && c->p < c->e)
				ev->reason = sv_of(c->p, c->e);
			smtp_reply(ev->reason, ev);
		}
		return;
	}
words:
	if (sc_eat(c, "Completed", 9)) {
		ev->type = MM_EV_REMOVED;
		return;
	}
	if (sc_eat(c, "Frozen", 6) || sc_eat(c, "frozen by", 9)) {
		ev->type = MM_EV_HOLD;
		ev->code = lit("Frozen");
		if (c->p < c->e && *c->p == ' ')
			ev->reason = sv_of(c->p + 1, c->e);
		return;
	}
	if (sc_eat(c, "Unfrozen", 8) || sc_eat(c, "unfrozen by", 11) ||
	    sc_eat(c, "Message is frozen", 17) ||
	    sc_eat(c, "Spool file is locked", 20) || sc_eat(c, "SMTP error from remote", 22) ||
	    sc_eat(c, "Message is", 10) || sc_eat(c, "Warning:", 8) ||
	    sc_eat(c, "retry time not reached", 22) || sc_eat(c, "cancelled by", 12) ||
	    sc_eat(c, "removed by", 10) || sc_eat(c, "Error in system filter", 22) ||
	    sc_eat(c, "Completed QT=", 13)) {
		ev->type = MM_EV_IGNORED;
		return;
	}
	/* "ID H=host [ip] Connection refused" (outbound), or
	 * "ID H=(helo) [ip] F=<s> rejected after DATA: text" (inbound) */
	if (sc_peek(c, "H=", 2)) {
		struct mm_sv name = {0}, ip = {0};
		const char *he = host_value(c->p + 2, c->e, &name, &ip);
		if (he) {
			const char *rj = mm_memmem(he, c->e, " rejected ", 10);
			if (rj || mm_memmem(he, c->e, " F=<", 4)) {
				return; /* handled by the caller as a reject */
			}
			ev->type = MM_EV_CONN_FAIL;
			ev->relay = sv_of(c->p + 2, he);
			while (he < c->e && (*he == ':' || *he == ' '))
				he++;
			ev->reason = sv_of(he, c->e);
			return;
		}
	}
}

/* "H=(helo) [ip] F=<s> rejected RCPT <r>: reason", "H=... rejected
 * connection in "connect" ACL: reason", "rejected EHLO from ...". */
static bool reject_line(struct sc *c, struct mm_log_event *ev)
{
	const char *p = c->p, *e = c->e;
	const char *rj = mm_memmem(p, e, "rejected ", 9);
	const char *dropped = rj ? NULL : mm_memmem(p, e, " dropped: ", 10);
	if (!rj && !dropped)
		return false;
	if (rj && rj != p && rj[-1] != ' ')
		return false;
	struct mm_sv name = {0}, ip = {0};
	const char *h = mm_memmem(p, rj ? rj : dropped, "H=", 2);
	if (!h && rj) /* "rejected EHLO from name [ip]: ..." */
		h = mm_memmem(rj, e, " from ", 6);
	if (h) {
		const char *v = h + (h[0] == 'H' ? 2 : 6);
		host_value(v, e, &name, &ip);
	}
	ev->client_name = name;
	ev->client_ip = ip;
	const char *f = mm_memmem(p, rj ? rj : dropped, "F=<", 3);
	if (f) {
		const char *gt = mm_scan_to(f + 3, e, '>');
		if (gt)
			ev->sender = sv_of(f + 3, gt);
	}
	ev->type = MM_EV_REJECT;
	if (dropped) {
		ev->code = lit("CONNECT");
		ev->reason = sv_of(dropped + 10, e);
		return true;
	}
	if (rj - p >= 12 && memcmp(rj - 12, "temporarily ", 12) == 0)
		ev->smtp_code = 451;
	struct sc r = {rj + 9, e};
	if (sc_eat(&r, "RCPT ", 5)) {
		ev->code = lit("RCPT");
		if (sc_eatc(&r, '<')) {
			const char *gt = mm_scan_to(r.p, e, '>');
			if (gt) {
				ev->addr = sv_of(r.p, gt);
				r.p = gt + 1;
			}
		} else {
			const char *col = mm_scan_to(r.p, e, ':');
			if (col) {
				ev->addr = sv_of(r.p, col);
				r.p = col;
			}
		}
	} else if (sc_eat(&r, "after DATA", 10) || sc_eat(&r, "DATA", 4)) {
		ev->code = lit("DATA");
	} else if (sc_eat(&r, "MAIL ", 5)) {
		ev->code = lit("MAIL");
	} else if (sc_eat(&r, "connection", 10)) {
		ev->code = lit("CONNECT");
	} else if (sc_eat(&r, "EHLO", 4) || sc_eat(&r, "HELO", 4)) {
		ev->code = lit("EHLO");
	} else if (sc_eat(&r, "VRFY", 4)) {
		ev->code = lit("VRFY");
	} else {
		ev->code = lit("SMTP");
	}
	ev->reason = after_colon(r.p, e);
	if (!ev->reason.len)
		ev->reason = sv_of(r.p, e);
	return true;
}

/* Lines without a message ID. */
static void daemon_line(struct sc *c, struct mm_log_event *ev)
{
	const char *e = c->e;
	if (sc_peek(c, "SMTP connection from ", 21)) {
		struct sc s = {c->p + 21, e};
		struct mm_sv name = {0}, ip = {0};
		const char *he = host_value(s.p, e, &name, &ip);
		if (!he)
			return;
		ev->client_name = name;
		ev->client_ip = ip;
		ev->channel = lit("smtp");
		const char *cc = mm_memmem(he, e, "connection count = ", 19);
		if (cc) {
			struct sc n = {cc + 19, e};
			ev->type = MM_EV_CONNECT;
			sc_u32(&n, &ev->conn_count);
			return;
		}
		if (mm_memmem(he, e, " closed by ", 11)) {
			ev->type = MM_EV_DISCONNECT;
			ev->reason = sv_of(he + (he < e && *he == ' ' ? 1 : 0), e);
			return;
		}
		if (mm_memmem(he, e, " lost", 5) || mm_memmem(he, e, "timeout", 7)) {
			ev->type = MM_EV_LOST;
			ev->reason = sv_of(he + (he < e && *he == ' ' ? 1 : 0), e);
			return;
		}
		ev->type = MM_EV_IGNORED;
		return;
	}
	/* "plain authenticator failed for (helo) [ip]: 535 ... (set_id=u)" */
	const char *af = mm_memmem(c->p, e, " authenticator failed for ", 26);
	if (af && !mm_scan_has(c->p, af, ' ')) {
		struct mm_sv name = {0}, ip = {0};
		const char *he = host_value(af + 26, e, &name, &ip);
		ev->type = MM_EV_AUTH_FAIL;
		ev->code = sv_of(c->p, af);
		ev->client_name = name;
		ev->client_ip = ip;
		ev->channel = lit("smtp");
		if (he) {
			ev->reason = after_colon(he, e);
			smtp_reply(ev->reason, ev);
		}
		const char *sid = mm_memmem(c->p, e, "(set_id=", 8);
		if (sid) {
			const char *rp = mm_scan_to(sid + 8, e, ')');
			ev->addr = sv_of(sid + 8, rp ? rp : e);
		}
		return;
	}
	if (reject_line(c, ev))
		return;
	if (sc_peek(c, "Start queue run", 15) || sc_peek(c, "End queue run", 13)) {
		ev->type = MM_EV_IGNORED;
		ev->code = lit("queue-run");
		return;
	}
	if (sc_peek(c, "SMTP command timeout", 20) || sc_peek(c, "SMTP data timeout", 17) ||
	    sc_peek(c, "unexpected disconnection", 24) ||
	    sc_peek(c, "SMTP protocol synchronization error", 35)) {
		ev->type = MM_EV_LOST;
		ev->reason = sv_of(c->p, e);
		struct mm_sv name = {0}, ip = {0};
		const char *fr = mm_memmem(c->p, e, " from ", 6);
		if (fr && host_value(fr + 6, e, &name, &ip)) {
			ev->client_name = name;
			ev->client_ip = ip;
		}
		ev->channel = lit("smtp");
		return;
	}
	if (sc_peek(c, "exim ", 5) || sc_peek(c, "exim user lost privilege", 24) ||
	    sc_peek(c, "no host name found", 18) || sc_peek(c, "no IP address found", 19) ||
	    sc_peek(c, "TLS error", 9) || sc_peek(c, "SMTP syntax error", 17) ||
	    sc_peek(c, "Connection from", 15) || sc_peek(c, "pid ", 4) ||
	    sc_peek(c, "Received from", 13) || sc_peek(c, "H=", 2)) {
		ev->type = MM_EV_IGNORED;
		return;
	}
	if (sc_peek(c, "Warning: ", 9)) {
		ev->type = MM_EV_WARNING;
		ev->reason = sv_of(c->p + 9, e);
		return;
	}
	if (sc_peek(c, "Failed to ", 10) || sc_peek(c, "failed to ", 10) ||
	    sc_peek(c, "Cannot ", 7)) {
		ev->type = MM_EV_ERROR;
		ev->reason = sv_of(c->p, e);
	}
}

static void exim_body(struct sc *c, struct mm_log_event *ev)
{
	ev->source = MM_SRC_EXIM;
	exim_pid(c, ev);
	size_t n = msgid_len(c->p, c->e);
	if (n) {
		ev->queue_id = sv_of(c->p, c->p + n);
		c->p += n;
		sc_eatc(c, ' ');
		message_line(c, ev);
		if (ev->type == MM_EV_UNPARSED && reject_line(c, ev))
			return;
		return;
	}
	daemon_line(c, ev);
}

bool mm_exim_is_program(struct mm_sv program)
{
	return SV_EQ(program, "exim") || SV_EQ(program, "exim4");
}

bool mm_exim_looks_like(const char *line, size_t len)
{
	struct sc c = {line, line + len};
	int64_t t;
	if (!exim_stamp(&c, &t))
		return false;
	if (sc_left(&c) > 1 && c.p[0] == '[' && is_digit(c.p[1]))
		return true;
	if (msgid_len(c.p, c.e))
		return true;
	static const char *const starts[] = {
		"SMTP connection from", "H=", "Start queue run", "End queue run", "exim ",
		"SMTP command timeout", "unexpected disconnection", "no host name found",
		"rejected EHLO", "rejected HELO", "SMTP protocol synchronization",
		"SMTP call from",
	};
	for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
		if (sc_peek(&c, starts[i], strlen(starts[i])))
			return true;
	return mm_memmem(c.p, c.e, " authenticator failed for ", 26) != NULL;
}

void mm_exim_parse_msg(const char *line, size_t len, const struct mm_syslog_hdr *h,
		       struct mm_log_event *ev)
{
	struct sc c = {line + h->msg_off, line + len};
	int64_t t;
	if (exim_stamp(&c, &t) && t > 0)
		ev->time_ms = t;
	exim_body(&c, ev);
}

void mm_exim_parse(const char *line, size_t len, int year_hint, struct mm_log_event *ev)
{
	len = mm_scan_trim_eol(line, len);
	mm_ev_reset(ev);
	struct sc c = {line, line + len};
	int64_t t;
	if (exim_stamp(&c, &t)) {
		ev->time_ms = t;
		ev->program = ev->service = lit("exim");
		exim_body(&c, ev);
		return;
	}
	struct mm_syslog_hdr h;
	if (mm_syslog_parse(line, len, year_hint, &h) != 0)
		return;
	mm_ev_set_header(ev, &h);
	if (!mm_exim_is_program(h.program))
		return;
	mm_exim_parse_msg(line, len, &h, ev);
}

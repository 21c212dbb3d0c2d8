/* msgsrv: see msgsrv.h. */
#include "parsers/msgsrv.h"

#include <string.h>

#include "parsers/event_fmt.h"
#include "parsers/scan.h"
#include "parsers/syslog_header.h"

static const char ms_program[] = "msgsrv";

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool next_tok(struct sc *c, struct mm_sv *t)
{
	while (c->p < c->e && is_space(*c->p))
		c->p++;
	if (c->p >= c->e)
		return false;
	const char *s = c->p;
	while (c->p < c->e && !is_space(*c->p))
		c->p++;
	*t = sv_of(s, c->p);
	return true;
}

/* "06-Oct-2003 00:24:03.66" at p (23 bytes). */
static bool ms_stamp(const char *p, size_t n, int64_t *ms)
{
	if (n < 20 || !is_digit(p[0]) || !is_digit(p[1]) || p[2] != '-' || p[6] != '-' ||
	    p[11] != ' ' || p[14] != ':' || p[17] != ':')
		return false;
	int mon = mm_month_from_abbr(p + 3);
	if (mon == 0)
		return false;
	int v[6] = {0};
	const int off[6] = {0, 7, 9, 12, 15, 18};
	for (int i = 0; i < 6; i++) {
		if (!is_digit(p[off[i]]) || !is_digit(p[off[i] + 1]))
			return false;
		v[i] = (p[off[i]] - '0') * 10 + (p[off[i] + 1] - '0');
	}
	if (v[0] < 1 || v[0] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
		return false;
	int year = v[1] * 100 + v[2];
	int frac = 0;
	if (n >= 23 && p[20] == '.' && is_digit(p[21]) && is_digit(p[22]))
		frac = ((p[21] - '0') * 10 + (p[22] - '0')) * 10;
	*ms = mm_local_time_ms(year, mon, v[0], v[3], v[4], v[5], frac);
	return true;
}

/* Skips a grep-style "file:" prefix; returns the offset of the stamp. */
static size_t ms_stamp_off(const char *line, size_t len)
{
	if (len >= 20 && is_digit(line[0]) && line[2] == '-')
		return 0;
	size_t max = len < 256 ? len : 256;
	const char *colon = memchr(line, ':', max);
	if (colon == NULL)
		return (size_t)-1;
	size_t off = (size_t)(colon - line) + 1;
	if (len - off >= 20 && is_digit(line[off]) && line[off + 2] == '-')
		return off;
	return (size_t)-1;
}

bool mm_msgsrv_looks_like(const char *line, size_t len)
{
	int64_t ms;
	size_t off = ms_stamp_off(line, len);
	return off != (size_t)-1 && ms_stamp(line + off, len - off, &ms);
}

static bool is_action(char ch)
{
	return ch != '\0' && memchr("EDQZRJWBKIOCXYV", ch, 15) != NULL;
}

/* A record code: an action letter and up to six modifier letters. The
 * 6.3 guide lists E C S A L; later releases log further upper-case
 * modifiers (two- and three-letter codes in 2019-era logs): any upper-case
 * letter is taken, the record counts as its action, the known ones set
 * flags and the whole code stays in `code`. */
static bool is_code(struct mm_sv t)
{
	if (t.len == 0 || t.len > 7 || !is_action(t.p[0]))
		return false;
	for (uint32_t i = 1; i < t.len; i++)
		if (t.p[i] < 'A' || t.p[i] > 'Z')
			return false;
	return true;
}

/* A LOG_PROCESS id: "501d.0b.9" (hex groups with dots) or digits. */
static bool is_pid(struct mm_sv t)
{
	bool dot = false, digits_only = true;
	for (uint32_t i = 0; i < t.len; i++) {
		char ch = t.p[i];
		if (ch == '.')
			dot = true;
		else if (!is_digit(ch) && !((ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
			return false;
		if (!is_digit(ch))
			digits_only = false;
	}
	return t.len > 0 && (dot || digits_only);
}

/* "TCP|local-ip|lport|remote-ip|rport" (also inside parentheses). */
static bool ms_tcp(struct mm_sv t, struct mm_log_event *ev)
{
	struct sc c = {t.p, t.p + t.len};
	sc_eatc(&c, '(');
	if (!SC_EAT(&c, "TCP|") && !SC_EAT(&c, "UDP|"))
		return false;
	struct mm_sv f[4];
	for (int i = 0; i < 4; i++) {
		sc_until(&c, '|', true, &f[i]);
		if (i < 3 && !sc_eatc(&c, '|'))
			return false;
	}
	/* the remote end; for ")" left over: trim */
	if (f[3].len && f[3].p[f[3].len - 1] == ')')
		f[3].len--;
	ev->client_ip = f[2]; /* the remote end, client or server */
	return true;
}

/* Modifier letters into flags. */
static void ms_flags(struct mm_sv code, struct mm_log_event *ev)
{
	for (uint32_t i = 1; i < code.len; i++) {
		switch (code.p[i]) {
		case 'E':
			ev->flags |= MM_EVF_ESMTP;
			break;
		case 'C':
			ev->flags |= MM_EVF_CHUNKING;
			break;
		case 'S':
			ev->flags |= MM_EVF_TLS;
			break;
		case 'A':
			ev->flags |= MM_EVF_SASL;
			break;
		case 'L':
			ev->flags |= MM_EVF_LMTP;
			break;
		default:
			break;
		}
	}
}

/* The text after the recipient: optional filename, message id, then a
 * diagnostic. Pulls relay/ip, SMTP reply and DSN out of an SMTP one:
 * "dns;host (TCP|a|b|c|d) (banner) smtp;250 2.1.5 text". */
static void ms_tail(struct sc *c, struct mm_log_event *ev)
{
	struct sc save;
	struct mm_sv t;
	for (;;) {
		save = *c;
		if (!next_tok(c, &t)) {
			*c = save;
			break;
		}
		if (t.len > 1 && t.p[0] == '/' && mm_memmem(t.p, t.p + t.len, "queue", 5)) {
			continue; /* LOG_FILENAME */
		}
		if (t.len >= 2 && t.p[0] == '<' && t.p[t.len - 1] == '>' && ev->message_id.p == NULL) {
			ev->message_id = sv_of(t.p + 1, t.p + t.len - 1);
			continue;
		}
		*c = save;
		break;
	}
	while (c->p < c->e && is_space(*c->p))
		c->p++;
	if (c->p >= c->e)
		return;
	ev->reason = sv_of(c->p, c->e);
	/* the searches below only where their marker byte occurs at all */
	bool semi = mm_scan_has(c->p, c->e, ';'), bar = mm_scan_has(c->p, c->e, '|');
	const char *dns = semi ? mm_memmem(c->p, c->e, "dns;", 4) : NULL;
	if (dns != NULL) {
		struct sc d = {dns + 4, c->e};
		struct mm_sv host;
		sc_until(&d, ' ', true, &host);
		ev->relay = host;
	}
	const char *tcp = bar ? mm_memmem(c->p, c->e, "(TCP|", 5) : NULL;
	if (tcp != NULL) {
		struct sc d = {tcp, c->e};
		struct mm_sv tok;
		if (next_tok(&d, &tok))
			ms_tcp(tok, ev);
	}
	const char *smtp = semi ? mm_memmem(c->p, c->e, "smtp;", 5) : NULL;
	if (smtp != NULL) {
		struct sc d = {smtp + 5, c->e};
		/* "250 2.1.5 text": the reply code, then an enhanced status */
		if (sc_left(&d) >= 4 && is_digit(d.p[0]) && is_digit(d.p[1]) && is_digit(d.p[2]) &&
		    d.p[3] == ' ') {
			ev->smtp_code = (uint16_t)((d.p[0] - '0') * 100 + (d.p[1] - '0') * 10 +
						   (d.p[2] - '0'));
			d.p += 4;
			struct mm_sv dsn;
			struct sc q = d;
			if (sc_until(&q, ' ', true, &dsn) && dsn.len >= 5 && dsn.p[1] == '.')
				ev->dsn = dsn;
		}
	}
	/* An E record's source system: "host (name [1.2.3.4])". */
	if (ev->client_ip.p == NULL && ev->type == MM_EV_QUEUED) {
		const char *lb = mm_memrmem(c->p, c->e, " [", 2);
		if (lb != NULL) {
			const char *rb = memchr(lb + 2, ']', (size_t)(c->e - lb - 2));
			if (rb != NULL)
				ev->client_ip = sv_of(lb + 2, rb);
		}
	}
}

void mm_msgsrv_parse(const char *line, size_t len, int year_hint, struct mm_log_event *ev)
{
	(void)year_hint; /* mail.log stamps carry their year */
	mm_ev_reset(ev);
	ev->source = MM_SRC_MSGSRV;
	ev->type = MM_EV_UNPARSED;
	len = mm_scan_trim_eol(line, len);
	size_t off = ms_stamp_off(line, len);
	if (off == (size_t)-1 || !ms_stamp(line + off, len - off, &ev->time_ms))
		return;
	ev->program = (struct mm_sv){ms_program, sizeof ms_program - 1};
	struct sc c = {line + off + 20, line + len};
	if (c.p < c.e && *c.p == '.') { /* centiseconds */
		c.p++;
		while (c.p < c.e && is_digit(*c.p))
			c.p++;
	}
	/* Up to four tokens before the record code: [pid] src [dst|+|-]. */
	struct mm_sv pre[4], code = {NULL, 0};
	int n = 0;
	struct mm_sv t;
	while (next_tok(&c, &t)) {
		if (n > 0 && is_code(t)) {
			code = t;
			break;
		}
		if (n == 4)
			return;
		pre[n++] = t;
	}
	if (code.p == NULL)
		return;
	int first = 0;
	if (n >= 2 && is_pid(pre[0]) && !(n == 2 && (SV_EQ(pre[1], "+") || SV_EQ(pre[1], "-")))) {
		/* "501d.0b.9": the first group is the process id in hex */
		uint32_t pid = 0;
		for (uint32_t i = 0; i < pre[0].len && pre[0].p[i] != '.' && pid < 0x10000000u; i++) {
			char ch = pre[0].p[i];
			unsigned d = is_digit(ch) ? (unsigned)(ch - '0')
				     : (unsigned)((ch | 0x20) - 'a' + 10);
			pid = pid * 16 + d;
		}
		ev->pid = pid;
		first = 1;
	}
	int nch = n - first;
	if (nch < 1 || nch > 2)
		return;
	ev->code = code;
	ms_flags(code, ev);
	char act = code.p[0];

	bool conn = nch == 2 && (SV_EQ(pre[first + 1], "+") || SV_EQ(pre[first + 1], "-"));
	if (conn) {
		ev->channel = pre[first];
		ev->flags |= pre[first + 1].p[0] == '+' ? MM_EVF_INBOUND : MM_EVF_OUTBOUND;
		switch (act) {
		case 'O':
			ev->type = MM_EV_CONNECT;
			break;
		case 'C':
			ev->type = MM_EV_DISCONNECT;
			break;
		case 'X':
			ev->type = MM_EV_REJECT;
			break;
		case 'Y':
			ev->type = MM_EV_CONN_FAIL;
			break;
		case 'I': /* ETRN */
		case 'B': /* bad SMTP command */
			ev->type = MM_EV_IGNORED;
			break;
		case 'J':
			ev->type = MM_EV_REJECT;
			break;
		default:
			return;
		}
		ev->service = ev->channel;
		if (act == 'B' || act == 'J') {
			while (c.p < c.e && is_space(*c.p))
				c.p++;
			if (c.p < c.e)
				ev->reason = sv_of(c.p, c.e);
			return;
		}
		struct mm_sv tcp;
		if (next_tok(&c, &tcp))
			ms_tcp(tcp, ev);
		while (c.p < c.e && is_space(*c.p))
			c.p++;
		if (c.p < c.e)
			ev->reason = sv_of(c.p, c.e);
		return;
	}
	if (nch == 2) {
		ev->src_channel = pre[first];
		ev->channel = pre[first + 1];
	} else {
		ev->channel = pre[first];
	}
	ev->service = ev->channel;

	/* size from orig rcpt; an empty from leaves orig ("rfc822;...") in
	 * the from position. */
	uint64_t blocks;
	struct mm_sv sz;
	if (!next_tok(&c, &sz))
		return;
	struct sc szc = {sz.p, sz.p + sz.len};
	if (!sc_u64(&szc, &blocks) || szc.p != szc.e)
		return;
	ev->size = blocks > UINT64_MAX / MM_MSGSRV_BLOCK_BYTES ? UINT64_MAX
							       : blocks * MM_MSGSRV_BLOCK_BYTES;
	struct mm_sv from, orig, rcpt;
	if (!next_tok(&c, &from))
		return;
	if (memchr(from.p, ';', from.len) != NULL) {
		orig = from;
		from = (struct mm_sv){from.p, 0}; /* present and empty */
	} else if (!next_tok(&c, &orig)) {
		return;
	}
	if (!next_tok(&c, &rcpt))
		return;
	ev->sender = from;
	ev->addr = rcpt;
	const char *semi = memchr(orig.p, ';', orig.len);
	ev->orig_to = semi ? sv_of(semi + 1, orig.p + orig.len) : orig;

	switch (act) {
	case 'E':
		ev->type = MM_EV_QUEUED;
		ev->nrcpt = 1;
		break;
	case 'D':
		ev->type = MM_EV_DELIVERY;
		ev->status = MM_DS_SENT;
		break;
	case 'Q':
	case 'Z':
		ev->type = MM_EV_DELIVERY;
		ev->status = MM_DS_DEFERRED;
		break;
	case 'R':
		ev->type = MM_EV_DELIVERY;
		ev->status = MM_DS_BOUNCED;
		break;
	case 'J':
	case 'K':
		ev->type = MM_EV_REJECT;
		break;
	case 'W':
		ev->type = MM_EV_BOUNCE_DSN;
		break;
	case 'B':
	case 'I':
	case 'V':
		ev->type = MM_EV_IGNORED;
		break;
	default:
		return;
	}
	ms_tail(&c, ev);
}

/* syslog_header: see syslog_header.h. */
#include "parsers/syslog_header.h"

#include <string.h>
#include <time.h>

#include "parsers/scan.h"

int mm_month_from_abbr(const char *p)
{
	switch (p[0]) {
	case 'J':
		if (p[1] == 'a' && p[2] == 'n')
			return 1;
		if (p[1] == 'u' && p[2] == 'n')
			return 6;
		if (p[1] == 'u' && p[2] == 'l')
			return 7;
		return 0;
	case 'F':
		return p[1] == 'e' && p[2] == 'b' ? 2 : 0;
	case 'M':
		if (p[1] == 'a' && p[2] == 'r')
			return 3;
		if (p[1] == 'a' && p[2] == 'y')
			return 5;
		return 0;
	case 'A':
		if (p[1] == 'p' && p[2] == 'r')
			return 4;
		if (p[1] == 'u' && p[2] == 'g')
			return 8;
		return 0;
	case 'S':
		return p[1] == 'e' && p[2] == 'p' ? 9 : 0;
	case 'O':
		return p[1] == 'c' && p[2] == 't' ? 10 : 0;
	case 'N':
		return p[1] == 'o' && p[2] == 'v' ? 11 : 0;
	case 'D':
		return p[1] == 'e' && p[2] == 'c' ? 12 : 0;
	default:
		return 0;
	}
}

/* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian
 * calendar, integer only. */
int64_t mm_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The last local hour converted, per thread: log lines come in time
 * order, so one mktime per hour of log replaces one per line. */
static _Thread_local struct {
	int64_t key;
	int64_t base_ms;
} hour_memo = {-1, 0};

int64_t mm_local_time_ms(int year, int mon, int day, int hour, int min, int sec, int ms)
{
	if (year < 1970 || year > 9999 || mon < 1 || mon > 12 || day < 1 || day > 31 ||
	    hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60 || ms < 0 ||
	    ms > 999)
		return 0;
	int64_t key = (((int64_t)year * 13 + mon) * 32 + day) * 24 + hour;
	if (hour_memo.key != key) {
		struct tm tm;
		memset(&tm, 0, sizeof tm);
		tm.tm_year = year - 1900;
		tm.tm_mon = mon - 1;
		tm.tm_mday = day;
		tm.tm_hour = hour;
		tm.tm_isdst = -1;
		time_t t = mktime(&tm);
		if (t == (time_t)-1)
			return 0;
		hour_memo.key = key;
		hour_memo.base_ms = (int64_t)t * 1000;
	}
	return hour_memo.base_ms + ((int64_t)min * 60 + sec) * 1000 + ms;
}

static int two(const char *p)
{
	if (!is_digit(p[0]) || !is_digit(p[1]))
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Optional ".123456": returns milliseconds, advances past all digits. */
static int fraction_ms(struct sc *c)
{
	int ms = 0, n = 0;
	if (!sc_eatc(c, '.'))
		return 0;
	while (c->p < c->e && is_digit(*c->p)) {
		if (n < 3) {
			ms = ms * 10 + (*c->p - '0');
			n++;
		}
		c->p++;
	}
	while (n++ < 3)
		ms *= 10;
	return ms;
}

static int current_year(void)
{
	time_t now = time(NULL);
	struct tm tm;
	if (gmtime_r(&now, &tm) == NULL)
		return 1970;
	return tm.tm_year + 1900;
}

/* The last RFC 3164 stamp read, per thread: busy logs repeat the same
 * second on many lines. */
static _Thread_local struct {
	char text[15];
	int year;
	int64_t ms;
} stamp_memo = {{0}, -1, 0};

/* "Nov 21 05:59:09" or "Nov  1 05:59:09". */
/* "Jan 1 10:00:00": a one-digit day without the padding space (some
 * syslog daemons and hand-made logs). */
static bool stamp_3164_short(struct sc *c, int year_hint, int64_t *ms)
{
	const char *p = c->p;
	if (sc_left(c) < 14 || p[3] != ' ' || !is_digit(p[4]) || p[5] != ' ' || p[8] != ':' ||
	    p[11] != ':')
		return false;
	int mon = mm_month_from_abbr(p);
	int day = p[4] - '0', h = two(p + 6), mi = two(p + 9), sec = two(p + 12);
	if (mon == 0 || day < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return false;
	c->p += 14;
	int fms = fraction_ms(c);
	*ms = mm_local_time_ms(year_hint > 0 ? year_hint : current_year(), mon, day, h, mi, sec,
			       fms);
	return true;
}

static bool stamp_3164(struct sc *c, int year_hint, int64_t *ms)
{
	if (sc_left(c) >= 14 && c->p[5] == ' ' && c->p[8] == ':')
		return stamp_3164_short(c, year_hint, ms);
	if (sc_left(c) < 15 || c->p[3] != ' ' || c->p[9] != ':' || c->p[12] != ':')
		return false;
	uint64_t a, b, ma, mb; /* two overlapping 8-byte compares of the 15 */
	memcpy(&a, c->p, 8);
	memcpy(&b, c->p + 7, 8);
	memcpy(&ma, stamp_memo.text, 8);
	memcpy(&mb, stamp_memo.text + 7, 8);
	if (stamp_memo.year == year_hint && year_hint > 0 && a == ma && b == mb &&
	    (sc_left(c) == 15 || c->p[15] != '.')) {
		c->p += 15;
		*ms = stamp_memo.ms;
		return true;
	}
	int mon = mm_month_from_abbr(c->p);
	if (mon == 0)
		return false;
	int day;
	if (c->p[4] == ' ' && is_digit(c->p[5]))
		day = c->p[5] - '0';
	else
		day = two(c->p + 4);
	int h = two(c->p + 7), mi = two(c->p + 10), s = two(c->p + 13);
	if (day < 1 || day > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60 ||
	    c->p[6] != ' ')
		return false;
	const char *text = c->p;
	c->p += 15;
	int fms = fraction_ms(c);
	*ms = mm_local_time_ms(year_hint > 0 ? year_hint : current_year(), mon, day, h, mi, s,
			       fms);
	if (fms == 0 && *ms != 0) {
		memcpy(stamp_memo.text, text, 15);
		stamp_memo.year = year_hint;
		stamp_memo.ms = *ms;
	}
	return true;
}

/* "2026-11-21T05:59:09.123456+00:00", "...Z", or no zone (local); also
 * "2026-11-21 05:59:09" (a space for the T: Dovecot log_timestamp
 * "%Y-%m-%d %H:%M:%S ", syslog-ng ISO-like templates). */
static bool stamp_3339(struct sc *c, int64_t *ms)
{
	const char *p = c->p;
	if (sc_left(c) < 19 || p[4] != '-' || p[7] != '-' ||
	    (p[10] != 'T' && p[10] != 't' && p[10] != ' ') ||
	    p[13] != ':' || p[16] != ':')
		return false;
	int y1 = two(p), y2 = two(p + 2), mon = two(p + 5), day = two(p + 8);
	int h = two(p + 11), mi = two(p + 14), s = two(p + 17);
	if (y1 < 0 || y2 < 0 || mon < 1 || mon > 12 || day < 1 || day > 31 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || s < 0 || s > 60)
		return false;
	int year = y1 * 100 + y2;
	c->p += 19;
	int fms = fraction_ms(c);
	if (sc_eatc(c, 'Z') || sc_eatc(c, 'z')) {
		*ms = ((mm_days_from_civil(year, (unsigned)mon, (unsigned)day) * 24 + h) * 60 + mi) *
			      60000 +
		      (int64_t)s * 1000 + fms;
		return true;
	}
	/* "+01:00", or "+0100" (journalctl -o short-iso, date +%FT%T%z) */
	bool colon = sc_left(c) >= 6 && c->p[3] == ':';
	bool bare = !colon && sc_left(c) >= 5 && is_digit(c->p[3]) && is_digit(c->p[4]) &&
		    (sc_left(c) == 5 || c->p[5] == ' ');
	if ((colon || bare) && (c->p[0] == '+' || c->p[0] == '-')) {
		int oh = two(c->p + 1), om = two(c->p + (colon ? 4 : 3));
		if (oh < 0 || om < 0)
			return false;
		int sign = c->p[0] == '-' ? -1 : 1;
		c->p += colon ? 6 : 5;
		int64_t utc_min = (mm_days_from_civil(year, (unsigned)mon, (unsigned)day) * 24 + h) * 60 +
				  mi - sign * (oh * 60 + om);
		*ms = utc_min * 60000 + (int64_t)s * 1000 + fms;
		return true;
	}
	*ms = mm_local_time_ms(year, mon, day, h, mi, s, fms);
	return true;
}

/* The first '/' by SWAR scan, the last by a short backward one (the
 * service name is the short end of the tag). */
static inline void split_tag(struct mm_sv program, struct mm_sv *instance, struct mm_sv *service)
{
	const char *p = program.p, *e = program.p + program.len;
	const char *first = mm_scan_to(p, e, '/');
	if (first == NULL) {
		instance->p = NULL;
		instance->len = 0;
		*service = program;
		return;
	}
	const char *last = e - 1;
	while (*last != '/')
		last--; /* stops at first at the latest */
	*instance = sv_of(p, first);
	*service = sv_of(last + 1, e);
}

void mm_syslog_split_tag(struct mm_sv program, struct mm_sv *instance, struct mm_sv *service)
{
	split_tag(program, instance, service);
}

/* A tag token "prog", "prog[pid]" (the ':' already stripped). */
static void take_tag(const char *p, const char *e, struct mm_syslog_hdr *h)
{
	const char *end = e;
	if (e > p && e[-1] == ']') {
		const char *lb = mm_scan_to(p, e, '[');
		if (lb != NULL) {
			struct sc d = {lb + 1, e - 1};
			uint32_t pid = 0;
			if (sc_u32(&d, &pid) && d.p == d.e) {
				h->pid = pid;
				end = lb;
			}
		}
	}
	h->program = sv_of(p, end);
	split_tag(h->program, &h->instance, &h->service);
}

/* Ends a tag token: a token ending in ':' followed by ' ' or the end.
 * *sp_out gets the space after the token (or NULL at the end of line)
 * either way, so a host token is scanned once. */
static const char *tag_end(const char *p, const char *e, const char **msg, const char **sp_out)
{
	const char *sp = mm_scan_to(p, e, ' ');
	const char *tend = sp ? sp : e;
	*sp_out = sp;
	if (tend == p || tend[-1] != ':')
		return NULL;
	*msg = sp ? sp + 1 : e;
	return tend - 1;
}

static void hdr_clear(struct mm_syslog_hdr *h)
{
	/* field by field: a memset of this size becomes "rep stos", which
	 * costs more than the whole tag scan */
	static const struct mm_sv none = {NULL, 0};
	h->time_ms = 0;
	h->host = none;
	h->program = none;
	h->instance = none;
	h->service = none;
	h->pid = 0;
	h->msg_off = 0;
}

/* RFC 5424 after "<PRI>": "1 TIMESTAMP HOST APP PROCID MSGID SD MSG", each
 * field "-" when nil; SD is "-" or one or more "[id k="v" ...]" (a "]"
 * inside a value is backslashed). The app name is the tag. */
static int parse_5424(const char *line, struct sc c, struct mm_syslog_hdr *h)
{
	int64_t ms = 0;
	if (!sc_eat(&c, "1 ", 2))
		return -1;
	if (sc_eat(&c, "- ", 2))
		ms = 0;
	else if (!stamp_3339(&c, &ms) || !sc_eatc(&c, ' '))
		return -1;
	const char *f[4][2];
	for (int i = 0; i < 4; i++) { /* host, app, procid, msgid */
		const char *sp = mm_scan_to(c.p, c.e, ' ');
		if (!sp || sp == c.p)
			return -1;
		f[i][0] = c.p;
		f[i][1] = sp;
		c.p = sp + 1;
	}
	if (sc_eatc(&c, '-')) {
		/* no structured data */
	} else {
		while (c.p < c.e && *c.p == '[') {
			const char *q = c.p + 1;
			while (q < c.e && *q != ']')
				q += (*q == '\\' && q + 1 < c.e) ? 2 : 1;
			if (q >= c.e)
				return -1;
			c.p = q + 1;
		}
	}
	if (c.p < c.e && !sc_eatc(&c, ' '))
		return -1;
	if (sc_left(&c) >= 3 && (unsigned char)c.p[0] == 0xEF && (unsigned char)c.p[1] == 0xBB &&
	    (unsigned char)c.p[2] == 0xBF)
		c.p += 3; /* the UTF-8 BOM a message may start with */
	if (!(f[0][1] - f[0][0] == 1 && f[0][0][0] == '-'))
		h->host = sv_of(f[0][0], f[0][1]);
	if (f[1][1] - f[1][0] == 1 && f[1][0][0] == '-')
		return -1; /* no app name: no tag to dispatch on */
	h->program = sv_of(f[1][0], f[1][1]);
	split_tag(h->program, &h->instance, &h->service);
	struct sc pid = {f[2][0], f[2][1]};
	uint32_t v;
	if (sc_u32(&pid, &v) && pid.p == pid.e)
		h->pid = v;
	h->time_ms = ms;
	h->msg_off = (size_t)(c.p - line);
	return 0;
}

/* multilog's "@4000000065712c3a1d2f3c4e " (TAI64N: 2^62 + seconds, then
 * nanoseconds, in hex); TAI is taken as UTC (10 s off, no leap table). */
static bool stamp_tai64n(struct sc *c, int64_t *ms)
{
	if (sc_left(c) < 25 || c->p[0] != '@')
		return false;
	uint64_t sec = 0, ns = 0;
	for (int i = 0; i < 24; i++) {
		char ch = c->p[1 + i];
		unsigned d;
		if (is_digit(ch))
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else
			return false;
		if (i < 16)
			sec = sec << 4 | d;
		else
			ns = ns << 4 | d;
	}
	if (sec < (1ull << 62) || sec - (1ull << 62) > (1ull << 40))
		return false;
	*ms = (int64_t)(sec - (1ull << 62)) * 1000 + (int64_t)(ns / 1000000);
	c->p += 25;
	return true;
}

int mm_syslog_parse(const char *line, size_t len, int year_hint, struct mm_syslog_hdr *h)
{
	hdr_clear(h);
	len = mm_scan_trim_eol(line, len);
	struct sc c = {line, line + len};
	if (c.p < c.e && *c.p == '<') { /* "<PRI>" */
		const char *q = c.p + 1;
		while (q < c.e && q - c.p <= 4 && is_digit(*q))
			q++;
		if (q < c.e && *q == '>' && q > c.p + 1) {
			c.p = q + 1;
			if (sc_left(&c) > 2 && c.p[0] == '1' && c.p[1] == ' ') {
				if (parse_5424(line, c, h) == 0)
					return 0;
				hdr_clear(h);
				return -1;
			}
		}
	}
	int64_t ms = 0;
	if (c.p < c.e && *c.p == '@') {
		if (!stamp_tai64n(&c, &ms))
			return -1;
	} else if (sc_left(&c) >= 19 && is_digit(c.p[0]) && c.p[4] == '-') {
		if (!stamp_3339(&c, &ms))
			return -1;
	} else if (!stamp_3164(&c, year_hint, &ms)) {
		return -1;
	}
	if (!sc_eatc(&c, ' '))
		return -1;
	while (c.p < c.e && *c.p == ' ')
		c.p++;
	if (c.p >= c.e)
		return -1;
	const char *msg = NULL, *sp = NULL;
	const char *te = tag_end(c.p, c.e, &msg, &sp);
	if (te == NULL) {
		/* First token is the host; the tag follows. */
		if (sp == NULL)
			return -1;
		h->host = sv_of(c.p, sp);
		c.p = sp + 1;
		if (c.p >= c.e)
			goto fail;
		te = tag_end(c.p, c.e, &msg, &sp);
		if (te == NULL)
			goto fail;
	}
	take_tag(c.p, te, h);
	h->time_ms = ms;
	h->msg_off = (size_t)(msg - line);
	return 0;
fail:
	hdr_clear(h);
	return -1;
}

void mm_ev_set_header(struct mm_log_event *ev, const struct mm_syslog_hdr *h)
{
	ev->time_ms = h->time_ms;
	ev->host = h->host;
	ev->program = h->program;
	ev->instance = h->instance;
	ev->service = h->service;
	ev->pid = h->pid;
}

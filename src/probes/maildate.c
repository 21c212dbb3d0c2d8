/* maildate: see maildate.h. A tiny cursor over the bytes; no libc time
 * functions (no locale, no time zone database). */
#include "probes/maildate.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

struct cur {
	const char *s;
	size_t i, n;
};

static void skip_cfws(struct cur *c)
{
	while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\r' ||
			       c->s[c->i] == '\n'))
		c->i++;
}

/* 1..maxd digits. */
static bool num(struct cur *c, int maxd, int *out)
{
	int v = 0, d = 0;
	while (c->i < c->n && d < maxd && isdigit((unsigned char)c->s[c->i])) {
		v = v * 10 + (c->s[c->i++] - '0');
		d++;
	}
	*out = v;
	return d > 0;
}

static bool lit(struct cur *c, char ch)
{
	if (c->i < c->n && c->s[c->i] == ch) {
		c->i++;
		return true;
	}
	return false;
}

static int month(struct cur *c)
{
	static const char *const m[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	if (c->n - c->i < 3)
		return -1;
	for (int k = 0; k < 12; k++)
		if (strncasecmp(c->s + c->i, m[k], 3) == 0) {
			c->i += 3;
			return k + 1;
		}
	return -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int mdays(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/* "+hhmm" / "-hhmm" or an obsolete zone name; minutes east of UTC. */
static bool zone(struct cur *c, int *off_min)
{
	if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-')) {
		int sign = c->s[c->i++] == '-' ? -1 : 1, z;
		size_t at = c->i;
		if (!num(c, 4, &z) || c->i - at != 4 || z % 100 >= 60)
			return false;
		*off_min = sign * ((z / 100) * 60 + z % 100);
		return true;
	}
	static const struct {
		const char *name;
		int off;
	} names[] = {{"UTC", 0}, {"GMT", 0}, {"UT", 0}, {"Z", 0},   {"EDT", -240}, {"EST", -300},
		     {"CDT", -300}, {"CST", -360}, {"MDT", -360}, {"MST", -420}, {"PDT", -420}, {"PST", -480}};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		size_t l = strlen(names[k].name);
		if (c->n - c->i >= l && strncasecmp(c->s + c->i, names[k].name, l) == 0 &&
		    (c->n - c->i == l || !isalpha((unsigned char)c->s[c->i + l]))) {
			c->i += l;
			*off_min = names[k].off;
			return true;
		}
	}
	return false;
}

static int assemble(int y, int mo, int d, int h, int mi, int se, int off_min, int64_t *wall_ms)
{
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays(y, mo) || h > 23 ||
	    mi > 59 || se > 60)
		return -1;
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off_min * 60;
	*wall_ms = secs * 1000;
	return 0;
}

int mm_maildate_rfc5322(const char *s, size_t len, int64_t *wall_ms)
{
	struct cur c = {s, 0, len};
	int d, mo, y, h, mi, se = 0, off;
	skip_cfws(&c);
	/* Optional day of week. */
	if (c.i < c.n && isalpha((unsigned char)s[c.i])) {
		while (c.i < c.n && isalpha((unsigned char)s[c.i]))
			c.i++;
		if (!lit(&c, ','))
			return -1;
	}
	skip_cfws(&c);
	if (!num(&c, 2, &d))
		return -1;
	skip_cfws(&c);
	if ((mo = month(&c)) < 0)
		return -1;
	skip_cfws(&c);
	size_t at = c.i;
	if (!num(&c, 4, &y) || c.i - at < 2)
		return -1;
	if (c.i - at == 2)
		y += y < 50 ? 2000 : 1900; /* obsolete two-digit year */
	skip_cfws(&c);
	if (!num(&c, 2, &h) || !lit(&c, ':') || !num(&c, 2, &mi))
		return -1;
	if (lit(&c, ':') && !num(&c, 2, &se))
		return -1;
	skip_cfws(&c);
	if (!zone(&c, &off))
		return -1;
	return assemble(y, mo, d, h, mi, se, off, wall_ms);
}

int mm_maildate_imap(const char *s, size_t len, int64_t *wall_ms)
{
	struct cur c = {s, 0, len};
	int d, mo, y, h, mi, se, off;
	lit(&c, ' ');
	if (!num(&c, 2, &d) || !lit(&c, '-') || (mo = month(&c)) < 0 || !lit(&c, '-'))
		return -1;
	size_t at = c.i;
	if (!num(&c, 4, &y) || c.i - at != 4 || !lit(&c, ' '))
		return -1;
	if (!num(&c, 2, &h) || !lit(&c, ':') || !num(&c, 2, &mi) || !lit(&c, ':') ||
	    !num(&c, 2, &se) || !lit(&c, ' ') || !zone(&c, &off))
		return -1;
	return assemble(y, mo, d, h, mi, se, off, wall_ms);
}

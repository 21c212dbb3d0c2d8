/*
 * reason: group keys of reject, bounce and deferral texts (see reason.h
 * for the rules and docs/logstat.md for examples).
 */
#include "logs/reason.h"

#include <stdbool.h>
#include <string.h>

#include "core/strutil.h"

struct wr {
	char *p;
	size_t n, cap;
};

static void put(struct wr *w, const char *s, size_t n)
{
	if (w->n + 1 >= w->cap)
		return;
	size_t room = w->cap - 1 - w->n;
	if (n > room)
		n = room;
	memcpy(w->p + w->n, s, n);
	w->n += n;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_local_char(char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' ||
	       c == '=';
}

static bool is_host_char(char c)
{
	return is_alnum(c) || c == '.' || c == '-';
}

/* Length of user@domain starting at s, or 0. */
static size_t email_len(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && is_local_char(s[i]))
		i++;
	if (i == 0 || i >= n || s[i] != '@')
		return 0;
	size_t at = ++i;
	while (i < n && is_host_char(s[i]))
		i++;
	if (i == at)
		return 0;
	while (i > at && s[i - 1] == '.') /* a sentence's full stop */
		i--;
	return i;
}

/* Digits, at most max of them; returns how many. */
static size_t digits(const char *s, size_t n, size_t max)
{
	size_t i = 0;
	while (i < n && i < max && is_digit(s[i]))
		i++;
	return i;
}

/* Length of a dotted quad starting at s (not followed by a letter or
 * digit), or 0. */
static size_t ipv4_len(const char *s, size_t n)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
		size_t d = digits(s + i, n - i, 3);
		if (!d)
			return 0;
		i += d;
	}
	if (i < n && (is_alnum(s[i]) || (s[i] == '.' && i + 1 < n && is_digit(s[i + 1]))))
		return 0;
	return i;
}

/* [245].N.N (an RFC 3463 enhanced status code), or 0. */
static size_t enhanced_len(const char *s, size_t n)
{
	if (n < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	size_t i = 2, d = digits(s + i, n - i, 3);
	if (!d)
		return 0;
	i += d;
	if (i >= n || s[i] != '.')
		return 0;
	i++;
	d = digits(s + i, n - i, 3);
	if (!d)
		return 0;
	i += d;
	if (i < n && (is_alnum(s[i]) || s[i] == '.'))
		return 0;
	return i;
}

/* Whether [s, s+n) is an IP address in brackets' content: hex digits,
 * dots and colons (optionally "IPv6:"), with a digit and a separator. */
static bool bracket_ip(const char *s, size_t n)
{
	if (n > 5 && memcmp(s, "IPv6:", 5) == 0) {
		s += 5;
		n -= 5;
	}
	bool digit = false, sep = false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (is_digit(c))
			digit = true;
		else if (c == '.' || c == ':')
			sep = true;
		else if (!((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return digit && sep;
}

size_t mm_reason_group(const char *in, size_t len, char *out, size_t cap)
{
	struct wr w = {out, 0, cap};
	if (!cap)
		return 0;
	if (!in)
		len = 0;
	/* The refused address in front: "<a@b>: Recipient address rejected". */
	if (len > 2 && in[0] == '<') {
		const char *e = mm_memfind(in, len < 1024 ? len : 1024, ">: ", 3);
		if (e) {
			size_t skip = (size_t)(e + 3 - in);
			in += skip;
			len -= skip;
		}
	}
	/* One DNSBL, one row. */
	const char *bu = len ? mm_memfind(in, len, "blocked using ", 14) : NULL;
	if (bu) {
		const char *z = bu + 14, *end = in + len, *ze = z;
		while (ze < end && *ze != ' ' && *ze != ';' && *ze != ',' && *ze != '\t')
			ze++;
		if (ze > z) {
			while (ze > z && ze[-1] == '.')
				ze--;
			put(&w, "blocked using ", 14);
			put(&w, z, (size_t)(ze - z));
			out[w.n] = 0;
			return w.n;
		}
	}
	size_t i = 0;
	while (i < len) {
		char c = in[i];
		char prev = i ? in[i - 1] : ' ';
		if (c == '<') {
			size_t lim = len - i < 512 ? len - i : 512, j;
			const char *close = memchr(in + i + 1, '>', lim - 1);
			if (close) {
				j = (size_t)(close - (in + i));
				const char *lt = memchr(in + i + 1, '<', j - 1);
				if (!lt && (j == 1 || memchr(in + i + 1, '@', j - 1))) {
					put(&w, "<*>", 3);
					i += j + 1;
					continue;
				}
			}
		} else if (c == '[') {
			size_t lim = len - i < 64 ? len - i : 64;
			const char *close = memchr(in + i + 1, ']', lim - 1);
			if (close && bracket_ip(in + i + 1, (size_t)(close - in - i - 1))) {
				put(&w, "[*]", 3);
				i = (size_t)(close - in) + 1;
				continue;
			}
		} else if (is_alnum(c) && !is_alnum(prev) && prev != '.') {
			size_t n;
			if (!is_local_char(prev) && (n = email_len(in + i, len - i))) {
				put(&w, "*", 1);
				i += n;
				continue;
			}
			if ((n = ipv4_len(in + i, len - i))) {
				put(&w, "*", 1);
				i += n;
				continue;
			}
			if ((n = enhanced_len(in + i, len - i))) {
				put(&w, in + i, n);
				i += n;
				continue;
			}
		}
		if (is_alnum(c) && !is_alnum(prev)) {
			size_t n = 0;
			bool dig = false;
			while (i + n < len && is_alnum(in[i + n])) {
				dig |= is_digit(in[i + n]);
				n++;
			}
			char next = i + n < len ? in[i + n] : ' ';
			if (!dig) {
				put(&w, in + i, n);
			} else if (n >= 6) {
				put(&w, "#", 1); /* an ID */
			} else if (n == 3 && digits(in + i, 3, 3) == 3 &&
				   (c == '2' || c == '4' || c == '5') && (next == ' ' || next == '-') &&
				   (i == 0 || (i >= 6 && memcmp(in + i - 6, "said: ", 6) == 0) ||
				    enhanced_len(in + i + 4, len - i - 4))) {
				put(&w, in + i, 3); /* SMTP reply code */
			} else {
				for (size_t k = 0; k < n;) {
					if (is_digit(in[i + k])) {
						put(&w, "#", 1);
						while (k < n && is_digit(in[i + k]))
							k++;
					} else {
						put(&w, in + i + k, 1);
						k++;
					}
				}
			}
			i += n;
			continue;
		}
		put(&w, &c, 1);
		i++;
	}
	out[w.n] = 0;
	return w.n;
}

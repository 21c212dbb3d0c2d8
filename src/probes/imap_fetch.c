/* imap_fetch: see imap_fetch.h. */
#include "probes/imap_fetch.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "probes/maildate.h"

static void append(struct mm_imap_item *it, const char *s, size_t n, bool newline)
{
	size_t room = MM_IMAP_ITEM_TEXT - it->len;
	size_t take = n < room ? n : room;
	memcpy(it->text + it->len, s, take);
	it->len += take;
	if (take < n)
		it->cut = true;
	if (newline) {
		if (it->len < MM_IMAP_ITEM_TEXT)
			it->text[it->len++] = '\n';
		else
			it->cut = true;
	}
	it->text[it->len] = '\0';
}

static bool parse_u32(const char *s, size_t n, size_t *i, uint32_t *out)
{
	uint64_t v = 0;
	size_t d = 0;
	while (*i < n && isdigit((unsigned char)s[*i]) && d < 10) {
		v = v * 10 + (uint64_t)(s[(*i)++] - '0');
		d++;
	}
	if (d == 0 || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* "UID n" and INTERNALDATE "..." anywhere in the protocol part. */
static void tokens(struct mm_imap_item *it, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && s[i - 1] != ' ' && s[i - 1] != '(')
			continue;
		if (n - i > 4 && strncasecmp(s + i, "UID ", 4) == 0) {
			size_t k = i + 4;
			uint32_t u;
			if (parse_u32(s, n, &k, &u))
				it->uid = u;
		} else if (n - i > 14 && strncasecmp(s + i, "INTERNALDATE \"", 14) == 0) {
			const char *q = memchr(s + i + 14, '"', n - i - 14);
			if (q)
				it->have_internal =
					mm_maildate_imap(s + i + 14, (size_t)(q - (s + i + 14)),
							 &it->internal_ms) == 0;
		}
	}
}

static bool is_fetch_start(const char *s, size_t n)
{
	if (n < 2 || s[0] != '*' || s[1] != ' ')
		return false;
	size_t i = 2;
	uint32_t seq;
	if (!parse_u32(s, n, &i, &seq))
		return false;
	return n - i >= 8 && strncasecmp(s + i, " FETCH (", 8) == 0;
}

bool mm_imap_item_feed(struct mm_imap_item *it, const struct mm_reply_state *st,
		       const char *line, size_t len)
{
	size_t lp = st->lit_part <= len ? st->lit_part : len;
	if (st->lit_whole) {
		if (it->open)
			append(it, line, len, true);
		return false;
	}
	if (lp > 0 && it->open)
		append(it, line, lp, false);
	const char *s = line + lp;
	size_t n = len - lp;
	if (lp == 0 && is_fetch_start(s, n)) {
		it->open = true;
		it->uid = 0;
		it->have_internal = false;
		it->internal_ms = 0;
		it->len = 0;
		it->cut = false;
		it->text[0] = '\0';
	}
	if (!it->open)
		return false;
	tokens(it, s, n);
	if (st->lit == 0 && !st->cont) {
		it->open = false;
		return true;
	}
	return false;
}

size_t mm_imap_search_uids(const char *reply, size_t len, uint32_t after, uint32_t *out,
			   size_t max)
{
	size_t got = 0, pos = 0;
	while (pos < len && got < max) {
		const char *nl = memchr(reply + pos, '\n', len - pos);
		size_t e = nl ? (size_t)(nl - reply) : len;
		const char *s = reply + pos;
		size_t n = e - pos;
		if (n >= 8 && strncasecmp(s, "* SEARCH", 8) == 0) {
			size_t i = 8;
			while (i < n && got < max) {
				while (i < n && s[i] == ' ')
					i++;
				uint32_t u;
				if (!parse_u32(s, n, &i, &u))
					break;
				if (u > after)
					out[got++] = u;
			}
		}
		pos = e + 1;
	}
	return got;
}

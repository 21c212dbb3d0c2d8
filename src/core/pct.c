/* pct: see pct.h. */
#include "core/pct.h"

int mm_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Runs of plain bytes are appended in one call: the text may be large
 * (a journal cursor, a consumer's whole saved state). */
static bool query_needs(unsigned char c)
{
	return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		 c == '-' || c == '.' || c == '_' || c == '~');
}

static bool state_needs(unsigned char c)
{
	return mm_pct_needs(c);
}

/* Runs of bytes needs() lets through are copied whole; the rest become
 * %XX. */
static void encode(struct mm_strbuf *b, const char *s, size_t n, bool (*needs)(unsigned char))
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		const unsigned char *run = p;
		while (p < end && !needs(*p))
			p++;
		if (p > run)
			mm_strbuf_add(b, run, (size_t)(p - run));
		if (p < end) {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			mm_strbuf_add(b, e, 3);
			p++;
		}
	}
}

void mm_pct_encode(struct mm_strbuf *b, const char *s, size_t n)
{
	encode(b, s, n, state_needs);
}

void mm_pct_encode_query(struct mm_strbuf *b, const char *s, size_t n)
{
	encode(b, s, n, query_needs);
}

ssize_t mm_pct_decode(const char *s, size_t n, char *out, size_t cap, unsigned flags)
{
	if (flags & MM_PCT_NO_CTL)
		flags |= MM_PCT_NO_NUL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int hi = i + 2 < n ? mm_hexval((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? mm_hexval((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			if (c == 0 && (flags & MM_PCT_NO_NUL))
				return -1;
		} else if ((flags & MM_PCT_STRICT) && mm_pct_needs(c)) {
			return -1;
		}
		if ((flags & MM_PCT_NO_CTL) && (c < 0x20 || c == 0x7f))
			return -1;
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	if (cap == 0)
		return -1;
	out[o] = '\0';
	return (ssize_t)o;
}

/*
 * utf8: validation after RFC 3629's table of well-formed sequences
 * (see utf8.h).
 */
#include "core/utf8.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

size_t mm_utf8_seq(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

bool mm_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t k = mm_utf8_seq(p + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

size_t mm_utf8_clean(const char *src, char *dst, size_t cap, size_t limit)
{
	if (cap == 0)
		return 0;
	if (limit > cap - 1)
		limit = cap - 1;
	const unsigned char *p = (const unsigned char *)src;
	size_t n = strlen(src), i = 0, o = 0;
	while (i < n) {
		size_t k = mm_utf8_seq(p + i, n - i);
		const char *put;
		size_t plen;
		if (k == 0) {
			put = "\xef\xbf\xbd";
			plen = 3;
			k = 1;
		} else if (k == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
			put = "?";
			plen = 1;
		} else {
			put = (const char *)p + i;
			plen = k;
		}
		if (o + plen > limit)
			break;
		memcpy(dst + o, put, plen);
		o += plen;
		i += k;
	}
	dst[o] = '\0';
	return o;
}

bool mm_text_clean(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return mm_utf8_valid(s, n);
}

json_t *mm_json_text(const char *s)
{
	if (!s)
		return json_null();
	size_t n = strlen(s);
	if (mm_utf8_valid(s, n))
		return json_stringn(s, n);
	char *out = xmalloc(n * 3 + 1); /* each bad byte: U+FFFD, 3 bytes */
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t k = mm_utf8_seq(p + i, n - i);
		if (k) {
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	json_t *j = json_stringn(out, o);
	free(out);
	return j;
}

/* strutil: see strutil.h. */
#include "core/strutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

size_t mm_edit_distance(const char *a, const char *b, size_t cap)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return cap + 1;
	size_t diff = la > lb ? la - lb : lb - la;
	if (diff > cap)
		return cap + 1;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb] > cap ? cap + 1 : row[lb];
}

size_t mm_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t len = strlen(src);
	if (cap) {
		size_t n = len < cap - 1 ? len : cap - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

char *mm_trim(char *s)
{
	char *p = s;
	while (isspace((unsigned char)*p))
		p++;
	size_t len = strlen(p);
	while (len && isspace((unsigned char)p[len - 1]))
		len--;
	memmove(s, p, len);
	s[len] = '\0';
	return s;
}

const char *mm_memfind(const char *hay, size_t hn, const char *needle, size_t nn)
{
	if (nn == 0)
		return hay;
	if (!hay || hn < nn)
		return NULL;
	const char *p = hay, *last = hay + (hn - nn);
	while (p <= last) {
		p = memchr(p, needle[0], (size_t)(last - p) + 1);
		if (!p)
			return NULL;
		if (memcmp(p + 1, needle + 1, nn - 1) == 0)
			return p;
		p++;
	}
	return NULL;
}

const char *mm_fmt_count(double x, char *buf, size_t cap)
{
	char raw[32];
	snprintf(raw, sizeof raw, "%.0f", x < 0 ? 0 : x);
	size_t n = strlen(raw), o = 0;
	for (size_t i = 0; i < n && o + 2 < cap; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
	return buf;
}

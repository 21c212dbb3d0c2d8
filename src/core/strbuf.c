/*
 * strbuf: see strbuf.h. Heap buffers grow by doubling (xgrow) but never
 * past max + 1 bytes; printf formats straight into the free room and
 * retries once with the exact size, so long values are never cut by a
 * scratch buffer.
 */
#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define NO_CAP ((size_t)-1 / 4)
#define FIRST_ALLOC 64

void mm_strbuf_init(struct mm_strbuf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max && max < NO_CAP ? max : NO_CAP;
	b->cap = b->max + 1 < FIRST_ALLOC ? b->max + 1 : FIRST_ALLOC;
	b->p = xmalloc(b->cap);
	b->p[0] = '\0';
}

void mm_strbuf_fixed(struct mm_strbuf *b, char *buf, size_t size)
{
	memset(b, 0, sizeof *b);
	b->fixed = true;
	if (size == 0)
		return; /* holds nothing: every byte is dropped */
	b->p = buf;
	b->cap = size;
	b->max = size - 1;
	buf[0] = '\0';
}

/* Makes room for up to want more bytes where the cap allows; returns how
 * many of them fit. */
static size_t room_for(struct mm_strbuf *b, size_t want)
{
	size_t fit = b->max - b->len;
	if (want < fit)
		fit = want;
	if (!b->fixed && b->len + fit + 1 > b->cap) {
		size_t cap = b->cap;
		b->p = xgrow(b->p, &cap, b->len + fit + 1, 1);
		b->cap = cap > b->max + 1 ? b->max + 1 : cap;
	}
	return fit;
}

void mm_strbuf_add(struct mm_strbuf *b, const void *s, size_t n)
{
	size_t fit = room_for(b, n);
	if (fit) {
		memcpy(b->p + b->len, s, fit);
		b->len += fit;
		b->p[b->len] = '\0';
	}
	b->dropped += n - fit;
}

void mm_strbuf_adds(struct mm_strbuf *b, const char *s)
{
	mm_strbuf_add(b, s, strlen(s));
}

void mm_strbuf_addc(struct mm_strbuf *b, char c)
{
	mm_strbuf_add(b, &c, 1);
}

void mm_strbuf_printf(struct mm_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	/* First try in the room already there: one vsnprintf in most calls. */
	size_t avail = b->cap - b->len; /* >= 1 when cap > 0: the NUL's byte */
	va_start(ap, fmt);
	int n = b->cap ? vsnprintf(b->p + b->len, avail, fmt, ap) : vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (b->cap)
			b->p[b->len] = '\0';
		return;
	}
	size_t want = (size_t)n;
	if (b->cap && want < avail) {
		b->len += want;
		return;
	}
	if (b->cap)
		b->p[b->len] = '\0'; /* drop the partial write */
	size_t fit = room_for(b, want);
	if (fit == want) {
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, fit + 1, fmt, ap);
		va_end(ap);
	} else if (fit) {
		/* Cut at the cap: vsnprintf writes the head and the NUL. */
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, fit + 1, fmt, ap);
		va_end(ap);
	}
	b->len += fit;
	b->dropped += want - fit;
}

void mm_strbuf_reset(struct mm_strbuf *b)
{
	b->len = 0;
	b->dropped = 0;
	if (b->cap)
		b->p[0] = '\0';
}

char *mm_strbuf_steal(struct mm_strbuf *b, size_t *len)
{
	if (len)
		*len = b->len;
	if (b->fixed) {
		char *s = xstrndup(b->cap ? b->p : "", b->len);
		mm_strbuf_reset(b);
		return s;
	}
	char *s = b->p;
	memset(b, 0, sizeof *b);
	return s;
}

void mm_strbuf_free(struct mm_strbuf *b)
{
	if (!b->fixed)
		free(b->p);
	memset(b, 0, sizeof *b);
}

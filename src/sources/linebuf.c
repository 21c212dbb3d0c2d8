/*
 * linebuf: see linebuf.h.
 *
 * The buffer holds chunk + line_max + 2 bytes. After mm_linebuf_next()
 * returns 0 at most line_max + 1 bytes are pending (a longer unfinished
 * line is cut there and the rest dropped as it arrives), so a compaction
 * always frees at least one chunk for the next read. `scanned` remembers
 * how far the pending line was searched, so a long line arriving in small
 * pieces is scanned once, not once per piece.
 */
#include "sources/linebuf.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void mm_linebuf_init(struct mm_linebuf *lb, size_t chunk, size_t line_max)
{
	memset(lb, 0, sizeof *lb);
	if (chunk < 4096)
		chunk = 4096;
	if (line_max < 16)
		line_max = 16;
	lb->line_max = line_max;
	lb->size = chunk + line_max + 2;
	lb->buf = xmalloc(lb->size);
}

void mm_linebuf_free(struct mm_linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->size = 0;
}

void mm_linebuf_reset(struct mm_linebuf *lb, uint64_t offset)
{
	lb->start = lb->end = lb->scanned = 0;
	lb->dropping = false;
	lb->dropped = 0;
	lb->consumed = offset;
	lb->last_raw = 0;
}

void mm_linebuf_space(struct mm_linebuf *lb, char **p, size_t *n)
{
	if (lb->start > 0 && (lb->start == lb->end || lb->size - lb->end < lb->size / 2)) {
		size_t pend = lb->end - lb->start;
		memmove(lb->buf, lb->buf + lb->start, pend);
		lb->scanned -= lb->start;
		lb->start = 0;
		lb->end = pend;
	}
	*p = lb->buf + lb->end;
	*n = lb->size - lb->end;
}

void mm_linebuf_commit(struct mm_linebuf *lb, size_t n)
{
	lb->end += n;
}

size_t mm_linebuf_pending(const struct mm_linebuf *lb)
{
	return lb->end - lb->start;
}

/* Hands out buf[start..start+len) (len before CR strip and cap) as the
 * current line, raw bytes in the stream being raw. */
static void take(struct mm_linebuf *lb, size_t len, uint64_t raw, const char **line,
		 size_t *outlen)
{
	const char *p = lb->buf + lb->start;
	if (!lb->dropping && len > 0 && p[len - 1] == '\r')
		len--;
	if (lb->dropping || len > lb->line_max) {
		len = lb->line_max;
		lb->st.capped++;
	}
	*line = p;
	*outlen = len;
	lb->consumed += raw;
	lb->last_raw = raw;
	lb->st.bytes += raw;
	lb->st.lines++;
	lb->dropping = false;
	lb->dropped = 0;
}

int mm_linebuf_next(struct mm_linebuf *lb, const char **line, size_t *len)
{
	size_t from = lb->scanned > lb->start ? lb->scanned : lb->start;
	char *nl = from < lb->end ? memchr(lb->buf + from, '\n', lb->end - from) : NULL;
	if (!nl) {
		size_t keep = lb->line_max + 1;
		if (lb->end - lb->start > keep) {
			lb->dropping = true;
			lb->dropped += lb->end - lb->start - keep;
			lb->end = lb->start + keep;
		}
		lb->scanned = lb->end;
		return 0;
	}
	size_t i = (size_t)(nl - lb->buf);
	size_t l = i - lb->start;
	take(lb, l, (uint64_t)l + 1 + lb->dropped, line, len);
	lb->start = lb->scanned = i + 1;
	return 1;
}

int mm_linebuf_flush(struct mm_linebuf *lb, const char **line, size_t *len)
{
	if (lb->start == lb->end && !lb->dropping)
		return 0;
	size_t l = lb->end - lb->start;
	take(lb, l, (uint64_t)l + lb->dropped, line, len);
	lb->st.unterminated++;
	lb->start = lb->scanned = lb->end;
	return 1;
}

void mm_line_normalize(const char *raw, size_t rawlen, size_t line_max, size_t *outlen)
{
	if (rawlen > 0 && raw[rawlen - 1] == '\n')
		rawlen--;
	if (rawlen > 0 && raw[rawlen - 1] == '\r' && rawlen <= line_max + 1)
		rawlen--;
	*outlen = rawlen > line_max ? line_max : rawlen;
}

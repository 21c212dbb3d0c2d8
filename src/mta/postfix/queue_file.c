/*
 * queue_file: see queue_file.h. The record walk follows qshape's qenv()
 * and qmgr_message_read(): a cleanup file starts 'C' then 'T'; the content
 * between 'M' and 'X' is skipped using the 'C' length (or record by record
 * when there is none); 'p' records move the read position.
 */
#include "mta/postfix/queue_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xalloc.h"

ssize_t mm_pf_mem_read_at(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct mm_pf_mem *m = ctx;
	if (off >= m->len)
		return 0;
	size_t n = m->len - (size_t)off < len ? m->len - (size_t)off : len;
	memcpy(buf, m->data + off, n);
	return (ssize_t)n;
}

ssize_t mm_pf_fd_read_at(void *ctx, uint64_t off, void *buf, size_t len)
{
	ssize_t r;
	do
		r = pread(*(int *)ctx, buf, len, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Copies len bytes at off into dst through the window. Returns bytes
 * copied (short at end of file) or -1. */
static ssize_t get(const struct mm_pf_src *src, struct mm_pf_qfile *q, uint64_t off,
		   void *dst, size_t len)
{
	size_t done = 0;
	while (done < len) {
		uint64_t at = off + done;
		if (at < q->win_off || at >= q->win_off + q->win_len) {
			ssize_t r = src->read_at(src->ctx, at, q->win, sizeof q->win);
			if (r < 0)
				return -1;
			q->win_off = at;
			q->win_len = (size_t)r;
			if (r == 0)
				break;
		}
		size_t in = (size_t)(q->win_off + q->win_len - at);
		size_t take = len - done < in ? len - done : in;
		memcpy((unsigned char *)dst + done, q->win + (at - q->win_off), take);
		done += take;
	}
	return (ssize_t)done;
}

static enum mm_pf_status fail(struct mm_pf_qfile *q, enum mm_pf_status st, uint64_t off,
			      const char *what)
{
	q->status = st;
	snprintf(q->problem, sizeof q->problem, "%s at offset %llu", what,
		 (unsigned long long)off);
	return st;
}

/* Reads the record header at *off: type and length; *off moves to the
 * data. Returns 1, 0 at a clean end of file, -1 truncated, -2 I/O. */
static int rec_head(const struct mm_pf_src *src, struct mm_pf_qfile *q, uint64_t *off,
		    int *type, uint64_t *len)
{
	unsigned char c;
	ssize_t r = get(src, q, *off, &c, 1);
	if (r < 0)
		return -2;
	if (r == 0)
		return 0;
	*type = c;
	uint64_t l = 0;
	uint64_t at = *off + 1;
	for (unsigned shift = 0;; shift += 7) {
		if (shift > 28)
			return -1; /* Postfix caps record lengths far below 2^35 */
		r = get(src, q, at++, &c, 1);
		if (r < 0)
			return -2;
		if (r == 0)
			return -1;
		l |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
	}
	*off = at;
	*len = l;
	return 1;
}

/* Reads a needed record's data into q->rec, NUL-terminated. */
static int rec_data(const struct mm_pf_src *src, struct mm_pf_qfile *q, uint64_t off,
		    uint64_t len)
{
	if (len > MM_PF_MAX_REC)
		return fail(q, MM_PF_OVERSIZE, off, "record over 64 KiB"), -1;
	if (!q->rec)
		q->rec = xmalloc(MM_PF_MAX_REC + 1);
	ssize_t r = get(src, q, off, q->rec, (size_t)len);
	if (r < 0)
		return fail(q, MM_PF_IOERR, off, "read error"), -1;
	if ((uint64_t)r < len)
		return fail(q, MM_PF_TRUNCATED, off, "truncated record"), -1;
	q->rec[len] = '\0';
	return 0;
}

static size_t keep_str(struct mm_pf_qfile *q, const unsigned char *s, size_t len)
{
	q->buf = xgrow(q->buf, &q->bcap, q->blen + len + 1, 1);
	size_t at = q->blen;
	memcpy(q->buf + at, s, len);
	q->buf[at + len] = '\0';
	/* A NUL inside an address would cut it; keep the cut, it is visible. */
	q->blen += len + 1;
	return at;
}

static int64_t leading_num(const char *s)
{
	while (*s == ' ')
		s++;
	int64_t v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* A pointer record ('p', its data at *off, len bytes) says where reading
 * goes on. Returns 1 with *off moved to its target, 0 for a null pointer
 * (reading goes on after the record), -1 with q->status set (unreadable,
 * or more than MM_PF_MAX_JUMPS jumps: a loop; start is the record's
 * offset, for the message). */
static int follow_ptr(const struct mm_pf_src *src, struct mm_pf_qfile *q, uint64_t *off,
		      uint64_t len, uint64_t start, unsigned *jumps)
{
	if (rec_data(src, q, *off, len) < 0)
		return -1;
	int64_t to = leading_num((char *)q->rec);
	if (to <= 0)
		return 0;
	if (++*jumps > MM_PF_MAX_JUMPS)
		return fail(q, MM_PF_MALFORMED, start, "pointer loop"), -1;
	*off = (uint64_t)to;
	return 1;
}

static void reset(struct mm_pf_qfile *q)
{
	q->arrival = -1;
	q->size = 0;
	q->has_size_rec = q->has_sender = false;
	q->done = q->rcpt_dropped = 0;
	q->status = MM_PF_OK;
	q->problem[0] = '\0';
	q->blen = 0;
	q->nrcpt = 0;
	q->win_off = 0;
	q->win_len = 0;
}

enum mm_pf_status mm_pf_qfile_parse(const struct mm_pf_src *src, struct mm_pf_qfile *q)
{
	reset(q);
	uint64_t off = 0, start, len;
	int64_t dlen = -1;
	unsigned jumps = 0;
	int type, r, nrec = 0;

	for (;;) {
		start = off;
		r = rec_head(src, q, &off, &type, &len);
		if (r == 0)
			return fail(q, MM_PF_TRUNCATED, start, "no end record");
		if (r == -1)
			return fail(q, MM_PF_TRUNCATED, start, "truncated record header");
		if (r == -2)
			return fail(q, MM_PF_IOERR, start, "read error");
		nrec++;
		if (nrec == 1 && type == 'C') {
			if (rec_data(src, q, off, len) < 0)
				return q->status;
			q->has_size_rec = true;
			int64_t v = leading_num((char *)q->rec);
			if (v < 0)
				return fail(q, MM_PF_MALFORMED, start, "bad size record");
			dlen = v;
			q->size = (uint64_t)v;
		} else if (nrec == 1 && !strchr("TSFA", type)) {
			return fail(q, MM_PF_MALFORMED, start, "not a queue file");
		} else if (nrec == 2 && q->has_size_rec && type != 'T') {
			return fail(q, MM_PF_MALFORMED, start, "no time record after size");
		}
		switch (type) {
		case 'T':
			if (rec_data(src, q, off, len) < 0)
				return q->status;
			if (q->arrival < 0)
				q->arrival = leading_num((char *)q->rec);
			break;
		case 'S':
			if (rec_data(src, q, off, len) < 0)
				return q->status;
			q->sender_off = keep_str(q, q->rec, len);
			q->has_sender = true;
			break;
		case 'R':
			if (rec_data(src, q, off, len) < 0)
				return q->status;
			if (q->nrcpt >= MM_PF_MAX_RCPT) {
				q->rcpt_dropped++;
				break;
			}
			q->rcpt_off = xgrow(q->rcpt_off, &q->rcap, q->nrcpt + 1, sizeof *q->rcpt_off);
			q->rcpt_off[q->nrcpt++] = keep_str(q, q->rec, len);
			break;
		case 'D':
		case '@':
			q->done++;
			break;
		case 'p': {
			int jumped = follow_ptr(src, q, &off, len, start, &jumps);
			if (jumped < 0)
				return q->status;
			if (jumped)
				continue;
			break;
		}
		case 'M':
			if (!q->has_sender)
				return fail(q, MM_PF_MALFORMED, start, "content before sender");
			off += len;
			if (dlen >= 0) {
				off += (uint64_t)dlen; /* skip the content */
				start = off;
				r = rec_head(src, q, &off, &type, &len);
				if (r == -2)
					return fail(q, MM_PF_IOERR, start, "read error");
				if (r <= 0)
					return fail(q, MM_PF_TRUNCATED, start, "content shorter than its size");
				if (type != 'X')
					return fail(q, MM_PF_MALFORMED, start, "no extracted segment after content");
				off += len;
				continue;
			}
			/* No size record: walk the content records. */
			for (;;) {
				start = off;
				r = rec_head(src, q, &off, &type, &len);
				if (r == -2)
					return fail(q, MM_PF_IOERR, start, "read error");
				if (r <= 0)
					return fail(q, MM_PF_TRUNCATED, start, "content without end");
				if (type == 'p') {
					int jumped = follow_ptr(src, q, &off, len, start, &jumps);
					if (jumped < 0)
						return q->status;
					if (jumped)
						continue;
				} else if (type != 'N' && type != 'L') {
					break;
				}
				off += len;
			}
			if (type == 'E')
				goto end;
			if (type != 'X')
				return fail(q, MM_PF_MALFORMED, start, "unexpected record in content");
			break;
		case 'E':
			goto end;
		default:
			break;
		}
		off += len;
	}
end:
	if (q->has_size_rec && q->arrival < 0)
		return fail(q, MM_PF_MALFORMED, start, "no arrival time");
	if (!q->has_sender)
		return fail(q, MM_PF_MALFORMED, start, "no sender record");
	return MM_PF_OK;
}

void mm_pf_qfile_free(struct mm_pf_qfile *q)
{
	free(q->buf);
	free(q->rcpt_off);
	free(q->rec);
	q->buf = NULL;
	q->rcpt_off = NULL;
	q->rec = NULL;
	q->bcap = q->rcap = q->blen = q->nrcpt = 0;
}

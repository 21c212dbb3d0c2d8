/*
 * psmsg: see psmsg.h. Fields are written one by one in little-endian
 * order: never a struct copied as it lies in memory.
 */
#include "privsep/psmsg.h"

#include <string.h>

static const size_t payload_len[MM_PS__COUNT] = {
	[MM_PS_RUN] = 4 + 4 + MM_PS_NAME,
	[MM_PS_RUN_DONE] = 4 + 4 + 4 + MM_PS_TEXT,
	[MM_PS_QUEUE_OPEN] = 4 + MM_PS_NAME + MM_PS_NAME,
	[MM_PS_QUEUE_DONE] = 4,
	[MM_PS_DISK_RUN] = 4 + 4 + MM_PS_TEXT,
	[MM_PS_QUEUE_LIST] = 4 + MM_PS_NAME + MM_PS_NAME,
	[MM_PS_QUEUE_ENTRY] = MM_PS_NAME + 4 + 8 * 4,
};

size_t mm_ps_payload_len(enum mm_ps_type type)
{
	return type > 0 && type < MM_PS__COUNT ? payload_len[type] : 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A text field: its string, then NULs to the end of the field. */
static void put_text(uint8_t *p, const char *s, size_t field)
{
	size_t n = strnlen(s, field - 1);
	memcpy(p, s, n);
	memset(p + n, 0, field - n);
}

/* Valid when NUL-terminated inside the field, NUL-padded after, and
 * printable ASCII before (names: no '/' at the ends, no "..", only
 * letters, digits and "._-/" when name_chars; NAME_OR_EMPTY also takes
 * an empty name; ABS_PATH: an absolute path without "..", "//" or a
 * trailing '/'). */
enum { FREE_TEXT, NAME, NAME_OR_EMPTY, ABS_PATH };

static int get_text(const uint8_t *p, size_t field, char *out, int kind)
{
	const uint8_t *nul = memchr(p, 0, field);
	if (!nul)
		return -1;
	size_t n = (size_t)(nul - p);
	for (size_t i = n; i < field; i++)
		if (p[i])
			return -1;
	int name_chars = kind == NAME || kind == NAME_OR_EMPTY;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c < 0x20 || c > 0x7e)
			return -1;
		if (name_chars && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
				    c == '/'))
			return -1;
	}
	if (name_chars && !(kind == NAME_OR_EMPTY && n == 0) &&
	    (n == 0 || p[0] == '/' || p[0] == '.' || p[n - 1] == '/' || memmem(p, n, "..", 2) ||
	     memmem(p, n, "//", 2)))
		return -1;
	if (kind == ABS_PATH && (n == 0 || p[0] != '/' || (n > 1 && p[n - 1] == '/') ||
				 memmem(p, n, "/..", 3) || memmem(p, n, "//", 2) ||
				 memmem(p, n, "/./", 3)))
		return -1;
	memcpy(out, p, n + 1);
	return 0;
}

int mm_ps_encode(const struct mm_ps_msg *m, uint8_t *buf, size_t cap)
{
	size_t len = mm_ps_payload_len(m->type);
	if (!len || cap < MM_PS_HDR + len)
		return -1;
	put16(buf, (uint16_t)m->type);
	put16(buf + 2, 0);
	put32(buf + 4, (uint32_t)len);
	uint8_t *p = buf + MM_PS_HDR;
	switch (m->type) {
	case MM_PS_RUN:
		put32(p, m->u.run.id);
		put32(p + 4, m->u.run.index);
		put_text(p + 8, m->u.run.name, MM_PS_NAME);
		break;
	case MM_PS_RUN_DONE:
		put32(p, m->u.run_done.id);
		put32(p + 4, (uint32_t)m->u.run_done.status);
		put32(p + 8, m->u.run_done.ms);
		put_text(p + 12, m->u.run_done.text, MM_PS_TEXT);
		break;
	case MM_PS_QUEUE_DONE:
		put32(p, (uint32_t)m->u.done.err);
		break;
	case MM_PS_QUEUE_OPEN:
	case MM_PS_QUEUE_LIST:
		put32(p, m->u.queue_open.instance);
		put_text(p + 4, m->u.queue_open.queue, MM_PS_NAME);
		put_text(p + 4 + MM_PS_NAME, m->u.queue_open.file, MM_PS_NAME);
		break;
	case MM_PS_DISK_RUN:
		put32(p, m->u.disk_run.id);
		put32(p + 4, m->u.disk_run.lock);
		put_text(p + 8, m->u.disk_run.path, MM_PS_TEXT);
		break;
	case MM_PS_QUEUE_ENTRY:
		put_text(p, m->u.entry.name, MM_PS_NAME);
		put32(p + MM_PS_NAME, m->u.entry.mode);
		put64(p + MM_PS_NAME + 4, m->u.entry.ino);
		put64(p + MM_PS_NAME + 12, m->u.entry.size);
		put64(p + MM_PS_NAME + 20, (uint64_t)m->u.entry.mtime_ns);
		put64(p + MM_PS_NAME + 28, (uint64_t)m->u.entry.ctime_ns);
		break;
	default:
		return -1;
	}
	return (int)(MM_PS_HDR + len);
}

int mm_ps_decode(const uint8_t *buf, size_t n, struct mm_ps_msg *m, size_t *used,
		 struct mm_err *err)
{
	if (n < MM_PS_HDR)
		return 0;
	uint16_t type = get16(buf), reserved = get16(buf + 2);
	uint32_t len = get32(buf + 4);
	size_t want = mm_ps_payload_len((enum mm_ps_type)type);
	if (!want)
		return mm_err_set(err, "privsep: unknown message type %u", type);
	if (reserved)
		return mm_err_set(err, "privsep: message type %u with reserved bits set", type);
	if (len != want)
		return mm_err_set(err, "privsep: message type %u of %u bytes, not %zu", type, len,
				  want);
	if (n < MM_PS_HDR + want)
		return 0;
	memset(m, 0, sizeof *m);
	m->type = (enum mm_ps_type)type;
	const uint8_t *p = buf + MM_PS_HDR;
	int bad = 0;
	switch (m->type) {
	case MM_PS_RUN:
		m->u.run.id = get32(p);
		m->u.run.index = get32(p + 4);
		bad = m->u.run.index > 2 || get_text(p + 8, MM_PS_NAME, m->u.run.name, NAME);
		break;
	case MM_PS_RUN_DONE:
		m->u.run_done.id = get32(p);
		m->u.run_done.status = (int32_t)get32(p + 4);
		m->u.run_done.ms = get32(p + 8);
		bad = get_text(p + 12, MM_PS_TEXT, m->u.run_done.text, FREE_TEXT);
		break;
	case MM_PS_QUEUE_DONE:
		m->u.done.err = (int32_t)get32(p);
		bad = m->u.done.err < 0 || m->u.done.err > 4095;
		break;
	case MM_PS_QUEUE_OPEN:
	case MM_PS_QUEUE_LIST:
		m->u.queue_open.instance = get32(p);
		bad = get_text(p + 4, MM_PS_NAME, m->u.queue_open.queue, NAME) ||
		      strchr(m->u.queue_open.queue, '/') ||
		      get_text(p + 4 + MM_PS_NAME, MM_PS_NAME, m->u.queue_open.file,
			       NAME_OR_EMPTY);
		break;
	case MM_PS_DISK_RUN:
		m->u.disk_run.id = get32(p);
		m->u.disk_run.lock = get32(p + 4);
		bad = m->u.disk_run.lock > 1 ||
		      get_text(p + 8, MM_PS_TEXT, m->u.disk_run.path, ABS_PATH);
		break;
	case MM_PS_QUEUE_ENTRY:
		bad = get_text(p, MM_PS_NAME, m->u.entry.name, NAME) ||
		      strpbrk(m->u.entry.name, "/._-") != NULL;
		m->u.entry.mode = get32(p + MM_PS_NAME);
		m->u.entry.ino = get64(p + MM_PS_NAME + 4);
		m->u.entry.size = get64(p + MM_PS_NAME + 12);
		m->u.entry.mtime_ns = (int64_t)get64(p + MM_PS_NAME + 20);
		m->u.entry.ctime_ns = (int64_t)get64(p + MM_PS_NAME + 28);
		break;
	default:
		bad = 1;
	}
	if (bad)
		return mm_err_set(err, "privsep: message type %u with a malformed field", type);
	*used = MM_PS_HDR + want;
	return 1;
}

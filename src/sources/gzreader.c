/*
 * gzreader: see gzreader.h.
 *
 * The first read goes straight into the line buffer; when it starts with
 * the gzip magic (1f 8b) those bytes move to the compressed-input buffer
 * and zlib's inflate (windowBits 15 + 16: gzip only) fills the line buffer
 * from then on. After the end of one gzip member, more input is the next
 * member (inflateReset); input that ends inside a member is an error
 * reported after every complete line before it has been delivered.
 */
#include "sources/gzreader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/xalloc.h"

#define CHUNK (1u << 20)
#define ZIN (256u << 10)

struct mm_linereader {
	char *name;
	int fd;
	bool own_fd;
	bool gz, eof, failed;
	bool in_member; /* inside a gzip member: EOF now is truncation */
	z_stream zs;
	unsigned char *zin;
	size_t zin_size;
	struct mm_linebuf lb;
	struct mm_err err;
};

struct mm_linereader *mm_linereader_open(const char *path, struct mm_err *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		mm_err_sys(err, errno, "%s", path);
		return NULL;
	}
	struct mm_linereader *r = xcalloc(1, sizeof *r);
	r->name = xstrdup(is_stdin ? "stdin" : path);
	r->fd = fd;
	r->own_fd = !is_stdin;
	mm_linebuf_init(&r->lb, CHUNK, MM_LINE_MAX_DEFAULT);
#ifdef POSIX_FADV_SEQUENTIAL
	if (!is_stdin)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	return r;
}

void mm_linereader_close(struct mm_linereader *r)
{
	if (!r)
		return;
	if (r->gz)
		inflateEnd(&r->zs);
	if (r->own_fd)
		close(r->fd);
	mm_linebuf_free(&r->lb);
	free(r->zin);
	free(r->name);
	free(r);
}

const char *mm_linereader_error(const struct mm_linereader *r)
{
	return r->err.msg;
}

const struct mm_line_stats *mm_linereader_stats(const struct mm_linereader *r)
{
	return &r->lb.st;
}

bool mm_linereader_is_gzip(const struct mm_linereader *r)
{
	return r->gz;
}

static void fail(struct mm_linereader *r, int e, const char *what)
{
	if (e)
		mm_err_sys(&r->err, e, "%s: %s", r->name, what);
	else
		mm_err_set(&r->err, "%s: %s", r->name, what);
	r->failed = true;
	r->eof = true;
}

static ssize_t read_some(int fd, void *p, size_t n)
{
	for (;;) {
		ssize_t got = read(fd, p, n);
		if (got >= 0 || errno != EINTR)
			return got;
	}
}

/* Switches to gzip mode with the n bytes already read at p. */
static void start_gzip(struct mm_linereader *r, const char *p, size_t n)
{
	r->zin_size = n > ZIN ? n : ZIN;
	r->zin = xmalloc(r->zin_size);
	memcpy(r->zin, p, n);
	memset(&r->zs, 0, sizeof r->zs);
	if (inflateInit2(&r->zs, 15 + 16) != Z_OK) {
		fail(r, 0, "cannot start zlib");
		return;
	}
	r->gz = true;
	r->in_member = true;
	r->zs.next_in = r->zin;
	r->zs.avail_in = (uInt)n;
}

/* Inflates into the line buffer until some output or the end. */
static void fill_gzip(struct mm_linereader *r)
{
	char *p;
	size_t n;
	mm_linebuf_space(&r->lb, &p, &n);
	r->zs.next_out = (unsigned char *)p;
	r->zs.avail_out = (uInt)n;
	while (r->zs.avail_out == n) {
		if (r->zs.avail_in == 0) {
			ssize_t got = read_some(r->fd, r->zin, r->zin_size);
			if (got < 0) {
				fail(r, errno, "read error");
				return;
			}
			if (got == 0) {
				if (r->in_member)
					fail(r, 0, "unexpected end of gzip data (file cut short?)");
				r->eof = true;
				return;
			}
			r->zs.next_in = r->zin;
			r->zs.avail_in = (uInt)got;
		}
		if (!r->in_member) {
			inflateReset(&r->zs); /* the next concatenated member */
			r->in_member = true;
		}
		int z = inflate(&r->zs, Z_NO_FLUSH);
		if (z == Z_STREAM_END) {
			r->in_member = false;
		} else if (z != Z_OK && !(z == Z_BUF_ERROR && r->zs.avail_in == 0)) {
			char what[160];
			snprintf(what, sizeof what, "damaged gzip data (%s)",
				 r->zs.msg ? r->zs.msg : "zlib error");
			fail(r, 0, what);
			break;
		}
	}
	mm_linebuf_commit(&r->lb, n - r->zs.avail_out);
}

static void fill(struct mm_linereader *r)
{
	if (r->gz) {
		fill_gzip(r);
		return;
	}
	char *p;
	size_t n;
	mm_linebuf_space(&r->lb, &p, &n);
	ssize_t got = read_some(r->fd, p, n);
	if (got < 0) {
		fail(r, errno, "read error");
		return;
	}
	if (got == 0) {
		r->eof = true;
		return;
	}
	/* The very first bytes decide: gzip magic or plain text. */
	if (r->lb.st.bytes == 0 && r->lb.end == 0 && got >= 2 && (unsigned char)p[0] == 0x1f &&
	    (unsigned char)p[1] == 0x8b) {
		start_gzip(r, p, (size_t)got);
		return;
	}
	mm_linebuf_commit(&r->lb, (size_t)got);
}

int mm_linereader_next(struct mm_linereader *r, const char **line, size_t *len)
{
	for (;;) {
		if (mm_linebuf_next(&r->lb, line, len))
			return 1;
		if (r->eof)
			break;
		fill(r);
	}
	if (mm_linebuf_flush(&r->lb, line, len))
		return 1;
	return r->failed ? -1 : 0;
}

uint64_t mm_linereader_offset(const struct mm_linereader *r, uint64_t *last_raw)
{
	if (last_raw)
		*last_raw = r->lb.last_raw;
	return r->lb.consumed;
}

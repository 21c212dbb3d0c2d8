/*
 * linebuf: splits a byte stream into lines, with the line rules every log
 * source shares (file tailer, journal, one-shot reader).
 *
 *   - A line ends at '\n'; one '\r' before it is stripped (CRLF).
 *   - A line longer than line_max bytes (after the CR strip) is capped:
 *     its first line_max bytes are delivered when its newline arrives,
 *     the rest is dropped and the line is counted in `capped`. Memory
 *     stays bounded by the buffer, whatever the input.
 *   - NUL bytes and invalid UTF-8 are delivered as they are.
 *   - The last line of a stream without a newline is held until its
 *     newline arrives, or handed out by mm_linebuf_flush() at a real end
 *     (EOF of a rotated file, end of a one-shot read).
 *
 * Usage (pull, no copy per line, no allocation per line):
 *     mm_linebuf_space(lb, &p, &n);  read(fd, p, n) -> got;
 *     mm_linebuf_commit(lb, got);
 *     while (mm_linebuf_next(lb, &line, &len)) use(line, len);
 * A line pointer is valid until the next space/commit/flush/reset call.
 *
 * `consumed` counts stream bytes up to the end of the last delivered line
 * (newline included, dropped bytes included): that is the resume offset.
 *
 * Ownership: the linebuf owns its buffer; free with mm_linebuf_free().
 * Errors: none; OOM is fatal (xalloc).
 */
#ifndef MAILMON_SOURCES_LINEBUF_H
#define MAILMON_SOURCES_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MM_LINE_MAX_DEFAULT (64 * 1024)

struct mm_line_stats {
	uint64_t lines;	    /* lines delivered */
	uint64_t capped;    /* lines longer than line_max, delivered cut */
	uint64_t unterminated; /* last lines delivered by flush, no newline */
	uint64_t bytes;	    /* stream bytes consumed */
};

struct mm_linebuf {
	char *buf;
	size_t size;	     /* allocated */
	size_t start, end;   /* pending bytes are buf[start..end) */
	size_t scanned;	     /* buf[start..scanned) holds no newline */
	size_t line_max;
	bool dropping;	     /* current line passed line_max */
	uint64_t dropped;    /* bytes dropped from the current line */
	uint64_t consumed;   /* stream offset after the last delivered line */
	uint64_t last_raw;   /* raw length of the last delivered line */
	struct mm_line_stats st;
};

/* chunk: preferred read size (the buffer is chunk + line_max). */
void mm_linebuf_init(struct mm_linebuf *lb, size_t chunk, size_t line_max);
void mm_linebuf_free(struct mm_linebuf *lb);
/* Forgets pending bytes and sets consumed to offset (after a seek). */
void mm_linebuf_reset(struct mm_linebuf *lb, uint64_t offset);
/* Where the next read goes; *n >= 1. */
void mm_linebuf_space(struct mm_linebuf *lb, char **p, size_t *n);
void mm_linebuf_commit(struct mm_linebuf *lb, size_t n);
/* 1 with the next complete line, 0 when more input is needed. */
int mm_linebuf_next(struct mm_linebuf *lb, const char **line, size_t *len);
/* 1 with the pending unterminated line (end of stream), else 0. */
int mm_linebuf_flush(struct mm_linebuf *lb, const char **line, size_t *len);
/* Bytes held for an unfinished line. */
size_t mm_linebuf_pending(const struct mm_linebuf *lb);

/* The delivered form of a raw line (newline at the end optional): what
 * mm_linebuf_next would hand out. Used to check a saved line hash. */
void mm_line_normalize(const char *raw, size_t rawlen, size_t line_max,
		       size_t *outlen);

#endif

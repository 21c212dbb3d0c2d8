/*
 * gzreader: one-shot, fast, line-by-line reading of a whole log file:
 * plain, gzip-compressed (zlib; also concatenated members, as logrotate
 * and `cat a.gz b.gz` make) or "-" for standard input. Compression is
 * recognised by the gzip magic bytes, not the name, so a compressed
 * stdin or a misnamed file also works. For `mailmon logstat FILE...`.
 *
 * Lines follow the rules of linebuf.h: '\n' ends a line, one '\r' before
 * it is stripped, a line over 64 KiB is cut (counted in stats.capped),
 * NUL bytes and invalid UTF-8 pass through, and a last line without a
 * newline is still delivered (counted in stats.unterminated).
 *
 * Speed: one 1 MiB buffer, memchr to find newlines, no copy and no
 * allocation per line; the line points into the reader's buffer and is
 * valid until the next call.
 *
 *     struct mm_err err;
 *     struct mm_linereader *r = mm_linereader_open(path, &err);
 *     if (!r) fail(err.msg);
 *     const char *line; size_t len; int rc;
 *     while ((rc = mm_linereader_next(r, &line, &len)) > 0) use(line, len);
 *     if (rc < 0) fail(mm_linereader_error(r));  // lines before it were good
 *     mm_linereader_close(r);
 *
 * Errors (unreadable file, damaged or cut-short gzip data) are returned,
 * never printed; the message names the file. Ownership: the reader owns
 * its buffers and its fd (but never closes standard input).
 */
#ifndef MAILMON_SOURCES_GZREADER_H
#define MAILMON_SOURCES_GZREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "sources/linebuf.h"

struct mm_linereader;

/* path "-" reads standard input. NULL with err when it cannot be opened. */
struct mm_linereader *mm_linereader_open(const char *path, struct mm_err *err);
/* 1 with the next line, 0 at the end, -1 on an error (see below). */
int mm_linereader_next(struct mm_linereader *r, const char **line, size_t *len);
/* The message for a -1 from next ("FILE: unexpected end of gzip data"). */
const char *mm_linereader_error(const struct mm_linereader *r);
/* lines, capped, unterminated, bytes (uncompressed). */
const struct mm_line_stats *mm_linereader_stats(const struct mm_linereader *r);
/* The uncompressed stream offset just after the last line returned, and
 * that line's raw length (newline included): a position in the file's
 * text, as the tailer saves it. */
uint64_t mm_linereader_offset(const struct mm_linereader *r, uint64_t *last_raw);
/* Known after the first mm_linereader_next(). */
bool mm_linereader_is_gzip(const struct mm_linereader *r);
void mm_linereader_close(struct mm_linereader *r);

#endif

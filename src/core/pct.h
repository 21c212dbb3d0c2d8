/*
 * pct: the one %XX escape, for text fields in mailmon's saved state files
 * and for the user and password parts of probe URLs.
 *
 *   mm_pct_needs(c)                 whether the encoder escapes byte c:
 *                                   control bytes, space, '%', DEL and
 *                                   every byte >= 0x80
 *   mm_pct_encode(b, s, n)          appends s[0..n) to b, escaped
 *   mm_pct_encode_query(b, s, n)    the same for a URL query value: every
 *                                   byte but RFC 3986's unreserved ones
 *                                   (A-Z a-z 0-9 - . _ ~) is escaped
 *   mm_pct_decode(s, n, out, cap, flags)
 *                                   decodes s[0..n) into out (cap bytes,
 *                                   NUL included); out may be s itself
 *                                   (decoding never writes ahead of the
 *                                   read position). Returns the decoded
 *                                   length, or -1 when a '%' is not
 *                                   followed by two hex digits, the
 *                                   result does not fit, or a byte is
 *                                   refused by flags.
 *   mm_hexval(c)                    0..15 for a hex digit, else -1
 *
 * Flags for the decoder:
 *   MM_PCT_STRICT  refuse raw bytes the encoder would have escaped (a
 *                  saved file read back must be exactly what we wrote)
 *   MM_PCT_NO_NUL  refuse %00 (the result is used as a C string)
 *   MM_PCT_NO_CTL  refuse decoded control bytes and DEL (credentials
 *                  written to a protocol line); implies MM_PCT_NO_NUL
 *
 * Ownership: nothing is kept.
 */
#ifndef MAILMON_CORE_PCT_H
#define MAILMON_CORE_PCT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/strbuf.h"

enum {
	MM_PCT_STRICT = 1 << 0,
	MM_PCT_NO_NUL = 1 << 1,
	MM_PCT_NO_CTL = 1 << 2,
};

static inline bool mm_pct_needs(unsigned char c)
{
	return c <= 0x20 || c == '%' || c >= 0x7f;
}

int mm_hexval(unsigned char c);
void mm_pct_encode(struct mm_strbuf *b, const char *s, size_t n);
void mm_pct_encode_query(struct mm_strbuf *b, const char *s, size_t n);
ssize_t mm_pct_decode(const char *s, size_t n, char *out, size_t cap, unsigned flags);

#endif

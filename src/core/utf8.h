/*
 * utf8: checking and cleaning outside text (log fields, HTTP input, label
 * values) so every output that must be UTF-8 (JSON, Prometheus text) can
 * take it as it is.
 *
 *   mm_utf8_valid(s, n)                  true when s[0..n) is UTF-8
 *   mm_utf8_clean(src, dst, cap, limit)  copies src into dst, each invalid
 *        byte replaced by U+FFFD, control bytes (< 0x20, 0x7f) by '?', cut
 *        at a character boundary to at most limit bytes (and cap - 1)
 *
 * Overlong forms, surrogates and code points past U+10FFFF are invalid,
 * as RFC 3629 says. No allocation; nothing is kept.
 */
#ifndef MAILMON_CORE_UTF8_H
#define MAILMON_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool mm_utf8_valid(const char *s, size_t n);
/* Returns the bytes written (dst is always NUL-terminated when cap > 0). */
size_t mm_utf8_clean(const char *src, char *dst, size_t cap, size_t limit);
/* Length of the valid UTF-8 sequence at s (1..4), or 0 when s[0..n) does
 * not start with one. */
size_t mm_utf8_seq(const unsigned char *s, size_t n);

#endif

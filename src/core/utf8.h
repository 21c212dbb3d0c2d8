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
 *   mm_text_clean(s, n)   valid UTF-8 without NUL, C0 controls (tab
 *        allowed) or DEL: what an HTTP target, query or header may hold
 *   mm_json_text(s)       a JSON string of s for jansson, which refuses
 *        invalid UTF-8 (json_string returns NULL, json_pack fails): each
 *        invalid byte becomes U+FFFD; NULL s gives JSON null. Every string
 *        from outside goes into JSON through it. Aborts only on OOM.
 *
 * Overlong forms, surrogates and code points past U+10FFFF are invalid,
 * as RFC 3629 says. Nothing is kept.
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
bool mm_text_clean(const char *s, size_t n);
typedef struct json_t json_t;
json_t *mm_json_text(const char *s);

#endif

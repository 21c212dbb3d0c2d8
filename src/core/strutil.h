/*
 * strutil: small string helpers with no mail knowledge.
 */
#ifndef MAILMON_CORE_STRUTIL_H
#define MAILMON_CORE_STRUTIL_H

#include <stddef.h>

/* Edit distance between a and b, capped at cap+1 (cheap for long strings). */
size_t mm_edit_distance(const char *a, const char *b, size_t cap);
/* Copies src into dst (size cap), always NUL-terminated; returns strlen(src). */
size_t mm_strlcpy(char *dst, const char *src, size_t cap);
/* First occurrence of needle[0..nn) in hay[0..hn), or NULL: memchr for
 * the first byte, then a compare. Faster than glibc's memmem on the short
 * texts of a log line, where its set-up dominates. */
const char *mm_memfind(const char *hay, size_t hn, const char *needle, size_t nn);
/* Strips leading and trailing white space in place; returns s. */
char *mm_trim(char *s);
/* A count for people: x rounded to a whole number, negative as 0, with
 * thousands separators (12345 -> "12,345"); cut to fit cap. Returns buf. */
const char *mm_fmt_count(double x, char *buf, size_t cap);

#endif

/*
 * scan: a bounded cursor over one log line, shared by the log grammars
 * (internal to src/parsers; not a public interface).
 *
 * Every helper checks the end pointer: lines may hold NUL bytes, invalid
 * UTF-8 and no terminator, so nothing here calls strlen/strchr. Nothing
 * allocates. Helpers that fail leave the cursor where it was. The one
 * table (character classes) lives in scan.c.
 */
#ifndef MAILMON_PARSERS_SCAN_H
#define MAILMON_PARSERS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "parsers/logevent.h"

/* Lines longer than this are parsed only up to it (an mm_sv length is 32
 * bits; the tailer caps lines far below this anyway). */
#define MM_SCAN_MAX_LINE (1u << 30)

/* A line handed over with its "\n" or "\r\n" still on. */
static inline size_t mm_scan_trim_eol(const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	return len > MM_SCAN_MAX_LINE ? MM_SCAN_MAX_LINE : len;
}

struct sc {
	const char *p;
	const char *e;
};

static inline size_t sc_left(const struct sc *c)
{
	return (size_t)(c->e - c->p);
}

static inline struct mm_sv sv_of(const char *p, const char *e)
{
	struct mm_sv v = {p, (uint32_t)(e - p)};
	return v;
}

static inline bool sv_eq(struct mm_sv v, const char *lit, size_t n)
{
	return v.p != NULL && v.len == n && memcmp(v.p, lit, n) == 0;
}
#define SV_EQ(v, lit) sv_eq((v), (lit), sizeof(lit) - 1)

static inline bool sc_eat(struct sc *c, const char *lit, size_t n)
{
	if (sc_left(c) < n || memcmp(c->p, lit, n) != 0)
		return false;
	c->p += n;
	return true;
}
/* Consumes a string literal when the cursor starts with it. */
#define SC_EAT(c, lit) sc_eat((c), (lit), sizeof(lit) - 1)

static inline bool sc_peek(const struct sc *c, const char *lit, size_t n)
{
	return sc_left(c) >= n && memcmp(c->p, lit, n) == 0;
}
#define SC_PEEK(c, lit) sc_peek((c), (lit), sizeof(lit) - 1)

static inline bool sc_eatc(struct sc *c, char ch)
{
	if (c->p < c->e && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* First ch at or after the cursor, or NULL. */
static inline const char *sc_find(const struct sc *c, char ch)
{
	return c->p < c->e ? memchr(c->p, ch, sc_left(c)) : NULL;
}

/* The first ch in [p, e), or NULL: sixteen bytes at a time with SSE2,
 * else eight (SWAR), never reading outside [p, e). Cheaper than memchr for the short tokens of a
 * log line (no call, no setup). */
static inline const char *mm_scan_to(const char *p, const char *e, char ch)
{
#ifdef __SSE2__
	/* sixteen at a time where SSE2 is there (every x86-64) */
	const __m128i needle = _mm_set1_epi8(ch);
	while (e - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, needle));
		if (m != 0)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	const uint64_t pat = ones * (unsigned char)ch;
	while (e - p >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		w ^= pat;
		uint64_t z = (w - ones) & ~w & highs;
		if (z != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return p + (__builtin_ctzll(z) >> 3);
#else
			break; /* find it bytewise below */
#endif
		}
		p += 8;
	}
	for (; p < e; p++)
		if (*p == ch)
			return p;
	return NULL;
}

/* The first ", " in [p, e), or NULL. */
static inline const char *mm_scan_comma_sp(const char *p, const char *e)
{
	while ((p = mm_scan_to(p, e, ',')) != NULL) {
		if (p + 1 < e && p[1] == ' ')
			return p;
		p++;
	}
	return NULL;
}

/* True when [p, e) holds ch (SWAR, see mm_scan_to). */
static inline bool mm_scan_has(const char *p, const char *e, char ch)
{
	return mm_scan_to(p, e, ch) != NULL;
}

/* Last occurrence of lit[0..n) in [p, e), or NULL. */
static inline const char *mm_memrmem(const char *p, const char *e, const char *lit, size_t n)
{
	if (n == 0 || (size_t)(e - p) < n)
		return NULL;
	for (const char *q = e - n; q >= p; q--) {
		if (*q == lit[0] && memcmp(q, lit, n) == 0)
			return q;
		if (q == p)
			break;
	}
	return NULL;
}

/* First occurrence of lit[0..n) in [p, e), or NULL. */
static inline const char *mm_memmem(const char *p, const char *e, const char *lit, size_t n)
{
	if (n == 0 || e < p || (size_t)(e - p) < n)
		return NULL;
	return memmem(p, (size_t)(e - p), lit, n);
}

/* Takes the text up to the next ch (not consumed); the whole rest when
 * ch does not occur and to_end is set. */
static inline bool sc_until(struct sc *c, char ch, bool to_end, struct mm_sv *out)
{
	const char *q = sc_find(c, ch);
	if (q == NULL) {
		if (!to_end)
			return false;
		q = c->e;
	}
	*out = sv_of(c->p, q);
	c->p = q;
	return true;
}

static inline bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Character classes for the queue-id test, one lookup per byte. */
enum { MM_CC_DIGIT = 1, MM_CC_UPPER = 2, MM_CC_LOWER = 4, MM_CC_HEXUP = 8 };
extern const unsigned char mm_scan_cc[256];

/* Unsigned decimal, at least one digit; saturates instead of overflowing. */
static inline bool sc_u64(struct sc *c, uint64_t *out)
{
	const char *p = c->p;
	uint64_t v = 0;
	while (p < c->e && is_digit(*p)) {
		unsigned d = (unsigned)(*p - '0');
		if (v < UINT64_MAX / 10) /* the common case: no overflow possible */
			v = v * 10 + d;
		else
			v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
		p++;
	}
	if (p == c->p)
		return false;
	c->p = p;
	*out = v;
	return true;
}

static inline bool sc_u32(struct sc *c, uint32_t *out)
{
	uint64_t v;
	if (!sc_u64(c, &v))
		return false;
	*out = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	return true;
}

/* "12", "0.25", "3.1": a non-negative decimal without exponent; at most
 * 9 fraction digits are used (Postfix prints at most 2). */
static inline bool sc_decimal(struct sc *c, double *out)
{
	uint64_t ip = 0;
	struct sc s = *c;
	if (!sc_u64(&s, &ip))
		return false;
	double v = (double)ip;
	if (s.p < s.e && *s.p == '.') {
		/* multiply by 10^-n from a table: a division per number is
		 * measurable at millions of lines per second */
		static const double neg_pow10[10] = {1e0, 1e-1, 1e-2, 1e-3, 1e-4,
						     1e-5, 1e-6, 1e-7, 1e-8, 1e-9};
		s.p++;
		uint64_t frac = 0;
		unsigned n = 0;
		while (s.p < s.e && is_digit(*s.p)) {
			if (n < 9) {
				frac = frac * 10 + (uint64_t)(*s.p - '0');
				n++;
			}
			s.p++;
		}
		v += (double)frac * neg_pow10[n];
	}
	*c = s;
	*out = v;
	return true;
}

#endif

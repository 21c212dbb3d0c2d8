/*
 * strbuf: the one bounded string builder. Every piece of mailmon that
 * assembles text (saved state, event renderings, HTTP bodies, command
 * output) appends to a struct mm_strbuf instead of carrying its own
 * put()/putf() pair.
 *
 *   mm_strbuf_init(b, max)          heap storage, grows as needed up to max
 *                                   bytes of text (0: no cap beyond memory)
 *   mm_strbuf_fixed(b, buf, size)   the caller's array; holds size-1 bytes
 *   mm_strbuf_add(b, s, n)          append n bytes (may contain NUL)
 *   mm_strbuf_adds(b, s)            append a C string
 *   mm_strbuf_addc(b, c)            append one byte
 *   mm_strbuf_printf(b, fmt, ...)   append formatted text, any length
 *   mm_strbuf_reset(b)              empty it, keep the storage
 *   mm_strbuf_steal(b, &len)        hand the heap string to the caller
 *   mm_strbuf_free(b)               release heap storage
 *
 * The text is NUL-terminated after every call (b->p is never NULL between
 * init and free, except for a fixed buffer of size 0). Past the cap, an append keeps what fits and counts the
 * bytes it refused in b->dropped: the cap is a counted event, never an
 * overrun, and b->len + b->dropped is the length the text would have had
 * (so a fixed buffer can report the size it needed, as snprintf does).
 * Out of memory is fatal (xalloc.h).
 *
 * Ownership: a heap buffer owns b->p until mm_strbuf_steal or
 * mm_strbuf_free (after either, init it again to reuse it); a fixed buffer
 * never frees or grows the caller's array. The struct may be copied or
 * moved (it holds no pointer to itself).
 */
#ifndef MAILMON_CORE_STRBUF_H
#define MAILMON_CORE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mm_strbuf {
	char *p;	  /* the text, NUL-terminated */
	size_t len;	  /* bytes of text held */
	size_t cap;	  /* bytes allocated (heap) or the array's size (fixed) */
	size_t max;	  /* most bytes of text it may hold */
	uint64_t dropped; /* bytes refused by max */
	bool fixed;	  /* p is the caller's array */
};

void mm_strbuf_init(struct mm_strbuf *b, size_t max);
void mm_strbuf_fixed(struct mm_strbuf *b, char *buf, size_t size);
void mm_strbuf_add(struct mm_strbuf *b, const void *s, size_t n);
void mm_strbuf_adds(struct mm_strbuf *b, const char *s);
void mm_strbuf_addc(struct mm_strbuf *b, char c);
void mm_strbuf_printf(struct mm_strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mm_strbuf_reset(struct mm_strbuf *b);
/* Returns the text as a heap string the caller frees (a fixed buffer's
 * text is copied and the buffer emptied). len may be NULL. */
char *mm_strbuf_steal(struct mm_strbuf *b, size_t *len);
void mm_strbuf_free(struct mm_strbuf *b);

static inline bool mm_strbuf_truncated(const struct mm_strbuf *b)
{
	return b->dropped != 0;
}

#endif

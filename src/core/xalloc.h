/*
 * xalloc: allocation wrappers for which running out of memory is fatal.
 *
 * mailmon treats out-of-memory as unrecoverable (the daemon would lose
 * counters silently otherwise), while bad input never is. Every allocation
 * in the project goes through these so that policy lives in one place.
 * The caller owns what is returned and frees it with free().
 */
#ifndef MAILMON_CORE_XALLOC_H
#define MAILMON_CORE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows an array of count elements of size to at least want elements;
 * updates *cap. Guards against multiplication overflow. */
void *xgrow(void *p, size_t *cap, size_t want, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Zeroed memory for a large table (hash sets of millions of slots): an
 * anonymous mapping that asks for transparent huge pages, so random probes
 * miss the TLB less. Free with xfree_huge(p, n) (n as allocated). */
void *xcalloc_huge(size_t n);
void xfree_huge(void *p, size_t n);
/* printf into a fresh heap string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/*
 * strpool: reference-counted interned strings.
 *
 * Many records carry the same text (a delay reason is repeated for every
 * message to a dead destination); the pool keeps one copy of each.
 * mm_strpool_get() returns the pool's copy with its count raised;
 * mm_strpool_put() lowers it and frees the copy at zero. Pointers returned
 * are stable until their last put. Not thread-safe: one owner at a time.
 *
 * Ownership: the pool owns every string; mm_strpool_free() releases all.
 */
#ifndef MAILMON_CORE_STRPOOL_H
#define MAILMON_CORE_STRPOOL_H

#include <stddef.h>

struct mm_strpool_ent;

struct mm_strpool {
	struct mm_strpool_ent **tab;
	size_t nbuckets, n;
};

const char *mm_strpool_get(struct mm_strpool *p, const char *s, size_t len);
void mm_strpool_put(struct mm_strpool *p, const char *s);
void mm_strpool_free(struct mm_strpool *p);

#endif

/*
 * kvlist: an ordered list of name/value string pairs, for small parsed
 * outputs (postconf, doveconf) that are read by name a few times.
 *
 *   mm_kvlist_add(l, name, value)   copies both (value may be NULL)
 *   mm_kvlist_get(l, name)          the last value added under name, or NULL
 *   mm_kvlist_free(l)
 *
 * Lookups are linear: the lists hold tens to hundreds of entries. The list
 * owns its strings. Out of memory is fatal (xalloc); nothing else fails.
 */
#ifndef MAILMON_CORE_KVLIST_H
#define MAILMON_CORE_KVLIST_H

#include <stddef.h>

struct mm_kv {
	char *name;
	char *value; /* may be NULL */
};

struct mm_kvlist {
	struct mm_kv *v;
	size_t n, cap;
};

void mm_kvlist_add(struct mm_kvlist *l, const char *name, const char *value);
/* Same with lengths, for names and values cut out of a larger buffer. */
void mm_kvlist_addn(struct mm_kvlist *l, const char *name, size_t nlen,
		    const char *value, size_t vlen);
const char *mm_kvlist_get(const struct mm_kvlist *l, const char *name);
void mm_kvlist_free(struct mm_kvlist *l);

#endif

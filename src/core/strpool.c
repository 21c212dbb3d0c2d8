/*
 * strpool: see strpool.h. Chained hash table (core/hash.h); the string bytes
 * follow the entry header in one allocation, so put() finds its entry from
 * the string pointer alone.
 */
#include "core/strpool.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/xalloc.h"

struct mm_strpool_ent {
	struct mm_strpool_ent *next;
	size_t refs, len;
	uint64_t hash;
	char s[];
};

static void rehash(struct mm_strpool *p, size_t nb)
{
	struct mm_strpool_ent **tab = xcalloc(nb, sizeof *tab);
	for (size_t i = 0; i < p->nbuckets; i++) {
		struct mm_strpool_ent *e = p->tab[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = tab[e->hash % nb];
			tab[e->hash % nb] = e;
		}
	}
	free(p->tab);
	p->tab = tab;
	p->nbuckets = nb;
}

const char *mm_strpool_get(struct mm_strpool *p, const char *s, size_t len)
{
	if (p->nbuckets == 0)
		rehash(p, 64);
	uint64_t h = mm_hash64(s, len);
	for (struct mm_strpool_ent *e = p->tab[h % p->nbuckets]; e; e = e->next)
		if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0) {
			e->refs++;
			return e->s;
		}
	if (p->n >= p->nbuckets)
		rehash(p, p->nbuckets * 2);
	struct mm_strpool_ent *e = xmalloc(sizeof *e + len + 1);
	memcpy(e->s, s, len);
	e->s[len] = '\0';
	e->len = len;
	e->hash = h;
	e->refs = 1;
	e->next = p->tab[h % p->nbuckets];
	p->tab[h % p->nbuckets] = e;
	p->n++;
	return e->s;
}

void mm_strpool_put(struct mm_strpool *p, const char *s)
{
	if (!s)
		return;
	struct mm_strpool_ent *ent = (struct mm_strpool_ent *)(void *)(s - offsetof(struct mm_strpool_ent, s));
	if (--ent->refs > 0)
		return;
	struct mm_strpool_ent **pp = &p->tab[ent->hash % p->nbuckets];
	while (*pp && *pp != ent)
		pp = &(*pp)->next;
	if (*pp)
		*pp = ent->next;
	p->n--;
	free(ent);
}

void mm_strpool_free(struct mm_strpool *p)
{
	for (size_t i = 0; i < p->nbuckets; i++) {
		struct mm_strpool_ent *e = p->tab[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(p->tab);
	p->tab = NULL;
	p->nbuckets = p->n = 0;
}

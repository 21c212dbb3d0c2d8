/* kvlist: see kvlist.h. */
#include "core/kvlist.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void mm_kvlist_addn(struct mm_kvlist *l, const char *name, size_t nlen,
		    const char *value, size_t vlen)
{
	l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n].name = xstrndup(name, nlen);
	l->v[l->n].value = value ? xstrndup(value, vlen) : NULL;
	l->n++;
}

void mm_kvlist_add(struct mm_kvlist *l, const char *name, const char *value)
{
	mm_kvlist_addn(l, name, strlen(name), value, value ? strlen(value) : 0);
}

const char *mm_kvlist_get(const struct mm_kvlist *l, const char *name)
{
	for (size_t i = l->n; i-- > 0;)
		if (strcmp(l->v[i].name, name) == 0)
			return l->v[i].value;
	return NULL;
}

void mm_kvlist_free(struct mm_kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

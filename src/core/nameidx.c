/* nameidx: see nameidx.h. Linear probing over a power-of-two table. */
#include "core/nameidx.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/xalloc.h"

static size_t home(const char *name, size_t nslots)
{
	return (size_t)mm_hash64(name, strlen(name)) & (nslots - 1);
}

void mm_nameidx_reserve(struct mm_nameidx *ix, size_t nrows, size_t min_slots,
			mm_row_name_fn *name_of, const void *rows)
{
	if (nrows * 2 <= ix->nslots)
		return;
	size_t ns = ix->nslots ? ix->nslots : 16;
	while (ns < min_slots || nrows * 2 > ns)
		ns *= 2;
	size_t *slots = xcalloc(ns, sizeof *slots);
	for (size_t i = 0; i + 1 < nrows; i++) {
		size_t h = home(name_of(rows, i), ns);
		while (slots[h])
			h = (h + 1) & (ns - 1);
		slots[h] = i + 1;
	}
	free(ix->slots);
	ix->slots = slots;
	ix->nslots = ns;
}

size_t *mm_nameidx_slot(struct mm_nameidx *ix, const char *name, mm_row_name_fn *name_of,
			const void *rows)
{
	size_t h = home(name, ix->nslots);
	while (ix->slots[h] && strcmp(name_of(rows, ix->slots[h] - 1), name) != 0)
		h = (h + 1) & (ix->nslots - 1);
	return &ix->slots[h];
}

void mm_nameidx_free(struct mm_nameidx *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->nslots = 0;
}

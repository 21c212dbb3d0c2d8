/*
 * filterhop: content-filter hops (see filterhop.h).
 */
#include "logs/filterhop.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/strutil.h"
#include "core/xalloc.h"

#define INDEX_SLOTS (MM_FILTERHOP_RING * 2)

void mm_filterhop_init(struct mm_filterhop *f)
{
	memset(f, 0, sizeof *f);
}

void mm_filterhop_free(struct mm_filterhop *f)
{
	free(f->ring);
	free(f->index);
	memset(f, 0, sizeof *f);
}

bool mm_filterhop_loopback(struct mm_sv ip)
{
	return (ip.len >= 4 && memcmp(ip.p, "127.", 4) == 0) ||
	       (ip.len == 3 && memcmp(ip.p, "::1", 3) == 0);
}

static uint64_t key(struct mm_sv qid)
{
	uint64_t h = mm_hash64(qid.p, qid.len);
	return h ? h : 1;
}

/* Index slot holding h, or the empty slot where it would go. */
static uint32_t find(const struct mm_filterhop *f, uint64_t h)
{
	uint32_t s = (uint32_t)h & (INDEX_SLOTS - 1);
	while (f->index[s] && f->ring[f->index[s] - 1].hash != h)
		s = (s + 1) & (INDEX_SLOTS - 1);
	return s;
}

/* Removes index slot s, shifting later entries of its run back. */
static void unindex(struct mm_filterhop *f, uint32_t s)
{
	f->index[s] = 0;
	uint32_t j = s;
	for (;;) {
		j = (j + 1) & (INDEX_SLOTS - 1);
		if (!f->index[j])
			return;
		uint32_t home = (uint32_t)f->ring[f->index[j] - 1].hash & (INDEX_SLOTS - 1);
		/* move j back to s when its home is not in (s, j] */
		if ((j > s && (home <= s || home > j)) || (j < s && home <= s && home > j)) {
			f->index[s] = f->index[j];
			f->index[j] = 0;
			s = j;
		}
	}
}

void mm_filterhop_received(struct mm_filterhop *f, struct mm_sv qid, int64_t time_ms)
{
	if (!qid.len)
		return;
	if (!f->ring) {
		f->ring = xcalloc(MM_FILTERHOP_RING, sizeof *f->ring);
		f->index = xcalloc(INDEX_SLOTS, sizeof *f->index);
	}
	uint64_t h = key(qid);
	struct mm_filterhop_ent *e = &f->ring[f->next];
	if (e->hash) { /* the oldest arrival leaves the ring */
		unindex(f, find(f, e->hash));
		f->forgotten++;
	}
	uint32_t s = find(f, h);
	if (f->index[s]) { /* the same queue ID again: the older entry goes */
		f->ring[f->index[s] - 1].hash = 0;
		unindex(f, s);
		s = find(f, h);
	}
	e->hash = h;
	e->time_ms = time_ms;
	e->size = 0;
	f->index[s] = f->next + 1;
	f->next = (f->next + 1) % MM_FILTERHOP_RING;
}

void mm_filterhop_size(struct mm_filterhop *f, struct mm_sv qid, uint64_t size)
{
	if (!f->ring || !qid.len)
		return;
	uint32_t s = find(f, key(qid));
	if (f->index[s])
		f->ring[f->index[s] - 1].size = size;
}

bool mm_filterhop_match(struct mm_filterhop *f, struct mm_sv text, int64_t *time_ms,
			uint64_t *size)
{
	if (!f->ring || !text.len)
		return false;
	const char *q = mm_memfind(text.p, text.len, "queued as ", 10);
	if (!q)
		return false;
	const char *p = q + 10, *e = text.p + text.len, *end = p;
	while (end < e && ((*end >= '0' && *end <= '9') || (*end >= 'A' && *end <= 'Z') ||
			   (*end >= 'a' && *end <= 'z')))
		end++;
	if (end == p)
		return false;
	struct mm_sv qid = {p, (uint32_t)(end - p)};
	uint32_t s = find(f, key(qid));
	if (!f->index[s])
		return false;
	struct mm_filterhop_ent *ent = &f->ring[f->index[s] - 1];
	*time_ms = ent->time_ms;
	*size = ent->size;
	ent->hash = 0;
	unindex(f, s);
	return true;
}

/*
 * hash: 8 bytes at a time, multiply-xorshift mixing (see hash.h).
 */
#include "core/hash.h"

#include <string.h>

#define K1 0x9e3779b97f4a7c15ULL
#define K2 0xbf58476d1ce4e5b9ULL
#define K3 0x94d049bb133111ebULL

static uint64_t mix(uint64_t h)
{
	h ^= h >> 30;
	h *= K2;
	h ^= h >> 27;
	h *= K3;
	h ^= h >> 31;
	return h;
}

static uint64_t load64(const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

static uint64_t load32(const unsigned char *p)
{
	uint32_t w;
	memcpy(&w, p, 4);
	return w;
}

/* Log keys are short (queue IDs of 10-12 bytes, domains, addresses): one
 * multiply-xorshift step per 8 bytes, the last 8 (or 4) bytes read with
 * an overlapping load instead of a byte loop, one full mix at the end. */
uint64_t mm_hash64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = K1 ^ (len * K2);
	if (len >= 8) {
		const unsigned char *last = p + len - 8;
		for (; p < last; p += 8) {
			h = (h ^ load64(p)) * K2;
			h ^= h >> 29;
		}
		h = (h ^ load64(last)) * K3;
	} else if (len >= 4) {
		h = (h ^ (load32(p) | load32(p + len - 4) << 32)) * K3;
	} else {
		uint64_t w = 0;
		for (size_t i = 0; i < len; i++)
			w |= (uint64_t)p[i] << (8 * i);
		h = (h ^ w) * K3;
	}
	return mix(h);
}

uint64_t mm_hash64_lower(const void *data, size_t len)
{
	unsigned char buf[256];
	const unsigned char *p = data;
	uint64_t h = K2;
	while (len > 0) {
		size_t n = len < sizeof buf ? len : sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (unsigned char)(p[i] + 32) : p[i];
		h = mix(h ^ mm_hash64(buf, n));
		p += n;
		len -= n;
	}
	return h;
}

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

uint64_t mm_hash64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = K1 ^ (len * K2);
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ mix(w)) * K1;
		p += 8;
		len -= 8;
	}
	uint64_t w = 0;
	for (size_t i = 0; i < len; i++)
		w |= (uint64_t)p[i] << (8 * i);
	h = (h ^ mix(w ^ K3)) * K1;
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

/*
 * hash: the one hash function of mailmon, a fast non-cryptographic 64-bit
 * hash of a byte string: hash tables keyed by log text (queue IDs,
 * addresses, domains), the string pool, the queue-file cache, distinct
 * counts, and the line hash and checksum of the saved log positions
 * (which therefore depend on it: changing it means a new version of
 * sources/position.h's format). Not for
 * anything an attacker must not be able to collide: tables that hold
 * outside input cap their size instead of trusting the hash.
 */
#ifndef MAILMON_CORE_HASH_H
#define MAILMON_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t mm_hash64(const void *data, size_t len);
/* Case-insensitive (ASCII) variant, for domains. */
uint64_t mm_hash64_lower(const void *data, size_t len);

#endif

/*
 * mapguard: contain SIGBUS on shared file mappings that others can break.
 *
 * A MAP_SHARED mapping of a file faults with SIGBUS when the file is
 * truncated under it, or when its filesystem has no room for a page the
 * program writes. For a file in a shared directory (the counters file)
 * neither may kill the process. A registered range is guarded: a SIGBUS
 * inside it replaces the faulting page by a private zero page, marks the
 * range hit, and lets the access complete; the owner checks
 * mm_mapguard_hit() at its next safe point and replaces the file. A
 * SIGBUS outside every range keeps its default action.
 *
 *   mm_mapguard_add(addr, len)  guard a mapping (at most 16 at once);
 *                               -1 when the table is full
 *   mm_mapguard_hit(addr)       true once a fault was contained in it
 *   mm_mapguard_remove(addr)    before munmap
 *
 * A signal handler can reach only file-level state, so the table of
 * ranges is the one global of this module; it is written by add/remove
 * and read by the handler.
 */
#ifndef MAILMON_CORE_MAPGUARD_H
#define MAILMON_CORE_MAPGUARD_H

#include <stdbool.h>
#include <stddef.h>

int mm_mapguard_add(void *addr, size_t len);
bool mm_mapguard_hit(const void *addr);
void mm_mapguard_remove(const void *addr);

#endif

/*
 * nameidx: an open-addressing index from a name to a row of the caller's
 * array (queue destinations, qshape rows). The rows, and the names in
 * them, stay the caller's; the index holds only row numbers, so the row
 * array may be reallocated freely.
 *
 * Use: mm_nameidx_slot() returns the slot for name: non-zero holds the
 * matching row's index + 1; zero is where a new row goes (store index + 1
 * there). Call mm_nameidx_reserve() with the row count you are about to
 * reach before each lookup that may insert, so the load stays under 1/2.
 *
 * Ownership: struct mm_nameidx owns its slot array; mm_nameidx_free().
 */
#ifndef MAILMON_CORE_NAMEIDX_H
#define MAILMON_CORE_NAMEIDX_H

#include <stddef.h>

typedef const char *mm_row_name_fn(const void *rows, size_t i);

struct mm_nameidx {
	size_t *slots;
	size_t nslots;
};

/* Makes room for nrows rows; rows 0..nrows-2 are rehashed when it grows. */
void mm_nameidx_reserve(struct mm_nameidx *ix, size_t nrows, size_t min_slots,
			mm_row_name_fn *name_of, const void *rows);
size_t *mm_nameidx_slot(struct mm_nameidx *ix, const char *name, mm_row_name_fn *name_of,
			const void *rows);
void mm_nameidx_free(struct mm_nameidx *ix);

#endif

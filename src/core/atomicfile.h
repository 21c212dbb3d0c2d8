/*
 * atomicfile: whole-file reads with a size cap and crash-safe whole-file
 * writes, for small saved state (log positions, alarm states).
 *
 * mm_file_write_atomic() writes PATH.tmp, fsyncs it, renames it over PATH
 * and fsyncs the directory, so after a crash (kill -9, power loss) PATH
 * holds either the old or the new contents, never a mix.
 *
 * Ownership: mm_file_read_capped() returns a heap buffer (NUL-terminated
 * for convenience) that the caller frees. Errors go to struct mm_err.
 */
#ifndef MAILMON_CORE_ATOMICFILE_H
#define MAILMON_CORE_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"

/* Returns 0, or -1 with err (the old file is then untouched). */
int mm_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct mm_err *err);
/* Reads all of path. NULL with err on error; errno_out (may be NULL) gets
 * the errno (ENOENT for a missing file, EFBIG when larger than cap). */
char *mm_file_read_capped(const char *path, size_t cap, size_t *len, int *errno_out,
			  struct mm_err *err);

#endif

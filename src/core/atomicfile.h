/*
 * atomicfile: whole-file reads with a size cap and crash-safe whole-file
 * writes, for small saved state (log positions, alarm states).
 *
 * mm_file_write_atomic() writes a temporary file beside PATH (a unique
 * name, so two writers never share it), fsyncs it, renames it over PATH
 * and fsyncs the directory, so after a crash (kill -9, power loss) PATH
 * holds either the old or the new contents, never a mix. The mode (and,
 * with mm_file_replace, the owner) is set on the temporary file before
 * the rename, so PATH is never visible with the wrong ones.
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
/* The same, also giving the file owner uid:gid (both (uid_t)-1 /
 * (gid_t)-1 to keep ours), for replacing a file someone else owns. */
int mm_file_replace(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
		    gid_t gid, struct mm_err *err);
/* Reads all of path. NULL with err on error; errno_out (may be NULL) gets
 * the errno (ENOENT for a missing file, EFBIG when larger than cap). */
char *mm_file_read_capped(const char *path, size_t cap, size_t *len, int *errno_out,
			  struct mm_err *err);

#endif

/*
 * host: what discovery may ask of the machine, as a struct of function
 * pointers, so that unit tests replay recorded outputs instead.
 *
 *   run(ctx, argv, &out, &len, err)  run a program (no shell); its
 *        standard output, NUL-terminated, in *out (caller frees);
 *        -1 with err when it cannot start, times out or exits non-zero
 *   read(ctx, path, &len, &eno, err) a whole file (caller frees), NULL
 *        with err and *eno (ENOENT when missing)
 *   exists(ctx, path)                 whether path exists
 *   list(ctx, dir, names)             the entries of dir, sorted, added
 *        to names; -1 when dir cannot be read
 *
 * mm_host_system() is the real machine: commands through the bounded
 * child runner (core/childproc.h, 10 s, 4 MiB), files read with a 4 MiB cap.
 */
#ifndef MAILMON_DISCOVER_HOST_H
#define MAILMON_DISCOVER_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/kvlist.h"

#define MM_HOST_MAX_OUTPUT (4u << 20)

struct mm_host {
	int (*run)(void *ctx, char *const argv[], char **out, size_t *len, struct mm_err *err);
	char *(*read)(void *ctx, const char *path, size_t *len, int *eno, struct mm_err *err);
	bool (*exists)(void *ctx, const char *path);
	int (*list)(void *ctx, const char *dir, struct mm_kvlist *names);
	void *ctx;
};

const struct mm_host *mm_host_system(void);

#endif

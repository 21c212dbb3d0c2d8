/*
 * cmdline: a configured command line (a service's restart command, an
 * alarm or lock hook) turned into the argv childproc runs.
 *
 *   mm_cmdline_split(line, err)
 *       splits on blanks, with '...' and "..." grouping and backslash
 *       escapes (not inside '...'); no expansion of any kind. NULL with
 *       err for an unterminated quote or an empty line.
 *   mm_cmdline_argv(line, shell, err)
 *       the split argv, or {"/bin/sh", "-c", line} when shell is set
 *       (the config asked for a shell explicitly).
 *
 * Ownership: the argv is one heap block (pointers and strings); free(argv)
 * releases all of it. The shell form points at line, which must outlive it.
 */
#ifndef MAILMON_CORE_CMDLINE_H
#define MAILMON_CORE_CMDLINE_H

#include <stdbool.h>

#include "core/err.h"

char **mm_cmdline_split(const char *line, struct mm_err *err);
char **mm_cmdline_argv(const char *line, bool shell, struct mm_err *err);

#endif

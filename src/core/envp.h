/*
 * envp: an environment for a child process: this process's environment
 * with some variables set (replacing any of the same name), for hooks
 * that receive their arguments as MAILMON_* variables.
 *
 *   mm_envp_new(kv, n)   kv holds n "NAME", "value" pairs; returns a
 *                        NULL-terminated array of "NAME=value" strings
 *   mm_envp_free(envp)
 *
 * Ownership: the caller frees the array with mm_envp_free().
 */
#ifndef MAILMON_CORE_ENVP_H
#define MAILMON_CORE_ENVP_H

#include <stddef.h>

char **mm_envp_new(const char *const (*kv)[2], size_t n);
void mm_envp_free(char **envp);

#endif

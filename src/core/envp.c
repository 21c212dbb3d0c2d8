/*
 * envp: child environments (see envp.h).
 */
#include "core/envp.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

extern char **environ;

static int overridden(const char *entry, const char *const (*kv)[2], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(kv[i][0]);
		if (strncmp(entry, kv[i][0], len) == 0 && entry[len] == '=')
			return 1;
	}
	return 0;
}

char **mm_envp_new(const char *const (*kv)[2], size_t n)
{
	size_t ne = 0;
	while (environ && environ[ne])
		ne++;
	char **envp = xcalloc(ne + n + 1, sizeof *envp);
	size_t k = 0;
	for (size_t i = 0; i < ne; i++)
		if (!overridden(environ[i], kv, n))
			envp[k++] = xstrdup(environ[i]);
	for (size_t i = 0; i < n; i++)
		envp[k++] = xasprintf("%s=%s", kv[i][0], kv[i][1]);
	envp[k] = NULL;
	return envp;
}

void mm_envp_free(char **envp)
{
	for (char **e = envp; e && *e; e++)
		free(*e);
	free(envp);
}

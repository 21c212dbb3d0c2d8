/*
 * disk_paths: see disk_paths.h.
 */
#include "host/disk_paths.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/xalloc.h"

struct plist {
	char **v;
	size_t n, cap;
};

static void add(struct plist *l, const char *path)
{
	if (!path || path[0] != '/')
		return;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], path) == 0)
			return;
	l->v = xgrow(l->v, &l->cap, l->n + 2, sizeof *l->v);
	l->v[l->n++] = xstrdup(path);
	l->v[l->n] = NULL;
}

/* A comma list, items trimmed; with dirs_of, each item's directory. */
static void add_list(struct plist *l, const char *list, bool dirs_of)
{
	char *copy = xstrdup(list), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		size_t n = strlen(t);
		while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
			t[--n] = '\0';
		if (!*t || t[0] != '/')
			continue;
		if (dirs_of) {
			char *tmp = xstrdup(t);
			add(l, dirname(tmp));
			free(tmp);
		} else {
			add(l, t);
		}
	}
	free(copy);
}

char **mm_disk_paths(const struct mm_config *c)
{
	struct plist l = {0};
	l.v = xgrow(NULL, &l.cap, 1, sizeof *l.v);
	l.v[0] = NULL;
	const char *paths = mm_config_get(c, "disk", "paths");
	if (paths && *paths) {
		add_list(&l, paths, false);
		return l.v;
	}
	const char *q = mm_config_get(c, "mta", "queue_directory");
	if (q && *q)
		add(&l, q);
	add(&l, mm_config_get(c, "daemon", "state_directory"));
	const char *src = mm_config_get(c, "log", "sources");
	if (src)
		add_list(&l, src, true);
	return l.v;
}

bool mm_disk_path_configured(const struct mm_config *c, const char *path)
{
	char **v = mm_disk_paths(c);
	bool found = false;
	for (size_t i = 0; v[i] && !found; i++)
		found = strcmp(v[i], path) == 0;
	mm_config_list_free(v);
	return found;
}

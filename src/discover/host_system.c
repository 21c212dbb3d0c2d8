/* host_system: the real machine behind struct mm_host (see host.h). */
#include "discover/host.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "core/childproc.h"
#include "core/xalloc.h"

#define RUN_TIMEOUT_MS 10000

struct outbuf {
	char *p;
	size_t len, cap;
};

/* mm_child_run streams stdout (it keeps nothing past the call). */
static int collect(void *arg, const char *buf, size_t len)
{
	struct outbuf *o = arg;
	o->p = xgrow(o->p, &o->cap, o->len + len + 1, 1);
	memcpy(o->p + o->len, buf, len);
	o->len += len;
	o->p[o->len] = '\0';
	return 0;
}

static int sys_run(void *ctx, char *const argv[], char **out, size_t *len, struct mm_err *err)
{
	struct outbuf o = {NULL, 0, 0};
	struct mm_child_params p = {
		.argv = argv,
		.timeout_ms = RUN_TIMEOUT_MS,
		.max_output = MM_HOST_MAX_OUTPUT,
		.keep_stderr = true,
		.on_data = collect,
		.data_arg = &o,
	};
	struct mm_child_result res;
	if (mm_child_run(&p, &res, err) < 0) {
		free(o.p);
		return -1;
	}
	*out = o.p ? o.p : xstrdup("");
	*len = o.len;
	return 0;
}

static char *sys_read(void *ctx, const char *path, size_t *len, int *eno, struct mm_err *err)
{
	return mm_file_read_capped(path, MM_HOST_MAX_OUTPUT, len, eno, err);
}

static bool sys_exists(void *ctx, const char *path)
{
	return access(path, F_OK) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(((const struct mm_kv *)a)->name, ((const struct mm_kv *)b)->name);
}

static int sys_list(void *ctx, const char *dir, struct mm_kvlist *names)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	size_t first = names->n;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			mm_kvlist_add(names, e->d_name, NULL);
	closedir(d);
	qsort(names->v + first, names->n - first, sizeof *names->v, cmp_names);
	return 0;
}

const struct mm_host *mm_host_system(void)
{
	static const struct mm_host host = {sys_run, sys_read, sys_exists, sys_list, NULL};
	return &host;
}

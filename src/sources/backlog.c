/*
 * backlog: the rotated files between a saved position and PATH (see
 * backlog.h).
 */
#include "sources/backlog.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/hash.h"
#include "core/xalloc.h"
#include "sources/gzreader.h"

#define MAX_NUMBERED 30
#define MAX_FILES 64

struct mm_backlog {
	char *files[MAX_FILES]; /* to read, in order (oldest first) */
	uint64_t dev[MAX_FILES], ino[MAX_FILES];
	size_t n, cur;
	struct mm_linereader *r; /* on files[cur] */
	uint64_t last_hash;
	bool have_line;
	uint64_t start_off, start_len, start_hash; /* the saved position, for files[0] */
};

static int by_name_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Rotated names of path, newest first, into out (caller frees each). */
static size_t candidates(const char *path, char **out, size_t cap)
{
	size_t n = 0;
	struct stat st;
	for (int i = 1; i <= MAX_NUMBERED && n + 2 <= cap; i++) {
		char *plain = xasprintf("%s.%d", path, i), *gz = xasprintf("%s.%d.gz", path, i);
		if (stat(plain, &st) == 0 && S_ISREG(st.st_mode))
			out[n++] = plain;
		else
			free(plain);
		if (stat(gz, &st) == 0 && S_ISREG(st.st_mode))
			out[n++] = gz;
		else
			free(gz);
	}
	/* dateext: PATH-20261207, PATH-20261207.gz, PATH-2026120712 ... */
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
	const char *base = slash ? slash + 1 : path;
	size_t blen = strlen(base);
	DIR *d = opendir(*dir ? dir : "/");
	size_t first = n;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL && n < cap) {
			if (strncmp(e->d_name, base, blen) != 0 || e->d_name[blen] != '-' ||
			    e->d_name[blen + 1] < '0' || e->d_name[blen + 1] > '9')
				continue;
			char *full = xasprintf("%s/%s", dir, e->d_name);
			if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
				out[n++] = full;
			else
				free(full);
		}
		closedir(d);
	}
	free(dir);
	/* dates sort by name: the newest (largest) first */
	qsort(out + first, n - first, sizeof *out, by_name_desc);
	return n;
}

/* Is the saved position in file (dev/ino st)? Then r is left just after
 * it and returned; else NULL. */
static struct mm_linereader *holds(const char *file, const struct stat *st,
				   const struct mm_filepos *pos)
{
	bool same = (uint64_t)st->st_dev == pos->dev && (uint64_t)st->st_ino == pos->ino;
	if ((pos->offset == 0 || pos->line_len == 0) && !same)
		return NULL;
	struct mm_err err;
	struct mm_linereader *r = mm_linereader_open(file, &err);
	if (!r)
		return NULL;
	if (pos->offset == 0)
		return r;
	const char *line;
	size_t len;
	uint64_t off = 0, raw = 0;
	while (mm_linereader_next(r, &line, &len) > 0) {
		off = mm_linereader_offset(r, &raw);
		if (off < pos->offset)
			continue;
		if (off == pos->offset && raw == pos->line_len &&
		    mm_hash64(line, len) == pos->line_hash)
			return r;
		break;
	}
	mm_linereader_close(r);
	return NULL;
}

struct mm_backlog *mm_backlog_find(const char *path, const struct mm_filepos *saved,
				   char *why, size_t whylen)
{
	char *cand[MAX_FILES];
	size_t n = candidates(path, cand, MAX_FILES);
	struct mm_backlog *b = NULL;
	for (size_t i = 0; i < n && !b; i++) {
		struct stat st;
		if (stat(cand[i], &st) != 0)
			continue;
		struct mm_linereader *r = holds(cand[i], &st, saved);
		if (!r)
			continue;
		b = xcalloc(1, sizeof *b);
		b->r = r;
		/* cand[i] (the file that holds it), then the newer ones */
		for (size_t k = i + 1; k-- > 0;) {
			struct stat sk;
			if (stat(cand[k], &sk) != 0)
				continue;
			b->dev[b->n] = (uint64_t)sk.st_dev;
			b->ino[b->n] = (uint64_t)sk.st_ino;
			b->files[b->n++] = cand[k];
			cand[k] = NULL;
		}
		b->start_off = saved->offset;
		b->start_len = saved->line_len;
		b->start_hash = saved->line_hash;
		snprintf(why, whylen, "%s: resuming in %s at offset %llu, then %zu newer rotated "
			 "file%s", path, b->files[0], (unsigned long long)saved->offset, b->n - 1,
			 b->n == 2 ? "" : "s");
	}
	for (size_t i = 0; i < n; i++)
		free(cand[i]);
	return b;
}

int mm_backlog_next(struct mm_backlog *b, const char **line, size_t *len, char *why,
		    size_t whylen)
{
	while (b->cur < b->n) {
		if (!b->r) {
			struct mm_err err;
			b->r = mm_linereader_open(b->files[b->cur], &err);
			b->have_line = false;
			if (!b->r) {
				snprintf(why, whylen, "%s", err.msg);
				b->cur++;
				continue;
			}
		}
		int rc = mm_linereader_next(b->r, line, len);
		if (rc > 0) {
			b->last_hash = mm_hash64(*line, *len);
			b->have_line = true;
			return 1;
		}
		if (rc < 0)
			snprintf(why, whylen, "%s", mm_linereader_error(b->r));
		mm_linereader_close(b->r);
		b->r = NULL;
		b->cur++;
	}
	return 0;
}

const char *mm_backlog_current(const struct mm_backlog *b)
{
	return b->cur < b->n ? b->files[b->cur] : "";
}

void mm_backlog_position(const struct mm_backlog *b, struct mm_filepos *out)
{
	memset(out, 0, sizeof *out);
	if (b->cur >= b->n)
		return;
	out->dev = b->dev[b->cur];
	out->ino = b->ino[b->cur];
	if (b->r && b->have_line) {
		out->offset = mm_linereader_offset(b->r, &out->line_len);
		out->line_hash = b->last_hash;
	} else if (b->cur == 0) {
		out->offset = b->start_off;
		out->line_len = b->start_len;
		out->line_hash = b->start_hash;
	}
}

void mm_backlog_free(struct mm_backlog *b)
{
	if (!b)
		return;
	if (b->r)
		mm_linereader_close(b->r);
	for (size_t i = 0; i < b->n; i++)
		free(b->files[i]);
	free(b);
}

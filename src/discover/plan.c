/* plan: see plan.h. The rendered text is built in a growing buffer; the
 * schema is walked with mm_conf_section_at() and mm_conf_key_at(). */
#include "discover/plan.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_schema.h"
#include "core/xalloc.h"

static struct mm_plan_section *section(struct mm_plan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->secs[i].name, name) == 0)
			return &p->secs[i];
	p->secs = xgrow(p->secs, &p->cap, p->n + 1, sizeof *p->secs);
	struct mm_plan_section *s = &p->secs[p->n++];
	memset(s, 0, sizeof *s);
	s->name = xstrdup(name);
	return s;
}

static const struct mm_plan_section *find_section(const struct mm_plan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->secs[i].name, name) == 0)
			return &p->secs[i];
	return NULL;
}

static void put(struct mm_plan *p, const char *sec, const char *key, const char *value,
		const char *why, bool off)
{
	struct mm_plan_section *s = section(p, sec);
	struct mm_plan_key *k = NULL;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->keys[i].key, key) == 0)
			k = &s->keys[i];
	if (k) {
		free(k->value);
		free(k->why);
	} else {
		s->keys = xgrow(s->keys, &s->cap, s->n + 1, sizeof *s->keys);
		k = &s->keys[s->n++];
		k->key = xstrdup(key);
	}
	k->value = xstrdup(value ? value : "");
	k->why = why ? xstrdup(why) : NULL;
	k->off = off;
}

void mm_plan_set(struct mm_plan *p, const char *section_name, const char *key,
		 const char *value, const char *why)
{
	put(p, section_name, key, value, why, false);
}

void mm_plan_off(struct mm_plan *p, const char *section_name, const char *key,
		 const char *example, const char *why)
{
	put(p, section_name, key, example, why, true);
}

/* Adds the formatted line to l (out of memory is fatal). */
static void add_line(struct mm_kvlist *l, const char *fmt, va_list ap)
{
	char *line;
	if (vasprintf(&line, fmt, ap) < 0)
		xmalloc(SIZE_MAX);
	mm_kvlist_add(l, line, NULL);
	free(line);
}

void mm_plan_comment(struct mm_plan *p, const char *section_name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_line(&section(p, section_name)->comments, fmt, ap);
	va_end(ap);
}

void mm_plan_note(struct mm_plan *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_line(&p->notes, fmt, ap);
	va_end(ap);
}

const struct mm_plan_key *mm_plan_get(const struct mm_plan *p, const char *sec,
				      const char *key)
{
	const struct mm_plan_section *s = find_section(p, sec);
	for (size_t i = 0; s && i < s->n; i++)
		if (strcmp(s->keys[i].key, key) == 0)
			return &s->keys[i];
	return NULL;
}

bool mm_plan_has_section(const struct mm_plan *p, const char *sec)
{
	return find_section(p, sec) != NULL;
}

/* Writes text as "# " lines. */
static void comment(FILE *f, const char *text)
{
	const char *s = text;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		fprintf(f, "# %.*s\n", (int)len, s);
		s += len + (nl ? 1 : 0);
	}
}

static void write_key(FILE *f, const struct mm_plan_key *k)
{
	if (k->why)
		comment(f, k->why);
	fprintf(f, "%s%s = %s\n", k->off ? "#" : "", k->key, k->value);
}

static void write_comments(FILE *f, const struct mm_plan_section *s)
{
	for (size_t i = 0; s && i < s->comments.n; i++)
		comment(f, s->comments.v[i].name);
}

char *mm_plan_render(const struct mm_plan *p, const char *header)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		xmalloc(SIZE_MAX); /* out of memory: fatal, as everywhere */
	comment(f, header);
	for (size_t si = 0; si < mm_conf_section_count(); si++) {
		const struct mm_conf_section *cs = mm_conf_section_at(si);
		if (strchr(cs->name, '*'))
			continue;
		const struct mm_plan_section *ps = find_section(p, cs->name);
		fprintf(f, "\n");
		comment(f, cs->help);
		write_comments(f, ps);
		fprintf(f, "[%s]\n", cs->name);
		for (size_t ki = 0; ki < mm_conf_key_count(); ki++) {
			const struct mm_conf_key *ck = mm_conf_key_at(ki);
			if (strcmp(ck->section, cs->name) != 0)
				continue;
			const struct mm_plan_key *pk = mm_plan_get(p, cs->name, ck->name);
			fprintf(f, "\n");
			if (pk) {
				write_key(f, pk);
				continue;
			}
			comment(f, ck->help);
			fprintf(f, "#%s = %s\n", ck->name, ck->def ? ck->def : "");
		}
	}
	/* Named instances, in the order they were planned. */
	for (size_t i = 0; i < p->n; i++) {
		const struct mm_plan_section *s = &p->secs[i];
		const struct mm_conf_section *cs = mm_conf_find_section(s->name);
		if (!cs || !strchr(cs->name, '*'))
			continue;
		/* A section with nothing determined is written commented out as a
		 * whole: an empty [service.NAME] would not pass config check. */
		bool active = false;
		for (size_t k = 0; k < s->n; k++)
			active = active || !s->keys[k].off;
		fprintf(f, "\n");
		write_comments(f, s);
		fprintf(f, "%s[%s]\n", active ? "" : "#", s->name);
		for (size_t k = 0; k < s->n; k++)
			write_key(f, &s->keys[k]);
	}
	fclose(f);
	return buf;
}

void mm_plan_free(struct mm_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct mm_plan_section *s = &p->secs[i];
		for (size_t k = 0; k < s->n; k++) {
			free(s->keys[k].key);
			free(s->keys[k].value);
			free(s->keys[k].why);
		}
		free(s->keys);
		free(s->name);
		mm_kvlist_free(&s->comments);
	}
	free(p->secs);
	mm_kvlist_free(&p->notes);
	memset(p, 0, sizeof *p);
}

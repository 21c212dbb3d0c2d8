/*
 * config: loading and lookup (see config.h).
 *
 * libinih does the INI syntax. It does not report line numbers to the
 * handler in Debian's build, so the stream reader below counts lines and
 * the handler reads the count. The reader also catches lines longer than
 * inih's buffer, which inih would otherwise split into garbage.
 */
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/parse.h"
#include "core/strutil.h"
#include "core/xalloc.h"

struct load_state {
	struct mm_config *conf;
	struct mm_diags *diags;
	const char *name;
	/* reader side */
	FILE *fp;
	const char *text; /* for load_string */
	int line;
	int long_line; /* the line number of an over-long line, or 0 */
	int errors;
	char lastsection[256]; /* last section header seen */
};

void mm_diags_add(struct mm_diags *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *msg = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	d->msgs = xgrow(d->msgs, &d->cap, d->n + 1, sizeof *d->msgs);
	d->msgs[d->n++] = msg;
}

void mm_diags_free(struct mm_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	memset(d, 0, sizeof *d);
}

static void section_header(struct load_state *st, const char *line);

/* Reads one line into buf like fgets, counting lines; an over-long line is
 * consumed whole and reported once. */
static char *reader(char *buf, int cap, void *arg)
{
	struct load_state *st = arg;
	int len = 0, c;
	bool overlong = false;
	for (;;) {
		if (st->fp) {
			c = fgetc(st->fp);
		} else {
			c = *st->text ? (unsigned char)*st->text++ : EOF;
		}
		if (c == EOF)
			break;
		if (len < cap - 2)
			buf[len++] = (char)c;
		else if (c != '\n')
			overlong = true;
		if (c == '\n')
			break;
	}
	if (len == 0 && c == EOF)
		return NULL;
	st->line++;
	if (overlong) {
		mm_diags_add(st->diags, "%s:%d: line longer than %d characters", st->name,
			     st->line, cap - 2);
		st->errors++;
		st->long_line = st->line;
		buf[0] = '\0'; /* treated as blank */
		return buf;
	}
	buf[len] = '\0';
	section_header(st, buf);
	return buf;
}

/* Closest name among candidates, within a distance that still looks like a
 * typo; NULL when nothing is close. */
static const char *closest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = strlen(word) <= 4 ? 1 : 2;
	for (size_t i = 0; i < n; i++) {
		size_t d = mm_edit_distance(word, cands[i], bestd);
		if (d <= bestd) {
			best = cands[i];
			bestd = d;
		}
	}
	return best;
}

static void unknown_section(struct load_state *st, const char *section)
{
	const char *names[64];
	size_t n = 0;
	for (size_t i = 0; i < mm_conf_section_count() && n < 64; i++)
		names[n++] = mm_conf_section_at(i)->name;
	const char *hint = closest(section, names, n);
	mm_diags_add(st->diags, "%s:%d: [%s]: unknown section%s%s%s", st->name, st->line,
		     section, hint ? "; did you mean [" : "", hint ? hint : "",
		     hint ? "]?" : "");
	st->errors++;
}

static void unknown_key(struct load_state *st, const char *section,
			const struct mm_conf_section *sec, const char *key)
{
	const char *names[128];
	size_t n = 0;
	for (size_t i = 0; i < mm_conf_key_count() && n < 128; i++)
		if (strcmp(mm_conf_key_at(i)->section, sec->name) == 0)
			names[n++] = mm_conf_key_at(i)->name;
	const char *hint = closest(key, names, n);
	if (hint) {
		mm_diags_add(st->diags, "%s:%d: [%s] %s: unknown key; did you mean %s?",
			     st->name, st->line, section, key, hint);
	} else {
		/* Maybe the right key in the wrong section. */
		const char *other = NULL;
		for (size_t i = 0; i < mm_conf_key_count(); i++)
			if (strcmp(mm_conf_key_at(i)->name, key) == 0 &&
			    strchr(mm_conf_key_at(i)->section, '*') == NULL) {
				other = mm_conf_key_at(i)->section;
				break;
			}
		mm_diags_add(st->diags, "%s:%d: [%s] %s: unknown key%s%s%s", st->name,
			     st->line, section, key, other ? "; it belongs in [" : "",
			     other ? other : "", other ? "]" : "");
	}
	st->errors++;
}

static struct mm_conf_entry *find_entry(const struct mm_config *conf,
					const char *section, const char *key)
{
	for (size_t i = 0; i < conf->n; i++)
		if (strcmp(conf->entries[i].section, section) == 0 &&
		    strcmp(conf->entries[i].key, key) == 0)
			return &conf->entries[i];
	return NULL;
}

static void note_section(struct load_state *st, const char *section)
{
	struct mm_config *conf = st->conf;
	for (size_t i = 0; i < conf->nsections; i++)
		if (strcmp(conf->sections[i], section) == 0)
			return;
	conf->sections = xgrow(conf->sections, &conf->seccap, conf->nsections + 1,
			       sizeof *conf->sections);
	conf->sections[conf->nsections++] = xstrdup(section);
}

/* inih reports sections only through the keys in them, so an empty
 * [section] would pass unchecked; headers are checked as lines are read. */
static void section_header(struct load_state *st, const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != '[')
		return;
	const char *end = strchr(line, ']');
	if (!end)
		return; /* inih reports the syntax error */
	char section[256];
	size_t len = (size_t)(end - line - 1);
	if (len >= sizeof section)
		len = sizeof section - 1;
	memcpy(section, line + 1, len);
	section[len] = '\0';
	/* No trimming: libinih keeps the name between the brackets as it is,
	 * so "[ alarm ]" is the section " alarm ", and must be refused here
	 * rather than accepted here and dropped by the handler. */
	mm_strlcpy(st->lastsection, section, sizeof st->lastsection);
	if (!mm_conf_find_section(section))
		unknown_section(st, section);
	else
		note_section(st, section);
}

static int handler(void *arg, const char *section, const char *key, const char *value)
{
	struct load_state *st = arg;
	struct mm_err err;

	if (section[0] == '\0') {
		mm_diags_add(st->diags, "%s:%d: %s: key outside any [section]", st->name,
			     st->line, key);
		st->errors++;
		return 1;
	}
	const struct mm_conf_section *sec = mm_conf_find_section(section);
	if (!sec) {
		/* Normally reported with its header line; this catches a name
		 * that inih and the header check read differently. */
		if (strcmp(section, st->lastsection) != 0) {
			mm_strlcpy(st->lastsection, section, sizeof st->lastsection);
			unknown_section(st, section);
		}
		return 1;
	}
	const struct mm_conf_key *row = mm_conf_find_key(section, key);
	if (!row) {
		unknown_key(st, section, sec, key);
		return 1;
	}
	struct mm_conf_entry *e = find_entry(st->conf, section, key);
	if (e) {
		/* A continuation line of a multi-line value comes back as the same
		 * key on the next line; anything else is a duplicate. */
		if (e->line == st->line - 1 && row->type == MM_CT_LIST) {
			char *joined = xasprintf("%s,%s", e->value, value);
			free(e->value);
			e->value = joined;
			e->line = st->line;
			return 1;
		}
		mm_diags_add(st->diags, "%s:%d: [%s] %s: set twice (first on line %d)",
			     st->name, st->line, section, key, e->line);
		st->errors++;
		return 1;
	}
	if (mm_conf_validate(row, value, &err) < 0) {
		mm_diags_add(st->diags, "%s:%d: [%s] %s: %s", st->name, st->line, section,
			     key, err.msg);
		st->errors++;
		return 1;
	}
	struct mm_config *conf = st->conf;
	conf->entries = xgrow(conf->entries, &conf->cap, conf->n + 1, sizeof *conf->entries);
	conf->entries[conf->n++] = (struct mm_conf_entry){
		.section = xstrdup(section),
		.key = xstrdup(key),
		.value = xstrdup(value),
		.line = st->line,
		.row = row,
	};
	return 1;
}

static struct mm_config *load(struct load_state *st)
{
	int rc = ini_parse_stream(reader, st, handler, st);
	if (rc > 0 && rc != st->long_line) {
		/* inih reports only the first syntax error it met. */
		mm_diags_add(st->diags,
			     "%s:%d: syntax error: expected \"key = value\", \"[section]\" or a comment",
			     st->name, rc);
		st->errors++;
	}
	if (st->errors) {
		mm_config_free(st->conf);
		return NULL;
	}
	return st->conf;
}

int mm_config_file_trusted(int fd, const char *path, struct mm_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return mm_err_sys(err, errno, "%s: cannot stat", path);
	/* The null device reads empty whoever writes to it: `-c /dev/null`
	 * is the usual way to say "built-in defaults only". */
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
		return 0;
	if (!S_ISREG(st.st_mode))
		return mm_err_set(err, "%s: not a regular file", path);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return mm_err_set(err,
				  "%s: mode %04o is %s-writable: whoever can write it can add a "
				  "restart command that mailmond runs; refused (chmod go-w %s)",
				  path, (unsigned)(st.st_mode & 07777),
				  st.st_mode & S_IWOTH ? "world" : "group", path);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return mm_err_set(err,
				  "%s: owned by uid %u, neither root nor this program's user (uid %u); "
				  "refused (mode %04o)",
				  path, (unsigned)st.st_uid, (unsigned)geteuid(),
				  (unsigned)(st.st_mode & 07777));
	return 0;
}

struct mm_config *mm_config_load(const char *path, struct mm_diags *diags)
{
	/* O_NONBLOCK: a FIFO planted at the path must not hang the open. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		mm_diags_add(diags, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	struct mm_err terr;
	if (mm_config_file_trusted(fd, path, &terr) < 0) {
		mm_diags_add(diags, "%s", terr.msg);
		close(fd);
		return NULL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	FILE *fp = fdopen(fd, "r");
	if (!fp) {
		mm_diags_add(diags, "%s: cannot open: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	struct load_state st = {.diags = diags, .name = path, .fp = fp};
	st.conf = xcalloc(1, sizeof *st.conf);
	st.conf->path = xstrdup(path);
	struct mm_config *conf = load(&st);
	if (ferror(fp)) {
		mm_diags_add(diags, "%s: read error: %s", path, strerror(errno));
		mm_config_free(conf);
		conf = NULL;
	}
	fclose(fp);
	return conf;
}

struct mm_config *mm_config_load_string(const char *text, const char *name,
					struct mm_diags *diags)
{
	struct load_state st = {.diags = diags, .name = name, .text = text};
	st.conf = xcalloc(1, sizeof *st.conf);
	st.conf->path = xstrdup(name);
	return load(&st);
}

struct mm_config *mm_config_defaults(void)
{
	struct mm_config *conf = xcalloc(1, sizeof *conf);
	conf->path = xstrdup("(defaults)");
	return conf;
}

void mm_config_free(struct mm_config *conf)
{
	if (!conf)
		return;
	for (size_t i = 0; i < conf->n; i++) {
		free(conf->entries[i].section);
		free(conf->entries[i].key);
		free(conf->entries[i].value);
	}
	for (size_t i = 0; i < conf->nsections; i++)
		free(conf->sections[i]);
	free(conf->sections);
	free(conf->entries);
	free(conf->path);
	free(conf);
}

const struct mm_conf_entry *mm_config_entry(const struct mm_config *conf,
					    const char *section, const char *key)
{
	return find_entry(conf, section, key);
}

const char *mm_config_get(const struct mm_config *conf, const char *section,
			  const char *key)
{
	const struct mm_conf_entry *e = find_entry(conf, section, key);
	if (e)
		return e->value;
	const struct mm_conf_key *row = mm_conf_find_key(section, key);
	return row ? row->def : NULL;
}

/* Getters run only on validated values or schema defaults; a failure here
 * is a schema bug (a default that does not parse), caught by unit tests. */
int64_t mm_config_int(const struct mm_config *conf, const char *section,
		      const char *key)
{
	const char *v = mm_config_get(conf, section, key);
	int64_t out = 0;
	if (v)
		mm_parse_int(v, INT64_MIN, INT64_MAX, &out, NULL);
	return out;
}

int64_t mm_config_duration_ms(const struct mm_config *conf, const char *section,
			      const char *key)
{
	const char *v = mm_config_get(conf, section, key);
	int64_t out = 0;
	if (v)
		mm_parse_duration(v, &out, NULL);
	return out;
}

uint64_t mm_config_size(const struct mm_config *conf, const char *section,
			const char *key)
{
	const char *v = mm_config_get(conf, section, key);
	uint64_t out = 0;
	if (v)
		mm_parse_size(v, &out, NULL);
	return out;
}

bool mm_config_bool(const struct mm_config *conf, const char *section,
		    const char *key)
{
	const char *v = mm_config_get(conf, section, key);
	bool out = false;
	if (v)
		mm_parse_bool(v, &out, NULL);
	return out;
}

int mm_config_split_name(const char *name, char *section, size_t seccap,
			 char *key, size_t keycap)
{
	const char *dot = strrchr(name, '.');
	if (!dot || dot == name || dot[1] == '\0')
		return -1;
	size_t slen = (size_t)(dot - name);
	if (slen >= seccap || strlen(dot + 1) >= keycap)
		return -1;
	memcpy(section, name, slen);
	section[slen] = '\0';
	mm_strlcpy(key, dot + 1, keycap);
	return 0;
}

const char **mm_config_instances(const struct mm_config *conf, const char *prefix, size_t *n)
{
	size_t plen = strlen(prefix);
	const char **v = xcalloc(conf->nsections + 1, sizeof *v);
	*n = 0;
	for (size_t i = 0; i < conf->nsections; i++) {
		const char *s = conf->sections[i];
		if (strncmp(s, prefix, plen) == 0 && s[plen] == '.' && s[plen + 1])
			v[(*n)++] = s + plen + 1;
	}
	return v;
}

void mm_config_each_instance(const struct mm_config *conf, const char *prefix,
			     void (*fn)(const char *name, void *arg), void *arg)
{
	size_t plen = strlen(prefix);
	for (size_t i = 0; i < conf->nsections; i++) {
		const char *s = conf->sections[i];
		if (strncmp(s, prefix, plen) == 0 && s[plen] == '.' && s[plen + 1])
			fn(s + plen + 1, arg);
	}
}

char **mm_config_list(const struct mm_config *conf, const char *section, const char *key)
{
	const char *v = mm_config_get(conf, section, key);
	char **out = xcalloc(1, sizeof *out);
	size_t n = 0, cap = 1;
	char *copy = xstrdup(v ? v : "");
	for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		tok = mm_trim(tok);
		if (!*tok)
			continue;
		out = xgrow(out, &cap, n + 2, sizeof *out);
		out[n++] = xstrdup(tok);
		out[n] = NULL;
	}
	free(copy);
	return out;
}

void mm_config_list_free(char **list)
{
	for (char **p = list; p && *p; p++)
		free(*p);
	free(list);
}

/*
 * config_edit: see config_edit.h. The text edit works line by line on the
 * same grammar libinih accepts: "[section]", "key = value", and full-line
 * comments starting with '#' or ';'.
 */
#include "core/config_edit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "core/config_schema.h"
#include "core/strutil.h"
#include "core/xalloc.h"

struct line {
	const char *start;
	size_t len; /* without the newline */
};

static size_t split_lines(const char *text, struct line **out)
{
	size_t n = 0, cap = 0;
	struct line *lines = NULL;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lines = xgrow(lines, &cap, n + 1, sizeof *lines);
		lines[n++] = (struct line){p, len};
		p += len + (nl ? 1 : 0);
	}
	*out = lines;
	return n;
}

/* If the line is "[name]", copies name into buf and returns true. */
static bool is_header(const struct line *l, char *buf, size_t cap)
{
	const char *p = l->start, *end = l->start + l->len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p != '[')
		return false;
	const char *close = memchr(p, ']', (size_t)(end - p));
	if (!close)
		return false;
	size_t n = (size_t)(close - p - 1);
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, p + 1, n);
	buf[n] = '\0'; /* untrimmed, as libinih reads it */
	return true;
}

/* Does the line set key (optionally as a comment "# key = ...")? */
static bool sets_key(const struct line *l, const char *key, bool commented)
{
	const char *p = l->start, *end = l->start + l->len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (commented) {
		if (p == end || (*p != '#' && *p != ';'))
			return false;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
	}
	size_t klen = strlen(key);
	if ((size_t)(end - p) < klen || strncmp(p, key, klen) != 0)
		return false;
	p += klen;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p < end && (*p == '=' || *p == ':');
}

static bool is_key_line(const struct line *l)
{
	const char *p = l->start, *end = l->start + l->len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p < end && *p != '#' && *p != ';' && *p != '[' && memchr(p, '=', (size_t)(end - p));
}

char *mm_config_edit_text(const char *text, const char *section, const char *key,
			  const char *value)
{
	struct line *lines;
	size_t n = split_lines(text, &lines);
	char name[256];
	bool in = false, found_section = false;
	size_t replace = (size_t)-1, after = (size_t)-1, commented = (size_t)-1;

	for (size_t i = 0; i < n; i++) {
		if (is_header(&lines[i], name, sizeof name)) {
			in = strcmp(name, section) == 0;
			if (in) {
				found_section = true;
				after = i;
			}
			continue;
		}
		if (!in)
			continue;
		if (sets_key(&lines[i], key, false) && replace == (size_t)-1)
			replace = i;
		else if (sets_key(&lines[i], key, true) && commented == (size_t)-1)
			commented = i;
		else if (is_key_line(&lines[i]))
			after = i;
	}

	/* Build the output: at most one line replaced or inserted. */
	size_t outcap = strlen(text) + strlen(section) + strlen(key) + strlen(value) + 16;
	char *out = xmalloc(outcap);
	size_t o = 0;
	char newline[1024];
	snprintf(newline, sizeof newline, "%s = %s\n", key, value);
	size_t insert_after = replace != (size_t)-1 ? (size_t)-1
			      : commented != (size_t)-1 ? commented
						       : after;
	for (size_t i = 0; i < n; i++) {
		if (i == replace) {
			/* Keep the line's indentation. */
			const char *p = lines[i].start;
			while (*p == ' ' || *p == '\t')
				out[o++] = *p++;
			memcpy(out + o, newline, strlen(newline));
			o += strlen(newline);
			continue;
		}
		memcpy(out + o, lines[i].start, lines[i].len);
		o += lines[i].len;
		out[o++] = '\n';
		if (found_section && i == insert_after) {
			memcpy(out + o, newline, strlen(newline));
			o += strlen(newline);
		}
	}
	out[o] = '\0';
	if (!found_section) {
		/* Every copied line ended in '\n'; a blank line sets the new
		 * section apart. */
		char *tail = xasprintf("%s%s[%s]\n%s", out, o ? "\n" : "", section, newline);
		free(out);
		out = tail;
	}
	free(lines);
	return out;
}

/* The schema's name grammar: a section is words joined by dots
 * ("alarm.diskavail", "service.imap"), a key one word; a word is letters,
 * digits, '_' and '-'. Anything else (a newline, ']', '=', '#', a blank)
 * would change the file's structure when written. */
static bool name_ok(const char *s, bool dots)
{
	if (!*s || *s == '.')
		return false;
	for (const char *c = s; *c; c++) {
		bool word = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			    (*c >= '0' && *c <= '9') || *c == '_' || *c == '-';
		if (!word && !(dots && *c == '.' && c[1] && c[1] != '.'))
			return false;
	}
	return true;
}

int mm_config_set_in_file(const char *path_in, const char *section, const char *key,
			  const char *value, struct mm_err *err)
{
	struct mm_err verr;
	if (!name_ok(section, true) || !name_ok(key, false))
		return mm_err_set(err,
				  "not a valid name: sections are words joined by dots and keys are "
				  "words (letters, digits, '_', '-'); no newline, ']', '=', '#' or blank");
	const struct mm_conf_key *row = mm_conf_find_key(section, key);
	if (!mm_conf_find_section(section))
		return mm_err_set(err, "[%s]: unknown section", section);
	if (!row)
		return mm_err_set(err, "[%s] %s: unknown key", section, key);
	if (strlen(value) > 900)
		return mm_err_set(err, "%s.%s: value longer than 900 characters", section, key);
	if (strchr(value, '\n'))
		return mm_err_set(err, "%s.%s: a value cannot contain a newline", section, key);
	if (mm_conf_validate(row, value, &verr) < 0)
		return mm_err_set(err, "%s.%s: %s", section, key, verr.msg);

	/* A symlinked config is edited where it points (replacing the link
	 * by a file would silently fork the config). */
	char *resolved = realpath(path_in, NULL);
	const char *path = resolved ? resolved : path_in;
	/* A config file is small; the cap only guards against a wrong path. */
	size_t len;
	int e = 0;
	char *text = mm_file_read_capped(path, 1 << 20, &len, &e, err);
	bool missing = !text && e == ENOENT;
	if (missing)
		text = xstrdup("");
	else if (!text) {
		free(resolved);
		return -1;
	} else if (memchr(text, '\0', len)) {
		free(text);
		mm_err_set(err, "%s: contains a NUL byte; not a config file", path);
		free(resolved);
		return -1;
	}
	char *edited = mm_config_edit_text(text, section, key, value);
	free(text);

	/* Keep the file's mode and owner; a new file is 0640. */
	struct stat st;
	bool have_st = !missing && stat(path, &st) == 0;
	int rc = mm_file_replace(path, edited, strlen(edited), have_st ? st.st_mode & 07777 : 0640,
				 have_st ? st.st_uid : (uid_t)-1, have_st ? st.st_gid : (gid_t)-1,
				 err);
	free(edited);
	free(resolved);
	return rc;
}

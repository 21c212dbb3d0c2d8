/*
 * lines: iterate over the lines of a text buffer that need not be
 * NUL-terminated (command output, a config file read whole, fuzz input).
 * Shared by the discovery parsers. Lines are returned without the
 * newline (and without a trailing CR); a line longer than
 * MM_DISC_LINE_MAX is still returned whole, parsers cut what they copy.
 */
#ifndef MAILMON_DISCOVER_LINES_H
#define MAILMON_DISCOVER_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define MM_DISC_LINE_MAX 4096

struct mm_lines {
	const char *p, *end;
	int lineno;
};

static inline void mm_lines_init(struct mm_lines *it, const char *text, size_t len)
{
	it->p = text;
	it->end = text + len;
	it->lineno = 0;
}

/* Next line into line and len; false at the end. */
static inline bool mm_lines_next(struct mm_lines *it, const char **line, size_t *len)
{
	if (it->p >= it->end)
		return false;
	const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	const char *stop = nl ? nl : it->end;
	*line = it->p;
	*len = (size_t)(stop - it->p);
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	it->p = nl ? nl + 1 : it->end;
	it->lineno++;
	return true;
}

/* Trims blanks (space, tab) at both ends of [*s, *s + *len). */
static inline void mm_lines_trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

#endif

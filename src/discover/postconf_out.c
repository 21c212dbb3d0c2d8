/*
 * postconf_out: see postconf_out.h. Both formats are line based; a value
 * may be empty ("content_filter ="), and postconf folds nothing unless
 * asked (-f), but main.cf-style continuation lines are accepted anyway.
 */
#include "discover/postconf_out.h"

#include <string.h>

#include <stdlib.h>

#include "core/xalloc.h"
#include "discover/lines.h"

int mm_postconf_parse(const char *text, size_t len, struct mm_kvlist *out,
		      struct mm_err *err)
{
	struct mm_lines it;
	const char *line;
	size_t ll;
	mm_lines_init(&it, text, len);
	while (mm_lines_next(&it, &line, &ll)) {
		if (ll == 0 || line[0] == '#')
			continue;
		if ((line[0] == ' ' || line[0] == '\t')) {
			mm_lines_trim(&line, &ll);
			if (ll == 0)
				continue;
			if (out->n == 0)
				return mm_err_set(err, "line %d: continuation before any parameter",
						  it.lineno);
			/* Folded value: append with one blank. */
			struct mm_kv *kv = &out->v[out->n - 1];
			size_t old = kv->value ? strlen(kv->value) : 0;
			char *joined = xasprintf("%s%s%.*s", kv->value ? kv->value : "",
						 old ? " " : "", (int)ll, line);
			free(kv->value);
			kv->value = joined;
			continue;
		}
		const char *eq = memchr(line, '=', ll);
		if (!eq)
			return mm_err_set(err, "line %d: expected \"name = value\"", it.lineno);
		const char *name = line, *value = eq + 1;
		size_t nlen = (size_t)(eq - line), vlen = ll - nlen - 1;
		mm_lines_trim(&name, &nlen);
		mm_lines_trim(&value, &vlen);
		if (nlen == 0 || nlen > 128 || memchr(name, ' ', nlen))
			return mm_err_set(err, "line %d: bad parameter name", it.lineno);
		mm_kvlist_addn(out, name, nlen, value, vlen);
	}
	return 0;
}

/* Copies the next blank-separated field of [*p, end) into buf; 0 when
 * there is none, -1 when it does not fit. */
static int next_field(const char **p, const char *end, char *buf, size_t cap)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	const char *s = *p;
	while (*p < end && **p != ' ' && **p != '\t')
		(*p)++;
	size_t n = (size_t)(*p - s);
	if (n == 0)
		return 0;
	if (n >= cap)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 1;
}

int mm_postmulti_parse(const char *text, size_t len, struct mm_pf_instance *out,
		       size_t *n, struct mm_err *err)
{
	struct mm_lines it;
	const char *line;
	size_t ll;
	*n = 0;
	mm_lines_init(&it, text, len);
	while (mm_lines_next(&it, &line, &ll)) {
		mm_lines_trim(&line, &ll);
		if (ll == 0)
			continue;
		if (*n == MM_PF_MAX_INSTANCES)
			return mm_err_set(err, "line %d: more than %d instances", it.lineno,
					  MM_PF_MAX_INSTANCES);
		struct mm_pf_instance *in = &out[*n];
		char enabled[16];
		const char *p = line, *end = line + ll;
		if (next_field(&p, end, in->name, sizeof in->name) != 1 ||
		    next_field(&p, end, in->group, sizeof in->group) != 1 ||
		    next_field(&p, end, enabled, sizeof enabled) != 1 ||
		    next_field(&p, end, in->config_dir, sizeof in->config_dir) != 1)
			return mm_err_set(err, "line %d: expected NAME GROUP ENABLED CONFIG_DIRECTORY",
					  it.lineno);
		if (strcmp(enabled, "y") != 0 && strcmp(enabled, "n") != 0)
			return mm_err_set(err, "line %d: enabled is \"%s\", expected y or n",
					  it.lineno, enabled);
		if (in->config_dir[0] != '/')
			return mm_err_set(err, "line %d: config directory \"%s\" is not absolute",
					  it.lineno, in->config_dir);
		in->enabled = enabled[0] == 'y';
		(*n)++;
	}
	return 0;
}

/*
 * doveconf: see doveconf.h. The block path is kept in one fixed buffer
 * with the offset of each level, so popping a level is a truncation.
 */
#include "discover/doveconf.h"

#include <string.h>

#include "discover/lines.h"

#define MAX_DEPTH 16
#define PATH_MAX_LEN 1024

int mm_doveconf_parse(const char *text, size_t len, struct mm_kvlist *out,
		      struct mm_err *err)
{
	char path[PATH_MAX_LEN + 1];
	size_t depth_at[MAX_DEPTH + 1];
	size_t depth = 0, plen = 0;
	struct mm_lines it;
	const char *line;
	size_t ll;
	path[0] = '\0';
	depth_at[0] = 0;
	mm_lines_init(&it, text, len);
	while (mm_lines_next(&it, &line, &ll)) {
		mm_lines_trim(&line, &ll);
		if (ll == 0 || line[0] == '#')
			continue;
		if (ll == 1 && line[0] == '}') {
			if (depth == 0)
				return mm_err_set(err, "line %d: '}' without a block", it.lineno);
			plen = depth_at[--depth];
			path[plen] = '\0';
			continue;
		}
		const char *eq = memchr(line, '=', ll);
		const char *name = line, *value = NULL;
		size_t nlen, vlen = 0;
		if (line[ll - 1] == '{' && (!eq || (const char *)memchr(line, '{', ll) < eq)) {
			/* "service imap-login {" (names may hold '=' only after '{') */
			nlen = ll - 1;
			mm_lines_trim(&name, &nlen);
			if (nlen == 0)
				return mm_err_set(err, "line %d: block without a name", it.lineno);
			if (depth == MAX_DEPTH)
				return mm_err_set(err, "line %d: blocks nested deeper than %d",
						  it.lineno, MAX_DEPTH);
			if (plen + nlen + 1 > PATH_MAX_LEN)
				return mm_err_set(err, "line %d: block name too long", it.lineno);
			depth_at[depth++] = plen;
			memcpy(path + plen, name, nlen);
			plen += nlen;
			path[plen++] = '/';
			path[plen] = '\0';
			continue;
		}
		if (!eq)
			return mm_err_set(err, "line %d: expected \"name = value\" or \"name {\"",
					  it.lineno);
		nlen = (size_t)(eq - line);
		value = eq + 1;
		vlen = ll - nlen - 1;
		mm_lines_trim(&name, &nlen);
		mm_lines_trim(&value, &vlen);
		if (nlen == 0)
			return mm_err_set(err, "line %d: setting without a name", it.lineno);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
			value++;
			vlen -= 2;
			mm_lines_trim(&value, &vlen);
		}
		if (plen + nlen > PATH_MAX_LEN)
			return mm_err_set(err, "line %d: setting name too long", it.lineno);
		char full[PATH_MAX_LEN + 1];
		memcpy(full, path, plen);
		memcpy(full + plen, name, nlen);
		mm_kvlist_addn(out, full, plen + nlen, value, vlen);
	}
	if (depth != 0)
		return mm_err_set(err, "line %d: %zu block%s not closed", it.lineno, depth,
				  depth == 1 ? "" : "s");
	return 0;
}

/* slapd_urls: see slapd_urls.h. ldapi URLs carry a %-encoded socket path
 * as host, which is kept as written (it is never probed). */
#include "discover/slapd_urls.h"

#include <stdlib.h>
#include <string.h>

#include "discover/lines.h"

static int parse_one(const char *u, size_t len, struct mm_slapd_listener *l,
		     struct mm_err *err)
{
	memset(l, 0, sizeof *l);
	const char *sep = len >= 3 ? memmem(u, len, "://", 3) : NULL;
	if (!sep || (size_t)(sep - u) >= sizeof l->scheme)
		return mm_err_set(err, "\"%.*s\": not an LDAP URL", (int)(len > 80 ? 80 : len), u);
	memcpy(l->scheme, u, (size_t)(sep - u));
	int defport;
	if (strcmp(l->scheme, "ldap") == 0)
		defport = 389;
	else if (strcmp(l->scheme, "ldaps") == 0)
		defport = 636;
	else if (strcmp(l->scheme, "ldapi") == 0)
		defport = 0;
	else
		return mm_err_set(err, "\"%.*s\": scheme %s is not ldap, ldaps or ldapi",
				  (int)(len > 80 ? 80 : len), u, l->scheme);
	const char *h = sep + 3, *end = u + len;
	const char *slash = memchr(h, '/', (size_t)(end - h));
	const char *hend = slash ? slash : end;
	const char *colon = NULL;
	if (defport) {
		const char *rb = (h < hend && *h == '[') ? memchr(h, ']', (size_t)(hend - h)) : NULL;
		colon = memrchr(rb ? rb : h, ':', (size_t)(hend - (rb ? rb : h)));
	}
	const char *hostend = colon ? colon : hend;
	if (defport && hostend - h >= 2 && *h == '[' && hostend[-1] == ']') {
		h++;
		hostend--;
	}
	if ((size_t)(hostend - h) >= sizeof l->host)
		return mm_err_set(err, "\"%.*s\": host too long", (int)(len > 80 ? 80 : len), u);
	memcpy(l->host, h, (size_t)(hostend - h));
	l->port = defport;
	if (colon) {
		char buf[8];
		size_t pl = (size_t)(hend - colon - 1);
		if (pl == 0 || pl >= sizeof buf)
			return mm_err_set(err, "\"%.*s\": bad port", (int)(len > 80 ? 80 : len), u);
		memcpy(buf, colon + 1, pl);
		buf[pl] = '\0';
		char *e;
		long v = strtol(buf, &e, 10);
		if (*e || v < 1 || v > 65535)
			return mm_err_set(err, "\"%.*s\": bad port", (int)(len > 80 ? 80 : len), u);
		l->port = (int)v;
	}
	return 0;
}

int mm_slapd_parse_urls(const char *list, size_t len, struct mm_slapd_listener *out,
			size_t cap, size_t *n, struct mm_err *err)
{
	const char *p = list, *end = list + len;
	*n = 0;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *w = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (p == w)
			break;
		if (*n == cap)
			return mm_err_set(err, "more than %zu listeners", cap);
		if (parse_one(w, (size_t)(p - w), &out[*n], err) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

int mm_slapd_services(const char *text, size_t len, struct mm_slapd_listener *out,
		      size_t cap, size_t *n, struct mm_err *err)
{
	static const char key[] = "SLAPD_SERVICES=";
	struct mm_lines it;
	const char *line, *val = NULL;
	size_t ll, vl = 0;
	int at = 0;
	*n = 0;
	mm_lines_init(&it, text, len);
	while (mm_lines_next(&it, &line, &ll)) {
		mm_lines_trim(&line, &ll);
		if (ll >= sizeof key - 1 && memcmp(line, key, sizeof key - 1) == 0) {
			val = line + sizeof key - 1; /* the last assignment wins, as in sh */
			vl = ll - (sizeof key - 1);
			at = it.lineno;
		}
	}
	if (!val)
		return 0;
	if (vl >= 2 && (val[0] == '"' || val[0] == '\'') && val[vl - 1] == val[0]) {
		val++;
		vl -= 2;
	}
	if (mm_slapd_parse_urls(val, vl, out, cap, n, err) < 0) {
		struct mm_err inner = *err;
		return mm_err_set(err, "line %d: SLAPD_SERVICES: %s", at, inner.msg);
	}
	return 0;
}

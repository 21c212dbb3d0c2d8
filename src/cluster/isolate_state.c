/* isolate_state: see isolate_state.h. */
#include "cluster/isolate_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/strutil.h"

#define HEADER "mailmon-isolate 1"

/* Labels of [a-z0-9_-], dot-separated, none empty. */
bool mm_isolate_dest_ok(const char *dest)
{
	size_t n = strlen(dest);
	if (n == 0 || n >= MM_ISOLATE_DEST || dest[0] == '.' || dest[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = dest[i];
		if (c == '.' && dest[i + 1] == '.')
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return true;
}

/* What transport(5) nexthops look like: host, [address]:port, host:port. */
bool mm_isolate_nexthop_ok(const char *nh)
{
	size_t n = strlen(nh);
	if (n >= MM_ISOLATE_NEXTHOP)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = nh[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(".:[]_-", c)))
			return false;
	}
	return true;
}

bool mm_isolate_transport_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool reason_ok(const char *r)
{
	return mm_isolate_transport_ok(r) && strlen(r) < MM_ISOLATE_REASON;
}

struct mm_isolated *mm_isolate_find(struct mm_isolate_set *set, const char *dest)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].dest, dest) == 0)
			return &set->v[i];
	return NULL;
}

struct mm_isolated *mm_isolate_add(struct mm_isolate_set *set, const char *dest,
				   const char *reason, bool manual, int64_t now_s,
				   const char *nexthop)
{
	if (set->n >= MM_ISOLATE_MAX || !mm_isolate_dest_ok(dest) || !reason_ok(reason) ||
	    !mm_isolate_nexthop_ok(nexthop) || mm_isolate_find(set, dest))
		return NULL;
	struct mm_isolated *e = &set->v[set->n++];
	memset(e, 0, sizeof *e);
	mm_strlcpy(e->dest, dest, sizeof e->dest);
	mm_strlcpy(e->reason, reason, sizeof e->reason);
	mm_strlcpy(e->nexthop, nexthop, sizeof e->nexthop);
	e->manual = manual;
	e->since_s = now_s;
	return e;
}

bool mm_isolate_remove(struct mm_isolate_set *set, const char *dest)
{
	struct mm_isolated *e = mm_isolate_find(set, dest);
	if (!e)
		return false;
	size_t i = (size_t)(e - set->v);
	memmove(&set->v[i], &set->v[i + 1], (set->n - i - 1) * sizeof set->v[0]);
	set->n--;
	return true;
}

void mm_isolate_format(const struct mm_isolate_set *set, struct mm_strbuf *sb)
{
	mm_strbuf_adds(sb, HEADER "\n");
	for (size_t i = 0; i < set->n; i++) {
		const struct mm_isolated *e = &set->v[i];
		mm_strbuf_printf(sb, "%s\t%s\t%s\t%" PRId64 "\t%" PRId64 "\t%s\n", e->dest, e->reason,
				 e->manual ? "manual" : "auto", e->since_s, e->quiet_since_s,
				 e->nexthop);
	}
}

/* A decimal, 0..2^62; false otherwise. */
static bool parse_secs(const char *s, int64_t *out)
{
	if (!*s || strlen(s) > 18)
		return false;
	int64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return true;
}

/* One line (NUL-terminated, no newline) into the set. */
static int parse_line(char *line, struct mm_isolate_set *set, size_t lineno, struct mm_err *err)
{
	char *f[6];
	size_t nf = 0;
	for (char *p = line;;) {
		if (nf == 6)
			return mm_err_set(err, "line %zu: more than 6 fields", lineno);
		f[nf++] = p;
		char *tab = strchr(p, '\t');
		if (!tab)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	if (nf != 6)
		return mm_err_set(err, "line %zu: %zu fields, want 6", lineno, nf);
	bool manual;
	if (strcmp(f[2], "manual") == 0)
		manual = true;
	else if (strcmp(f[2], "auto") == 0)
		manual = false;
	else
		return mm_err_set(err, "line %zu: mode must be auto or manual", lineno);
	int64_t since, quiet;
	if (!parse_secs(f[3], &since) || !parse_secs(f[4], &quiet))
		return mm_err_set(err, "line %zu: bad time", lineno);
	if (!mm_isolate_dest_ok(f[0]))
		return mm_err_set(err, "line %zu: not a destination", lineno);
	if (mm_isolate_find(set, f[0]))
		return mm_err_set(err, "line %zu: %s listed twice", lineno, f[0]);
	if (set->n >= MM_ISOLATE_MAX)
		return mm_err_set(err, "line %zu: more than %d destinations", lineno,
				  MM_ISOLATE_MAX);
	struct mm_isolated *e = mm_isolate_add(set, f[0], f[1], manual, since, f[5]);
	if (!e)
		return mm_err_set(err, "line %zu: bad reason or nexthop", lineno);
	e->quiet_since_s = quiet;
	return 0;
}

int mm_isolate_parse(const char *text, size_t len, struct mm_isolate_set *set,
		     struct mm_err *err)
{
	set->n = 0;
	if (len > MM_ISOLATE_STATE_MAX)
		return mm_err_set(err, "larger than %d bytes", MM_ISOLATE_STATE_MAX);
	if (memchr(text, '\0', len)) {
		mm_err_set(err, "NUL byte");
		return -1;
	}
	size_t lineno = 0;
	const char *p = text, *end = text + len;
	char line[MM_ISOLATE_DEST + MM_ISOLATE_REASON + MM_ISOLATE_NEXTHOP + 64];
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			set->n = 0;
			return mm_err_set(err, "line %zu: no newline at the end (truncated?)",
					  lineno + 1);
		}
		size_t n = (size_t)(nl - p);
		lineno++;
		if (n >= sizeof line) {
			set->n = 0;
			return mm_err_set(err, "line %zu: too long", lineno);
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (lineno == 1) {
			if (strcmp(line, HEADER) != 0)
				return mm_err_set(err, "line 1: not \"" HEADER "\"");
			continue;
		}
		if (parse_line(line, set, lineno, err) < 0) {
			set->n = 0;
			return -1;
		}
	}
	if (lineno == 0)
		return mm_err_set(err, "empty");
	return 0;
}

void mm_isolate_map(const struct mm_isolate_set *set, const char *transport,
		    struct mm_strbuf *sb)
{
	mm_strbuf_adds(sb, "# Written by mailmond ([isolate]); do not edit: mailmond rewrites it.\n"
			   "# Each line routes one isolated destination to the slow transport.\n");
	for (size_t i = 0; i < set->n; i++)
		mm_strbuf_printf(sb, "%s\t%s:%s\n", set->v[i].dest, transport, set->v[i].nexthop);
}

int mm_isolate_nexthop_of(const char *result, char *nh, size_t cap)
{
	/* postmap -q prints the value and a newline; keep the first line. */
	size_t n = strcspn(result, "\r\n");
	while (n > 0 && (result[n - 1] == ' ' || result[n - 1] == '\t'))
		n--;
	const char *colon = memchr(result, ':', n);
	if (!colon)
		return -1; /* no "transport:" part: not a transport(5) result */
	size_t k = n - (size_t)(colon + 1 - result);
	if (k >= cap)
		return -1;
	memcpy(nh, colon + 1, k);
	nh[k] = '\0';
	return mm_isolate_nexthop_ok(nh) ? 0 : -1;
}

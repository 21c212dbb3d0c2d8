/*
 * mastercf: see mastercf.h. Only what discovery needs is kept: the
 * service, type, command word and the -o overrides. Service names are
 * mapped to ports with a fixed table (no /etc/services, no resolver),
 * since only the SMTP family matters here.
 */
#include "discover/mastercf.h"

#include <stdlib.h>
#include <string.h>

#include "core/strutil.h"
#include "core/xalloc.h"
#include "discover/lines.h"

#define MAX_WORDS 256

struct words {
	char *w[MAX_WORDS];
	size_t n;
};

static void words_free(struct words *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i]);
	ws->n = 0;
}

/* Appends the blank-separated words of a line; -1 when there are too many. */
static int split_words(struct words *ws, const char *s, size_t len)
{
	const char *end = s + len;
	while (s < end) {
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		const char *w = s;
		while (s < end && *s != ' ' && *s != '\t')
			s++;
		if (s > w) {
			if (ws->n == MAX_WORDS)
				return -1;
			ws->w[ws->n++] = xstrndup(w, (size_t)(s - w));
		}
	}
	return 0;
}

/* Turns the words of one entry into e; -1 with err when malformed. */
static int finish_entry(struct words *ws, int line, struct mm_master_entry *e,
			struct mm_err *err)
{
	memset(e, 0, sizeof *e);
	e->line = line;
	if (ws->n < 8)
		return mm_err_set(err, "line %d: expected 8 fields, found %zu", line, ws->n);
	if (strlen(ws->w[0]) >= sizeof e->service || strlen(ws->w[1]) >= sizeof e->type)
		return mm_err_set(err, "line %d: service or type too long", line);
	mm_strlcpy(e->service, ws->w[0], sizeof e->service);
	mm_strlcpy(e->type, ws->w[1], sizeof e->type);
	mm_strlcpy(e->command, ws->w[7], sizeof e->command);
	for (size_t i = 8; i < ws->n; i++) {
		const char *opt = NULL;
		if (strcmp(ws->w[i], "-o") == 0 && i + 1 < ws->n)
			opt = ws->w[++i];
		else if (strncmp(ws->w[i], "-o", 2) == 0 && ws->w[i][2])
			opt = ws->w[i] + 2;
		if (!opt)
			continue;
		const char *eq = strchr(opt, '=');
		if (eq)
			mm_kvlist_addn(&e->opts, opt, (size_t)(eq - opt), eq + 1, strlen(eq + 1));
		else
			mm_kvlist_add(&e->opts, opt, NULL);
	}
	return 0;
}

int mm_mastercf_parse(const char *text, size_t len, struct mm_master_entry **out,
		      size_t *n, struct mm_err *err)
{
	struct mm_lines it;
	const char *line;
	size_t ll, cap = 0;
	struct words ws = {.n = 0};
	int start = 0, rc = 0;
	*out = NULL;
	*n = 0;
	mm_lines_init(&it, text, len);
	for (;;) {
		bool more = mm_lines_next(&it, &line, &ll);
		bool cont = more && ll > 0 && (line[0] == ' ' || line[0] == '\t');
		if (more) {
			const char *t = line;
			size_t tl = ll;
			mm_lines_trim(&t, &tl);
			if (tl == 0 || t[0] == '#')
				continue; /* comments and blank lines never end an entry */
		}
		if (!cont && ws.n > 0) {
			if (*n == MM_MASTERCF_MAX_ENTRIES) {
				rc = mm_err_set(err, "line %d: more than %d entries", start,
						MM_MASTERCF_MAX_ENTRIES);
				break;
			}
			*out = xgrow(*out, &cap, *n + 1, sizeof **out);
			rc = finish_entry(&ws, start, &(*out)[*n], err);
			if (rc < 0) {
				mm_kvlist_free(&(*out)[*n].opts);
				break;
			}
			(*n)++;
			words_free(&ws);
		}
		if (!more)
			break;
		if (cont && ws.n == 0) {
			rc = mm_err_set(err, "line %d: continuation line before any entry", it.lineno);
			break;
		}
		if (!cont)
			start = it.lineno;
		if (split_words(&ws, line, ll) < 0) {
			rc = mm_err_set(err, "line %d: entry has more than %d words", start, MAX_WORDS);
			break;
		}
	}
	words_free(&ws);
	return rc;
}

static int port_of_name(const char *name)
{
	static const struct {
		const char *name;
		int port;
	} known[] = {{"smtp", 25}, {"submission", 587}, {"smtps", 465}, {"submissions", 465}};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(name, known[i].name) == 0)
			return known[i].port;
	char *endp;
	long v = strtol(name, &endp, 10);
	if (*name && !*endp && v > 0 && v < 65536)
		return (int)v;
	return 0;
}

void mm_mastercf_listener(const struct mm_master_entry *e, struct mm_master_listener *l)
{
	memset(l, 0, sizeof *l);
	if (strcmp(e->type, "inet") != 0 ||
	    (strcmp(e->command, "smtpd") != 0 && strcmp(e->command, "postscreen") != 0))
		return;
	/* "[::1]:smtp", "127.0.0.1:2525" or "smtp": the port is after the last ':' */
	const char *colon = strrchr(e->service, ':');
	const char *port = colon ? colon + 1 : e->service;
	if (colon) {
		size_t hl = (size_t)(colon - e->service);
		const char *h = e->service;
		if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
			h++;
			hl -= 2;
		}
		if (hl < sizeof l->host) {
			memcpy(l->host, h, hl);
			l->host[hl] = '\0';
		}
	}
	mm_strlcpy(l->port_name, port, sizeof l->port_name);
	l->port = port_of_name(port);
	const char *wrap = mm_kvlist_get(&e->opts, "smtpd_tls_wrappermode");
	if ((wrap && strcmp(wrap, "yes") == 0) || strcmp(port, "smtps") == 0 ||
	    strcmp(port, "submissions") == 0 || l->port == 465)
		l->kind = MM_SMTP_SMTPS;
	else if (strcmp(port, "submission") == 0 || l->port == 587)
		l->kind = MM_SMTP_SUBMISSION;
	else
		l->kind = MM_SMTP_SMTP;
}

void mm_mastercf_free(struct mm_master_entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mm_kvlist_free(&entries[i].opts);
	free(entries);
}

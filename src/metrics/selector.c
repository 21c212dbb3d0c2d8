/*
 * selector: parse and match series selectors (see selector.h).
 */
#include "metrics/selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static bool name_char(char c, bool first, bool label)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!label && c == ':') || (!first && c >= '0' && c <= '9');
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static char *take_name(const char **pp, bool label)
{
	const char *p = *pp, *s = p;
	while (*p && name_char(*p, p == s, label))
		p++;
	if (p == s)
		return NULL;
	*pp = p;
	return xstrndup(s, (size_t)(p - s));
}

/* A double-quoted string with \" \\ \n escapes; NULL when unterminated. */
static char *take_string(const char **pp)
{
	const char *p = *pp;
	if (*p != '"')
		return NULL;
	p++;
	size_t cap = strlen(p) + 1, n = 0;
	char *out = xmalloc(cap);
	while (*p && *p != '"') {
		char c = *p++;
		if (c == '\\') {
			if (!*p)
				break;
			c = *p++;
			if (c == 'n')
				c = '\n';
		}
		out[n++] = c;
	}
	if (*p != '"') {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*pp = p + 1;
	return out;
}

/* glibc's regcomp can take exponential memory on stacked repetitions
 * ("a++++", "(a{99}){99}"), and a selector may come from an HTTP client:
 * refuse what a series selector never needs. */
#define RE_MAX_LEN 256
#define RE_MAX_REPEATS 16
#define RE_MAX_COUNT 64

static const char *regex_problem(const char *re)
{
	if (strlen(re) > RE_MAX_LEN)
		return "longer than 256 bytes";
	int repeats = 0;
	bool after_repeat = false;
	for (const char *p = re; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			after_repeat = false;
			continue;
		}
		bool rep = *p == '*' || *p == '+' || *p == '?' || *p == '{';
		if (rep && after_repeat)
			return "a repetition of a repetition";
		if (rep && ++repeats > RE_MAX_REPEATS)
			return "more than 16 repetitions";
		if (*p == '{') {
			for (const char *q = p + 1; *q && *q != '}'; q++)
				if (*q >= '0' && *q <= '9' && atoi(q) > RE_MAX_COUNT)
					return "a repeat count over 64";
			const char *close = strchr(p, '}');
			if (close)
				p = close;
		}
		/* a group's closing parenthesis followed by a repeat, whose body
		 * already ends in one, is the nested case: "(a+)+" */
		after_repeat = rep || (*p == ')' && p > re && strchr("*+?}", p[-1]));
	}
	return NULL;
}

int mm_selector_parse(const char *text, struct mm_selector *sel, struct mm_err *err)
{
	memset(sel, 0, sizeof *sel);
	const char *p = skip_ws(text);
	sel->name = take_name(&p, false);
	if (!sel->name)
		return mm_err_set(err, "selector '%s': expected a metric name at column %zu", text,
				  (size_t)(p - text) + 1);
	p = skip_ws(p);
	if (*p == '{') {
		p = skip_ws(p + 1);
		while (*p != '}') {
			if (sel->n == MM_SELECTOR_MAX_MATCHERS) {
				mm_err_set(err, "selector '%s': more than %d matchers", text,
					   MM_SELECTOR_MAX_MATCHERS);
				goto fail;
			}
			struct mm_matcher *m = &sel->m[sel->n];
			m->label = take_name(&p, true);
			if (!m->label) {
				mm_err_set(err, "selector '%s': expected a label name at column %zu",
					   text, (size_t)(p - text) + 1);
				goto fail;
			}
			p = skip_ws(p);
			if (strncmp(p, "=~", 2) == 0)
				m->op = MM_MATCH_RE, p += 2;
			else if (strncmp(p, "!~", 2) == 0)
				m->op = MM_MATCH_NRE, p += 2;
			else if (strncmp(p, "!=", 2) == 0)
				m->op = MM_MATCH_NE, p += 2;
			else if (*p == '=')
				m->op = MM_MATCH_EQ, p += 1;
			else {
				free(m->label);
				mm_err_set(err, "selector '%s': expected =, !=, =~ or !~ at column %zu",
					   text, (size_t)(p - text) + 1);
				goto fail;
			}
			p = skip_ws(p);
			m->value = take_string(&p);
			if (!m->value) {
				free(m->label);
				mm_err_set(err, "selector '%s': expected a \"quoted\" value at column %zu",
					   text, (size_t)(p - text) + 1);
				goto fail;
			}
			if (m->op == MM_MATCH_RE || m->op == MM_MATCH_NRE) {
				const char *why = regex_problem(m->value);
				if (why) {
					mm_err_set(err, "selector '%s': regular expression \"%s\": %s",
						   text, m->value, why);
					free(m->label);
					free(m->value);
					goto fail;
				}
				char *anchored = xasprintf("^(%s)$", m->value);
				int rc = regcomp(&m->re, anchored, REG_EXTENDED | REG_NOSUB);
				free(anchored);
				if (rc != 0) {
					mm_err_set(err, "selector '%s': bad regular expression \"%s\"",
						   text, m->value);
					free(m->label);
					free(m->value);
					goto fail;
				}
			}
			sel->n++;
			p = skip_ws(p);
			if (*p == ',')
				p = skip_ws(p + 1);
			else if (*p != '}') {
				mm_err_set(err, "selector '%s': expected , or } at column %zu", text,
					   (size_t)(p - text) + 1);
				goto fail;
			}
		}
		p = skip_ws(p + 1);
	}
	if (*p) {
		mm_err_set(err, "selector '%s': unexpected text at column %zu", text,
			   (size_t)(p - text) + 1);
		goto fail;
	}
	return 0;
fail:
	mm_selector_free(sel);
	return -1;
}

void mm_selector_free(struct mm_selector *sel)
{
	for (size_t i = 0; i < sel->n; i++) {
		if (sel->m[i].op == MM_MATCH_RE || sel->m[i].op == MM_MATCH_NRE)
			regfree(&sel->m[i].re);
		free(sel->m[i].label);
		free(sel->m[i].value);
	}
	free(sel->name);
	memset(sel, 0, sizeof *sel);
}

static const char *label_value(const struct mm_metric *m, const struct mm_series *s,
			       const char *label)
{
	const struct mm_metric_def *def = mm_metric_def(m);
	for (size_t i = 0; i < mm_metric_nlabels(m); i++)
		if (strcmp(def->labels[i], label) == 0)
			return s->lv[i];
	return "";
}

bool mm_matcher_test(const struct mm_matcher *mt, const char *v)
{
	switch (mt->op) {
	case MM_MATCH_EQ:
		return strcmp(v, mt->value) == 0;
	case MM_MATCH_NE:
		return strcmp(v, mt->value) != 0;
	case MM_MATCH_RE:
		return regexec(&mt->re, v, 0, NULL, 0) == 0;
	default:
		return regexec(&mt->re, v, 0, NULL, 0) != 0;
	}
}

bool mm_selector_match(const struct mm_selector *sel, const struct mm_metric *m,
		       const struct mm_series *s)
{
	if (strcmp(sel->name, mm_metric_def(m)->name) != 0)
		return false;
	for (size_t i = 0; i < sel->n; i++)
		if (!mm_matcher_test(&sel->m[i], label_value(m, s, sel->m[i].label)))
			return false;
	return true;
}

int mm_selector_check(const struct mm_selector *sel, const struct mm_registry *r,
		      struct mm_err *err)
{
	const struct mm_metric *m = mm_registry_find(r, sel->name);
	if (!m)
		return mm_err_set(err, "unknown metric '%s' (mailmon metrics lists them)", sel->name);
	const struct mm_metric_def *def = mm_metric_def(m);
	for (size_t i = 0; i < sel->n; i++) {
		bool found = false;
		for (size_t k = 0; k < mm_metric_nlabels(m) && !found; k++)
			found = strcmp(def->labels[k], sel->m[i].label) == 0;
		if (!found)
			return mm_err_set(err, "metric %s has no label '%s'", sel->name,
					  sel->m[i].label);
	}
	return 0;
}

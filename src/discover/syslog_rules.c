/*
 * syslog_rules: see syslog_rules.h. rsyslog is read line by line (legacy
 * "selector action" lines and action(type="omfile" file="...")); syslog-ng
 * as statements "KIND [NAME] { BODY };" whose destinations, filters and
 * log paths are joined afterwards.
 */
#include "discover/syslog_rules.h"

#include <ctype.h>
#include <string.h>

#include "discover/lines.h"

static void add_once(struct mm_kvlist *l, const char *s, size_t n)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i].name) == n && memcmp(l->v[i].name, s, n) == 0)
			return;
	mm_kvlist_addn(l, s, n, NULL, 0);
}

static bool has_word(const char *list, size_t len, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list, *end = list + len;
	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t n = c ? (size_t)(c - p) : (size_t)(end - p);
		if (n == wl && memcmp(p, word, wl) == 0)
			return true;
		p = c ? c + 1 : end;
	}
	return false;
}

/* Does "fac1,fac2.prio;fac3.prio" send mail at info to the action?
 * *mail: 2 when mail is named at any priority (*, debug), 1 at info;
 * *all: "*" at info or lower with no mail.none after it. */
static void classify_selector(const char *sel, size_t len, int *mail, bool *all)
{
	*mail = 0;
	*all = false;
	bool mail_none = false;
	const char *p = sel, *end = sel + len;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		size_t n = semi ? (size_t)(semi - p) : (size_t)(end - p);
		const char *dot = memrchr(p, '.', n);
		if (dot) {
			size_t fl = (size_t)(dot - p), pl = n - fl - 1;
			const char *prio = dot + 1;
			bool none = pl == 4 && memcmp(prio, "none", 4) == 0;
			bool every = (pl == 1 && prio[0] == '*') ||
				     (pl == 5 && memcmp(prio, "debug", 5) == 0);
			bool low = every || (pl == 4 && memcmp(prio, "info", 4) == 0) ||
				   (pl == 5 && memcmp(prio, "=info", 5) == 0);
			if (has_word(p, fl, "mail")) {
				if (none)
					mail_none = true;
				else if (low && *mail < (every ? 2 : 1))
					*mail = every ? 2 : 1;
			}
			if (has_word(p, fl, "*") && low)
				*all = true;
		}
		p = semi ? semi + 1 : end;
	}
	if (mail_none)
		*all = false;
}

/* The file of an action: "-/var/log/mail.log", "/var/log/x", or
 * action(type="omfile" file="/var/log/x" ...). */
static bool action_file(const char *a, size_t len, const char **f, size_t *fl)
{
	if (len > 0 && a[0] == '-') {
		a++;
		len--;
	}
	if (len > 0 && a[0] == '/') {
		const char *sp = memchr(a, ' ', len);
		*f = a;
		*fl = sp ? (size_t)(sp - a) : len;
		return true;
	}
	if (len > 7 && memcmp(a, "action(", 7) == 0 && memmem(a, len, "omfile", 6)) {
		const char *k = memmem(a, len, "file=\"", 6);
		if (!k)
			return false;
		k += 6;
		const char *q = memchr(k, '"', (size_t)(a + len - k));
		if (!q || q == k || k[0] != '/')
			return false;
		*f = k;
		*fl = (size_t)(q - k);
		return true;
	}
	return false;
}

size_t mm_rsyslog_mail_files(const char *text, size_t len, struct mm_kvlist *mail,
			     struct mm_kvlist *all)
{
	struct mm_lines it;
	const char *line;
	size_t ll, skipped = 0;
	/* Files that get all mail, and those that get mail.info: when both
	 * exist, the second only repeats the first. */
	struct mm_kvlist every = {0}, info = {0};
	mm_lines_init(&it, text, len);
	while (mm_lines_next(&it, &line, &ll)) {
		mm_lines_trim(&line, &ll);
		if (ll == 0 || line[0] == '#' || line[0] == '$')
			continue;
		/* selector, blanks, action */
		size_t sl = 0;
		while (sl < ll && line[sl] != ' ' && line[sl] != '\t')
			sl++;
		const char *act = line + sl;
		size_t al = ll - sl;
		mm_lines_trim(&act, &al);
		const char *f;
		size_t fl;
		if (sl == ll || !memchr(line, '.', sl) || !action_file(act, al, &f, &fl)) {
			/* module(), input(), if ... then, templates: not a file rule */
			skipped++;
			continue;
		}
		int to_mail;
		bool to_all;
		classify_selector(line, sl, &to_mail, &to_all);
		if (to_mail == 2)
			add_once(&every, f, fl);
		else if (to_mail == 1)
			add_once(&info, f, fl);
		else if (to_all)
			add_once(all, f, fl);
	}
	const struct mm_kvlist *best = every.n ? &every : &info;
	for (size_t i = 0; i < best->n; i++)
		add_once(mail, best->v[i].name, strlen(best->v[i].name));
	mm_kvlist_free(&every);
	mm_kvlist_free(&info);
	return skipped;
}

struct ng_scan {
	const char *p, *end;
};

static void ng_skip_space(struct ng_scan *s)
{
	while (s->p < s->end) {
		char c = *s->p;
		if (c == '#') {
			while (s->p < s->end && *s->p != '\n')
				s->p++;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			s->p++;
		} else {
			return;
		}
	}
}

static size_t ng_word(struct ng_scan *s, const char **w)
{
	ng_skip_space(s);
	*w = s->p;
	while (s->p < s->end && (*s->p == '_' || *s->p == '-' || *s->p == '.' || *s->p == '@' ||
				 (*s->p >= '0' && *s->p <= '9') || (*s->p >= 'a' && *s->p <= 'z') ||
				 (*s->p >= 'A' && *s->p <= 'Z')))
		s->p++;
	return (size_t)(s->p - *w);
}

/* From just after '{' to the matching '}'; false when unbalanced. */
static bool ng_body(struct ng_scan *s, const char **b, size_t *bl)
{
	int depth = 1;
	char quote = 0;
	*b = s->p;
	while (s->p < s->end) {
		char c = *s->p++;
		if (quote) {
			if (c == '\\' && s->p < s->end)
				s->p++;
			else if (c == quote)
				quote = 0;
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '#') {
			while (s->p < s->end && *s->p != '\n')
				s->p++;
		} else if (c == '{') {
			depth++;
		} else if (c == '}' && --depth == 0) {
			*bl = (size_t)(s->p - 1 - *b);
			return true;
		}
	}
	return false;
}

/* Each "call(ARG)" in body with the given call name, ARG unquoted. */
static bool ng_next_arg(const char *begin, const char **p, const char *end,
			const char *call, const char **a, size_t *al)
{
	size_t cl = strlen(call);
	while (*p < end) {
		const char *m = memmem(*p, (size_t)(end - *p), call, cl);
		if (!m)
			return false;
		*p = m + cl;
		/* a whole word ("file", not "logfile") followed by '(' */
		if (m > begin && (isalnum((unsigned char)m[-1]) || m[-1] == '_'))
			continue;
		const char *q = *p;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q >= end || *q != '(')
			continue;
		q++;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		char quote = (q < end && (*q == '"' || *q == '\'')) ? *q : 0;
		if (quote)
			q++;
		const char *st = q;
		while (q < end && (quote ? *q != quote : (*q != ')' && *q != ' ' && *q != '\t')))
			q++;
		if (q >= end)
			return false;
		*a = st;
		*al = (size_t)(q - st);
		*p = q;
		return true;
	}
	return false;
}

size_t mm_syslogng_mail_files(const char *text, size_t len, struct mm_kvlist *mail,
			      struct mm_kvlist *all)
{
	struct mm_kvlist dests = {0}, mailfilters = {0}, levelfilters = {0};
	struct mm_kvlist logs = {0}; /* body of each log statement, as name */
	struct ng_scan s = {text, text + len};
	size_t skipped = 0;
	for (;;) {
		const char *kind, *name = NULL, *body;
		size_t kl, nl = 0, bl;
		kl = ng_word(&s, &kind);
		ng_skip_space(&s);
		if (s.p >= s.end)
			break;
		if (kl > 0 && *s.p != '{') {
			nl = ng_word(&s, &name);
			ng_skip_space(&s);
		}
		if (kl == 0 || s.p >= s.end || *s.p != '{') {
			/* @version: 3.38, options without a name, junk: skip to ';' */
			skipped++;
			const char *semi = memchr(s.p, ';', (size_t)(s.end - s.p));
			const char *nl2 = memchr(s.p, '\n', (size_t)(s.end - s.p));
			const char *stop = semi && (!nl2 || semi < nl2) ? semi : nl2;
			if (!stop)
				break;
			s.p = stop + 1;
			continue;
		}
		s.p++;
		if (!ng_body(&s, &body, &bl))
			break;
		if (kl == 11 && memcmp(kind, "destination", 11) == 0 && nl > 0) {
			const char *p = body, *f;
			size_t fl;
			if (ng_next_arg(body, &p, body + bl, "file", &f, &fl) && fl > 0 && f[0] == '/')
				mm_kvlist_addn(&dests, name, nl, f, fl);
		} else if (kl == 6 && memcmp(kind, "filter", 6) == 0 && nl > 0) {
			const char *p = body, *f;
			size_t fl;
			bool is_mail = false;
			while (ng_next_arg(body, &p, body + bl, "facility", &f, &fl))
				if (fl >= 4 && memcmp(f, "mail", 4) == 0 &&
				    !(f - body >= 13 && memmem(f - 13, 13, "not ", 4)))
					is_mail = true;
			if (is_mail)
				mm_kvlist_addn(&mailfilters, name, nl, NULL, 0);
			if (memmem(body, bl, "level(", 6) || memmem(body, bl, "priority(", 9))
				mm_kvlist_addn(&levelfilters, name, nl, NULL, 0);
		} else if (kl == 3 && memcmp(kind, "log", 3) == 0) {
			mm_kvlist_addn(&logs, body, bl, NULL, 0);
		}
	}
	for (size_t i = 0; i < logs.n; i++) {
		const char *b = logs.v[i].name, *end = b + strlen(b), *p = b, *a;
		size_t al;
		int nfilters = 0, nmail = 0, nlevel = 0;
		char nm[256];
		while (ng_next_arg(b, &p, end, "filter", &a, &al)) {
			nfilters++;
			if (al < sizeof nm) {
				memcpy(nm, a, al);
				nm[al] = '\0';
				for (size_t k = 0; k < mailfilters.n; k++)
					if (strcmp(mailfilters.v[k].name, nm) == 0)
						nmail++;
				for (size_t k = 0; k < levelfilters.n; k++)
					if (strcmp(levelfilters.v[k].name, nm) == 0)
						nlevel++;
			}
		}
		p = b;
		while (ng_next_arg(b, &p, end, "destination", &a, &al)) {
			if (al >= sizeof nm)
				continue;
			memcpy(nm, a, al);
			nm[al] = '\0';
			const char *f = mm_kvlist_get(&dests, nm);
			if (!f)
				continue;
			if (nlevel > 0)
				continue; /* only some priorities: a subset of another file */
			if (nmail > 0)
				add_once(mail, f, strlen(f));
			else if (nfilters == 0)
				add_once(all, f, strlen(f));
		}
	}
	mm_kvlist_free(&dests);
	mm_kvlist_free(&mailfilters);
	mm_kvlist_free(&levelfilters);
	mm_kvlist_free(&logs);
	return skipped;
}

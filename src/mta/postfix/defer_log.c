/*
 * defer_log: see defer_log.h. The text is copied once and cut into lines
 * in place; entries point into the copy.
 */
#include "mta/postfix/defer_log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"

static void add_entry(struct mm_pf_defer *d, struct mm_pf_defer_ent *cur)
{
	if (!cur->rcpt)
		return;
	d->e = xgrow(d->e, &d->cap, d->n + 1, sizeof *d->e);
	d->e[d->n++] = *cur;
}

void mm_pf_defer_parse(const char *text, size_t len, struct mm_pf_defer *d)
{
	d->n = 0;
	d->oversize = 0;
	d->text = xgrow(d->text, &d->tcap, len + 1, 1);
	memcpy(d->text, text, len);
	d->text[len] = '\0';

	struct mm_pf_defer_ent cur = {0};
	char *p = d->text, *end = d->text + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		size_t llen = (size_t)(eol - p);
		*eol = '\0';
		if (llen > MM_PF_DEFER_MAX_LINE) {
			d->oversize++;
		} else if (llen == 0) {
			add_entry(d, &cur);
			memset(&cur, 0, sizeof cur);
		} else if (p[0] == '<') {
			/* Old format: "<rcpt>: reason". */
			char *close = strstr(p, ">: ");
			if (close) {
				*close = '\0';
				struct mm_pf_defer_ent old = {.rcpt = p + 1, .reason = close + 3};
				add_entry(d, &old);
			}
		} else {
			char *eq = strchr(p, '=');
			if (eq) {
				*eq = '\0';
				const char *v = eq + 1;
				if (strcmp(p, "recipient") == 0)
					cur.rcpt = v;
				else if (strcmp(p, "status") == 0)
					cur.status = v;
				else if (strcmp(p, "reason") == 0)
					cur.reason = v;
			}
		}
		p = eol + 1;
	}
	add_entry(d, &cur); /* an unterminated last entry still counts */
}

const struct mm_pf_defer_ent *mm_pf_defer_find(const struct mm_pf_defer *d, const char *rcpt)
{
	for (size_t i = d->n; i-- > 0;)
		if (strcmp(d->e[i].rcpt, rcpt) == 0)
			return &d->e[i];
	for (size_t i = d->n; i-- > 0;)
		if (strcasecmp(d->e[i].rcpt, rcpt) == 0)
			return &d->e[i];
	return NULL;
}

void mm_pf_defer_free(struct mm_pf_defer *d)
{
	free(d->e);
	free(d->text);
	memset(d, 0, sizeof *d);
}

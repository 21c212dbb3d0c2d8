/*
 * qshape: see qshape.h. The table is built with a private hash from row
 * name to row index; the column widths and the domain truncation are
 * those of qshape's results() and pdomain().
 */
#include "mta/qshape.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/nameidx.h"
#include "core/xalloc.h"
#include "mta/reason_class.h"

void mm_qshape_opts_default(struct mm_qshape_opts *o)
{
	memset(o, 0, sizeof *o);
	o->tick = 5;
	o->nbuckets = 10;
	o->minsub = 5;
	o->width = 80;
}

void mm_qshape_domain(const char *addr, char *buf, size_t cap)
{
	char tmp[1024];
	size_t n = 0;
	if (!*addr) {
		snprintf(buf, cap, "MAILER-DAEMON");
		return;
	}
	const char *at = strrchr(addr, '@');
	const char *p = at ? at + 1 : addr;
	/* s/\.\././g */
	for (; *p && n < sizeof tmp - 1; p++) {
		tmp[n++] = (char)tolower((unsigned char)*p);
		if (*p == '.' && p[1] == '.')
			p++;
	}
	tmp[n] = '\0';
	/* s/\.?(.+?)\.?$/$1/ */
	char *s = tmp;
	size_t len = n;
	if (len >= 2 && s[0] == '.') {
		s++;
		len--;
	}
	if (len >= 2 && s[len - 1] == '.')
		s[--len] = '\0';
	snprintf(buf, cap, "%s", s);
}

int mm_qshape_bucket(const struct mm_qshape_opts *o, int64_t arrival)
{
	double m = (double)(o->now_s - arrival) / (60.0 * o->tick);
	if (m < 1)
		return 1;
	double b = o->linear ? floor(m + 1) : 2 + floor(log(m) / log(2));
	return b < o->nbuckets ? (int)b : o->nbuckets;
}

static const char *row_name(const void *rows, size_t i)
{
	return ((const struct mm_qshape_row *)rows)[i].name;
}

/* The row for name, created empty when new; *isnew tells which. */
static struct mm_qshape_row *row(struct mm_qshape *t, const char *name, bool *isnew)
{
	struct mm_nameidx *ix = t->index;
	mm_nameidx_reserve(ix, t->n + 1, 256, row_name, t->rows);
	size_t *slot = mm_nameidx_slot(ix, name, row_name, t->rows);
	if (isnew)
		*isnew = *slot == 0;
	if (*slot)
		return &t->rows[*slot - 1];
	t->rows = xgrow(t->rows, &t->cap, t->n + 1, sizeof *t->rows);
	struct mm_qshape_row *r = &t->rows[t->n];
	memset(r, 0, sizeof *r);
	r->name = xstrdup(name);
	r->cells = xcalloc((size_t)t->opts.nbuckets + 1, sizeof *r->cells);
	r->oldest = INT64_MAX;
	*slot = ++t->n;
	return r;
}

static void add_reason(struct mm_qshape_row *r, const struct mm_qrcpt *rc)
{
	if (!rc || rc->rclass == MM_RC_NONE)
		return;
	for (size_t i = 0; i < r->nreasons; i++)
		if (r->reasons[i].rclass == rc->rclass && r->reasons[i].code == rc->code) {
			r->reasons[i].count++;
			return;
		}
	r->reasons = xrealloc(r->reasons, (r->nreasons + 1) * sizeof *r->reasons);
	r->reasons[r->nreasons++] = (struct mm_qshape_reason){rc->rclass, rc->code, 1};
}

/* qshape's parent step: "a.b.c" -> ".b.c", ".b.c" -> stop (no TLDs). */
static bool parent_step(char *a)
{
	size_t i = a[0] == '.' ? 1 : 0;
	size_t j = i;
	while (a[j] && a[j] != '.')
		j++;
	if (j == i || a[j] != '.' || !strchr(a + j + 1, '.'))
		return false;
	size_t rest = strlen(a + j + 1);
	a[0] = '.';
	memmove(a + 1, a + j + 1, rest + 1);
	return true;
}

static void count(struct mm_qshape *t, const char *addr, int b, int64_t arrival,
		  const struct mm_qrcpt *rc)
{
	struct mm_qshape_row *total = row(t, "TOTAL", NULL);
	total->cells[0]++;
	total->cells[b]++;
	if (arrival < total->oldest)
		total->oldest = arrival;
	add_reason(total, rc);
	char a[1024];
	mm_qshape_domain(addr, a, sizeof a);
	bool isnew = false;
	do {
		bool was_new = isnew;
		struct mm_qshape_row *r = row(t, a, &isnew);
		r->cells[0]++;
		r->cells[b]++;
		if (arrival < r->oldest)
			r->oldest = arrival;
		add_reason(r, rc);
		if (was_new)
			r->sub++;
		isnew = r->cells[0] == 1;
	} while (t->opts.parents && parent_step(a));
}

static int cmp_rows(const void *pa, const void *pb)
{
	const struct mm_qshape_row *a = pa, *b = pb;
	if (a->cells[0] != b->cells[0])
		return a->cells[0] > b->cells[0] ? -1 : 1;
	size_t la = strlen(a->name), lb = strlen(b->name);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int cmp_reasons(const void *pa, const void *pb)
{
	const struct mm_qshape_reason *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return a->rclass != b->rclass ? a->rclass - b->rclass : a->code - b->code;
}

void mm_qshape_build(const struct mm_qsnap *snap, unsigned qmask, const struct mm_qshape_opts *o,
		     struct mm_qshape *t)
{
	memset(t, 0, sizeof *t);
	t->opts = *o;
	struct mm_nameidx ix = {0};
	t->index = &ix;
	row(t, "TOTAL", NULL);
	for (size_t i = 0; i < snap->n; i++) {
		const struct mm_qmsg *m = snap->msgs[i];
		if (!(qmask & MM_QMASK(m->queue)) || m->nrcpt == 0)
			continue;
		int b = mm_qshape_bucket(o, m->arrival);
		if (o->senders) {
			/* The sender row's reasons: those of the first delayed recipient. */
			const struct mm_qrcpt *rc = NULL;
			for (uint32_t k = 0; k < m->nrcpt && !rc; k++)
				if (m->rcpt[k].rclass != MM_RC_NONE)
					rc = &m->rcpt[k];
			count(t, m->sender, b, m->arrival, rc);
		} else {
			for (uint32_t k = 0; k < m->nrcpt; k++)
				count(t, m->rcpt[k].addr, b, m->arrival, &m->rcpt[k]);
		}
	}
	mm_nameidx_free(&ix);
	t->index = NULL;
	qsort(t->rows, t->n, sizeof *t->rows, cmp_rows);
	size_t shown = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct mm_qshape_row *r = &t->rows[i];
		r->shown = !(r->name[0] == '.' && r->sub < (uint64_t)o->minsub);
		if (r->shown && o->top > 0 && ++shown > o->top)
			r->shown = false;
		if (r->nreasons > 1)
			qsort(r->reasons, r->nreasons, sizeof *r->reasons, cmp_reasons);
	}
}

const struct mm_qshape_row *mm_qshape_find(const struct mm_qshape *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->rows[i].name, name) == 0)
			return &t->rows[i];
	return NULL;
}

void mm_format_age(int64_t secs, char *buf, size_t cap)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 86400)
		snprintf(buf, cap, "%lldd%lldh", (long long)(secs / 86400),
			 (long long)(secs % 86400 / 3600));
	else if (secs >= 3600)
		snprintf(buf, cap, "%lldh%lldm", (long long)(secs / 3600),
			 (long long)(secs % 3600 / 60));
	else if (secs >= 60)
		snprintf(buf, cap, "%lldm%llds", (long long)(secs / 60), (long long)(secs % 60));
	else
		snprintf(buf, cap, "%llds", (long long)secs);
}

/* The column headings: "T", then bucket upper bounds, the last with "+". */
static char **headings(const struct mm_qshape_opts *o)
{
	char **h = xcalloc((size_t)o->nbuckets + 1, sizeof *h);
	long t = 0;
	for (int i = 0; i <= o->nbuckets;) {
		h[i] = i == 0 ? xstrdup("T") : xasprintf("%ld", t);
		if (++i < o->nbuckets)
			t += (t && !o->linear) ? t : o->tick;
		else if (i == o->nbuckets)
			h[i] = xasprintf("%ld+", t), i++;
	}
	return h;
}

static void print_name(FILE *out, const char *d, int dw)
{
	int len = (int)strlen(d);
	if (len > dw) {
		if (d[0] == '.')
			fprintf(out, ".+%s", d + len - dw + 2);
		else
			fprintf(out, "+%s", d + len - dw + 1);
	} else {
		fprintf(out, "%*s", dw, d);
	}
}

static void print_reasons(FILE *out, const struct mm_qshape_row *r)
{
	fputs("  ", out);
	for (size_t i = 0; i < r->nreasons && i < 4; i++) {
		char label[16];
		mm_rclass_label(r->reasons[i].rclass, r->reasons[i].code, label, sizeof label);
		fprintf(out, "%s%s:%llu", i ? " " : "", label, (unsigned long long)r->reasons[i].count);
	}
	if (r->nreasons > 4)
		fputs(" ...", out);
}

void mm_qshape_print(FILE *out, const struct mm_qshape *t, unsigned extras,
		     const struct mm_qshape *prev)
{
	const struct mm_qshape_opts *o = &t->opts;
	char **heads = headings(o);
	const struct mm_qshape_row *total = mm_qshape_find(t, "TOTAL");
	int *w = xcalloc((size_t)o->nbuckets + 1, sizeof *w);
	int dw = o->width;
	for (int i = 0; i <= o->nbuckets; i++) {
		char num[32];
		int l = snprintf(num, sizeof num, "%llu", (unsigned long long)total->cells[i]);
		int hl = (int)strlen(heads[i]);
		if (hl >= l)
			l = hl;
		l = l > 2 ? l + 1 : 3;
		w[i] = l;
		dw -= l;
	}
	if (dw < 18)
		dw = 18;
	print_name(out, "", dw);
	for (int i = 0; i <= o->nbuckets; i++)
		fprintf(out, "%*s", w[i], heads[i]);
	if (prev)
		fputs("   chg", out);
	if (extras & MM_QSHAPE_OLDEST)
		fputs("   oldest", out);
	if (extras & MM_QSHAPE_REASONS)
		fputs("  reasons", out);
	fputc('\n', out);
	for (size_t k = 0; k < t->n; k++) {
		const struct mm_qshape_row *r = &t->rows[k];
		if (!r->shown)
			continue;
		print_name(out, r->name, dw);
		for (int i = 0; i <= o->nbuckets; i++)
			fprintf(out, "%*llu", w[i], (unsigned long long)r->cells[i]);
		if (prev) {
			const struct mm_qshape_row *p = mm_qshape_find(prev, r->name);
			long long d = (long long)r->cells[0] - (long long)(p ? p->cells[0] : 0);
			fprintf(out, " %+5lld", d);
		}
		if (extras & MM_QSHAPE_OLDEST) {
			char age[32];
			mm_format_age(o->now_s - r->oldest, age, sizeof age);
			fprintf(out, " %8s", age);
		}
		if (extras & MM_QSHAPE_REASONS)
			print_reasons(out, r);
		fputc('\n', out);
	}
	for (int i = 0; i <= o->nbuckets; i++)
		free(heads[i]);
	free(heads);
	free(w);
}

json_t *mm_qshape_json(const struct mm_qshape *t)
{
	const struct mm_qshape_opts *o = &t->opts;
	char **heads = headings(o);
	json_t *jh = json_array();
	for (int i = 1; i <= o->nbuckets; i++)
		json_array_append_new(jh, json_string(heads[i]));
	json_t *rows = json_array();
	for (size_t k = 0; k < t->n; k++) {
		const struct mm_qshape_row *r = &t->rows[k];
		if (!r->shown)
			continue;
		json_t *cells = json_array();
		for (int i = 1; i <= o->nbuckets; i++)
			json_array_append_new(cells, json_integer((json_int_t)r->cells[i]));
		json_t *reasons = json_object();
		for (size_t i = 0; i < r->nreasons; i++) {
			char label[16];
			mm_rclass_label(r->reasons[i].rclass, r->reasons[i].code, label, sizeof label);
			json_object_set_new(reasons, label, json_integer((json_int_t)r->reasons[i].count));
		}
		json_array_append_new(
			rows, json_pack("{s:s, s:I, s:o, s:o, s:o}", "domain", r->name, "total",
					(json_int_t)r->cells[0], "buckets", cells, "oldest_age_s",
					r->oldest == INT64_MAX ? json_null()
							       : json_integer((json_int_t)(o->now_s - r->oldest)),
					"reasons", reasons));
	}
	for (int i = 0; i <= o->nbuckets; i++)
		free(heads[i]);
	free(heads);
	return json_pack("{s:I, s:i, s:b, s:b, s:b, s:o, s:o}", "now", (json_int_t)o->now_s,
			 "bucket_minutes", o->tick, "linear", o->linear, "senders", o->senders,
			 "parents", o->parents, "buckets", jh, "rows", rows);
}

void mm_qshape_free(struct mm_qshape *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->rows[i].name);
		free(t->rows[i].cells);
		free(t->rows[i].reasons);
	}
	free(t->rows);
	memset(t, 0, sizeof *t);
}

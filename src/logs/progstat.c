/* progstat: see progstat.h. */
#include "logs/progstat.h"

#include <string.h>

#include "mta/qshape.h"

void mm_progstat_init(struct mm_progstat *ps)
{
	memset(ps, 0, sizeof *ps);
}

/* Adds one to name's row; a full table counts it under "other". */
static void bump(struct mm_progstat_table *t, const char *p, size_t len)
{
	if (len >= MM_PROGSTAT_NAME_MAX)
		len = MM_PROGSTAT_NAME_MAX - 1;
	for (size_t i = 0; i < t->n; i++) {
		struct mm_progstat_row *r = &t->v[i];
		if (strncmp(r->name, p, len) == 0 && r->name[len] == '\0') {
			r->n++;
			return;
		}
	}
	if (t->n >= MM_PROGSTAT_MAX - 1) { /* the last row is "other" */
		for (size_t i = 0; i < t->n; i++)
			if (strcmp(t->v[i].name, "other") == 0) {
				t->v[i].n++;
				return;
			}
		if (t->n == MM_PROGSTAT_MAX)
			return; /* not reached: only "other" fills the last row */
		p = "other";
		len = 5;
	}
	struct mm_progstat_row *r = &t->v[t->n++];
	memcpy(r->name, p, len);
	r->name[len] = '\0';
	r->n = 1;
}

static int sv_is(struct mm_sv s, const char *lit)
{
	size_t n = strlen(lit);
	return s.p && s.len == n && memcmp(s.p, lit, n) == 0;
}

static int ends_with(struct mm_sv s, const char *lit)
{
	size_t n = strlen(lit);
	return s.p && s.len >= n && memcmp(s.p + s.len - n, lit, n) == 0;
}

/* "connect to transport private/NAME: ..." -> NAME (a view), else len 0. */
static struct mm_sv transport_of(struct mm_sv reason)
{
	static const char pre[] = "connect to transport ";
	struct mm_sv out = {NULL, 0};
	if (!reason.p || reason.len <= sizeof pre - 1 || memcmp(reason.p, pre, sizeof pre - 1))
		return out;
	const char *p = reason.p + sizeof pre - 1, *e = reason.p + reason.len;
	const char *colon = memchr(p, ':', (size_t)(e - p));
	if (!colon)
		return out;
	const char *slash = memchr(p, '/', (size_t)(colon - p));
	if (slash)
		p = slash + 1;
	for (const char *q = p; q < colon; q++)
		if (*q == ' ')
			return out;
	out.p = p;
	out.len = (uint32_t)(colon - p);
	return out;
}

/* The row of the line's Postfix instance, added when new; NULL for a
 * line without one or when the table is full. */
static struct mm_progstat_inst *inst_of(struct mm_progstat *ps, const struct mm_log_event *ev)
{
	if (ev->source != MM_SRC_POSTFIX || !ev->instance.p || !ev->instance.len)
		return NULL;
	size_t len = ev->instance.len;
	if (len >= MM_PROGSTAT_NAME_MAX)
		len = MM_PROGSTAT_NAME_MAX - 1;
	for (size_t i = 0; i < ps->ninst; i++) {
		struct mm_progstat_inst *in = &ps->inst[i];
		if (strncmp(in->name, ev->instance.p, len) == 0 && in->name[len] == '\0')
			return in;
	}
	if (ps->ninst == MM_PROGSTAT_INST_MAX) {
		ps->inst_dropped++;
		return NULL;
	}
	struct mm_progstat_inst *in = &ps->inst[ps->ninst++];
	memset(in, 0, sizeof *in);
	memcpy(in->name, ev->instance.p, len);
	in->name[len] = '\0';
	return in;
}

/* One delivery to the domain of addr (see progstat.h). */
static void count_delivered(struct mm_progstat *ps, struct mm_sv addr)
{
	char a[512], dom[MM_PROGSTAT_DEST_NAME_MAX];
	size_t len = addr.len < sizeof a - 1 ? addr.len : sizeof a - 1;
	if (!addr.p || !len)
		return;
	memcpy(a, addr.p, len);
	a[len] = '\0';
	mm_qshape_domain(a, dom, sizeof dom);
	ps->dest_tick++;
	struct mm_progstat_dest *row = NULL, *lru = NULL;
	for (size_t i = 0; i < ps->ndests && !row; i++) {
		if (strcmp(ps->dests[i].name, dom) == 0)
			row = &ps->dests[i];
		else if (!lru || ps->dests[i].last < lru->last)
			lru = &ps->dests[i];
	}
	if (!row) {
		if (ps->ndests < MM_PROGSTAT_DEST_MAX)
			row = &ps->dests[ps->ndests++];
		else {
			row = lru;
			ps->dest_evicted++;
			if (lru->last > ps->dest_evicted_last)
				ps->dest_evicted_last = lru->last;
		}
		memset(row, 0, sizeof *row);
		memcpy(row->name, dom, strlen(dom) + 1);
	}
	row->delivered++;
	row->last = ps->dest_tick;
}

void mm_progstat_event(struct mm_progstat *ps, const struct mm_log_event *ev)
{
	struct mm_progstat_inst *in = inst_of(ps, ev);
	if (ev->service.p && ev->service.len) {
		bump(&ps->programs, ev->service.p, ev->service.len);
		if (in)
			bump(&in->programs, ev->service.p, ev->service.len);
	}
	if (ev->source != MM_SRC_POSTFIX)
		return;
	if (ev->type == MM_EV_WARNING && sv_is(ev->service, "qmgr")) {
		struct mm_sv t = transport_of(ev->reason);
		if (t.len) {
			bump(&ps->transports, t.p, t.len);
			if (in)
				bump(&in->transports, t.p, t.len);
		}
	} else if (ev->type == MM_EV_DELIVERY && ev->status == MM_DS_DEFERRED &&
		   ends_with(ev->reason, "mail transport unavailable")) {
		/* also "delivery temporarily suspended: mail transport ..." */
		ps->unavailable_deferred++;
		if (in)
			in->unavailable_deferred++;
	}
	if (ev->type == MM_EV_DELIVERY && ev->status == MM_DS_SENT)
		count_delivered(ps, ev->addr);
	if (!in)
		return;
	if (ev->type == MM_EV_CLIENT || ev->type == MM_EV_PICKUP) {
		in->submitted++;
	} else if (ev->type == MM_EV_DELIVERY) {
		if (ev->status == MM_DS_SENT)
			in->delivered++;
		else if (ev->status == MM_DS_DEFERRED || ev->status == MM_DS_DEFERRED_FIRST)
			in->deferred++;
		else if (ev->status == MM_DS_BOUNCED || ev->status == MM_DS_EXPIRED)
			in->bounced++;
	}
}

/* flood: see flood.h. */
#include "cluster/flood.h"

#include <string.h>

#include "cluster/vsample.h"
#include "core/strutil.h"
#include "mta/reason_class.h"

/* The dominant failure class of d, or NULL. Classes that vote: every
 * class but none (being delivered, not tried yet). A suspended
 * recipient votes for the cause Postfix quoted after "delivery
 * temporarily suspended" (suspended_cause); one with no known cause
 * follows another cause, so it is added to the strongest other class.
 * Only when no other class is known at all is the class "suspended". */
static const char *dominant_class(const struct mm_vdest *d, double dominant)
{
	double votes[MM_RC_N] = {0};
	double total = 0, unexplained = d->rc[MM_RC_SUSPENDED];
	for (unsigned c = 0; c < MM_RC_N; c++) {
		if (c == MM_RC_NONE)
			continue;
		total += d->rc[c];
		if (c == MM_RC_SUSPENDED)
			continue;
		/* never more than the suspended recipients counted */
		double from_susp = d->suspended_cause[c] < unexplained ? d->suspended_cause[c]
									: unexplained;
		unexplained -= from_susp;
		votes[c] = d->rc[c] + from_susp;
	}
	if (total <= 0)
		return NULL;
	double best = 0;
	unsigned bestc = MM_RC_N;
	for (unsigned c = 0; c < MM_RC_N; c++)
		if (votes[c] > best) {
			best = votes[c];
			bestc = c;
		}
	if (bestc == MM_RC_N) /* only suspended known, with no cause */
		return mm_rclass_name(MM_RC_SUSPENDED);
	if ((best + unexplained) / total >= dominant)
		return mm_rclass_name(bestc);
	return NULL;
}

static const struct mm_vdest *find(const struct mm_vsample *s, const char *name)
{
	for (size_t i = 0; s && i < s->ndests; i++)
		if (strcmp(s->dests[i].name, name) == 0)
			return &s->dests[i];
	return NULL;
}

/* The unanswered rule of flood.h: d had mail in the active queue both
 * at ago and now, its oldest active message aged unanswered_after, and
 * nothing was delivered to it in between: its last delivery (or, with
 * no row in the log's table, the last of any domain that left it) is
 * numbered at most as the deliveries counted at ago. */
static bool unanswered(const struct mm_flood_conf *conf, const struct mm_vsample *ago,
		       const struct mm_vsample *now, const struct mm_vdest *d)
{
	if (conf->unanswered_after_ms <= 0 || !ago || !ago->have_dest_delivered ||
	    !now->have_dest_delivered || now->t_ms - ago->t_ms < conf->unanswered_after_ms)
		return false;
	const struct mm_vdest *a = find(ago, d->name);
	if (!a || a->active_msgs <= 0 || d->active_msgs <= 0)
		return false;
	if (d->active_oldest * 1000.0 < (double)conf->unanswered_after_ms)
		return false;
	double last = d->last_delivery_no >= 0 ? d->last_delivery_no : now->tally_evicted_no;
	return last <= ago->tally_no;
}

void mm_flood_detect(const struct mm_flood_conf *conf, const struct mm_vsample *then,
		     const struct mm_vsample *ago, const struct mm_vsample *now,
		     struct mm_floods *out)
{
	memset(out, 0, sizeof *out);
	double total = now->qmsgs[MM_VQ_INCOMING] + now->qmsgs[MM_VQ_ACTIVE] +
		       now->qmsgs[MM_VQ_DEFERRED];
	double minutes = then && now->t_ms > then->t_ms ? (double)(now->t_ms - then->t_ms) / 60000.0
							: 0;
	/* The fastest grower. */
	double best_growth = 0;
	size_t best = SIZE_MAX;
	for (size_t i = 0; minutes > 0 && i < now->ndests; i++) {
		const struct mm_vdest *t = find(then, now->dests[i].name);
		double g = now->dests[i].msgs - (t ? t->msgs : 0);
		if (g > best_growth) {
			best_growth = g;
			best = i;
		}
	}
	for (size_t i = 0; i < now->ndests; i++) {
		const struct mm_vdest *d = &now->dests[i];
		if (d->msgs < (double)conf->min_messages)
			continue;
		double share = total > 0 ? d->msgs / total : 0;
		if (share < conf->share && i != best)
			continue;
		const char *cls = dominant_class(d, conf->dominant);
		bool quiet = false;
		if (!cls) {
			if (!unanswered(conf, ago, now, d))
				continue;
			cls = mm_rclass_name(MM_RC_TIMEOUT);
			quiet = true;
		}
		const struct mm_vdest *t = find(then, d->name);
		struct mm_flood f = {.msgs = d->msgs, .share = share, .rclass = cls};
		if (quiet) {
			f.unanswered = true;
			f.active_msgs = d->active_msgs;
			f.active_oldest_s = d->active_oldest;
			f.quiet_s = (double)(now->t_ms - ago->t_ms) / 1000.0;
		}
		mm_strlcpy(f.dest, d->name, sizeof f.dest);
		f.growth_per_min = minutes > 0 ? (d->msgs - (t ? t->msgs : 0)) / minutes : 0;
		/* Insert sorted by msgs, largest first; drop beyond the cap. */
		size_t at = out->n;
		while (at > 0 && out->v[at - 1].msgs < f.msgs)
			at--;
		if (at >= MM_FLOOD_MAX)
			continue;
		size_t n = out->n < MM_FLOOD_MAX ? out->n : MM_FLOOD_MAX - 1;
		memmove(&out->v[at + 1], &out->v[at], (n - at) * sizeof out->v[0]);
		out->v[at] = f;
		if (out->n < MM_FLOOD_MAX)
			out->n++;
	}
}

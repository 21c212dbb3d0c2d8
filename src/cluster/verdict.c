/* verdict: see verdict.h. */
#include "cluster/verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/strutil.h"
#include "mta/reason_class.h"

static const char *const state_names[MM_V_N] = {"healthy", "degraded", "stalled", "down"};

const char *mm_vstate_name(enum mm_vstate s)
{
	return (unsigned)s < MM_V_N ? state_names[s] : "?";
}

void mm_verdict_init(struct mm_verdict_engine *v, const struct mm_verdict_conf *conf)
{
	memset(v, 0, sizeof *v);
	v->conf = *conf;
}

static const struct mm_vsample *at(const struct mm_verdict_engine *v, size_t i)
{
	return &v->ring[(v->head + i) % MM_VERDICT_RING];
}

void mm_verdict_push(struct mm_verdict_engine *v, const struct mm_vsample *s)
{
	if (v->n > 0 && s->t_ms < at(v, v->n - 1)->t_ms)
		return;
	if (v->n == MM_VERDICT_RING) {
		v->head = (v->head + 1) % MM_VERDICT_RING;
		v->n--;
	}
	v->ring[(v->head + v->n) % MM_VERDICT_RING] = *s;
	v->n++;
}

static void reason(struct mm_verdict *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void reason(struct mm_verdict *out, const char *fmt, ...)
{
	if (out->nreasons == MM_VERDICT_REASONS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reasons[out->nreasons++], MM_VERDICT_REASON_MAX, fmt, ap);
	va_end(ap);
}

/* Growth of a counter from a to b; a restart (b < a) counts from zero. */
static double delta(double a, double b)
{
	return b >= a ? b - a : b;
}

static const char *dur(int64_t ms, char *buf, size_t cap)
{
	int64_t s = ms / 1000;
	if (s < 120)
		snprintf(buf, cap, "%lld s", (long long)s);
	else if (s < 7200)
		snprintf(buf, cap, "%lld min", (long long)(s / 60));
	else
		snprintf(buf, cap, "%lld h", (long long)(s / 3600));
	return buf;
}

/* The sample the window starts at: the newest one at least a window
 * older than the newest, else the oldest (then *full is false). */
static const struct mm_vsample *window_start(const struct mm_verdict_engine *v, bool *full)
{
	const struct mm_vsample *now = at(v, v->n - 1);
	*full = false;
	for (size_t i = v->n; i-- > 0;) {
		if (now->t_ms - at(v, i)->t_ms >= v->conf.window_ms) {
			*full = true;
			return at(v, i);
		}
	}
	return at(v, 0);
}

/* The newest sample at least ms older than the newest; NULL when the
 * ring does not reach that far (or ms <= 0). */
static const struct mm_vsample *sample_ago(const struct mm_verdict_engine *v, int64_t ms)
{
	const struct mm_vsample *now = at(v, v->n - 1);
	for (size_t i = v->n; ms > 0 && i-- > 0;)
		if (now->t_ms - at(v, i)->t_ms >= ms)
			return at(v, i);
	return NULL;
}

static bool check_down(const struct mm_vsample *now, struct mm_verdict *out)
{
	if (now->master == 0)
		reason(out, "the MTA master process is not running");
	if (now->smtpd_up == 0)
		reason(out, "smtpd fails its probe");
	return out->nreasons > 0;
}

/* The transport qmgr last failed to connect to: the newest sample in
 * the ring whose "connect to transport" count for it grew; failing that,
 * one the newest sample has seen at all. NULL: none known. */
static const char *unavailable_transport(const struct mm_verdict_engine *v)
{
	for (size_t i = v->n; i-- > 1;) {
		const struct mm_vsample *cur = at(v, i), *prev = at(v, i - 1);
		for (size_t k = 0; k < cur->ntransports; k++) {
			double before = 0;
			for (size_t j = 0; j < prev->ntransports; j++)
				if (strcmp(prev->transports[j].name, cur->transports[k].name) == 0)
					before = prev->transports[j].value;
			if (cur->transports[k].value > before)
				return cur->transports[k].name;
		}
	}
	const struct mm_vsample *now = at(v, v->n - 1);
	return now->ntransports > 0 ? now->transports[0].name : NULL;
}

static void transport_reason(const struct mm_verdict_engine *v, struct mm_verdict *out)
{
	const char *t = unavailable_transport(v);
	if (t)
		reason(out, "transport %s has no process (qmgr cannot connect to private/%s)", t, t);
	else
		reason(out, "a transport has no process (mail transport unavailable)");
}

static void stall_cause(const struct mm_verdict_engine *v, const struct mm_vsample *then,
			const struct mm_vsample *now, struct mm_verdict *out)
{
	char b[32];
	if (now->qmgr_stopped > 0)
		reason(out, "qmgr is stopped (process state T)");
	else if (now->qmgr == 0)
		reason(out, "qmgr is not running");
	else if (out->unavailable > 0)
		transport_reason(v, out);
	else if (now->qmgr_lines >= 0 && then->qmgr_lines >= 0 &&
		 delta(then->qmgr_lines, now->qmgr_lines) == 0) {
		if (now->all_lines >= 0 && then->all_lines >= 0 &&
		    delta(then->all_lines, now->all_lines) == 0)
			reason(out, "nothing was logged in %s (is the log read current?)",
			       dur(v->conf.window_ms, b, sizeof b));
		else
			reason(out, "qmgr is not logging (no log line in %s)",
			       dur(v->conf.window_ms, b, sizeof b));
	} else if (now->qmgr > 0)
		reason(out, "qmgr is running; no visible cause");
	out->cause = out->nreasons ? out->nreasons - 1 : 0;
}

static bool check_stall(const struct mm_verdict_engine *v, const struct mm_vsample *then,
			const struct mm_vsample *now, bool full, struct mm_verdict *out)
{
	if (!full || !now->have_queue)
		return false;
	double ia_then = then->qmsgs[MM_VQ_INCOMING] + then->qmsgs[MM_VQ_ACTIVE];
	double ia_now = now->qmsgs[MM_VQ_INCOMING] + now->qmsgs[MM_VQ_ACTIVE];
	double oldest = now->qoldest[MM_VQ_INCOMING] > now->qoldest[MM_VQ_ACTIVE]
				? now->qoldest[MM_VQ_INCOMING]
				: now->qoldest[MM_VQ_ACTIVE];
	double win_s = (double)v->conf.window_ms / 1000.0;
	bool attempts = now->have_logs ? out->attempts > 0 : false;
	bool accepting = out->inflow > 0;
	bool waiting = ia_now > 0 && oldest >= win_s;
	/* Mail for a transport with no process is deferred at once, without
	 * an attempt: incoming+active stay empty while the node accepts. */
	bool unavail = accepting && out->unavailable > 0 && now->have_logs;
	if (attempts)
		return false;
	if (!unavail) {
		if (ia_now <= 0 || ia_now < ia_then)
			return false;
		/* A lone arrival just before an evaluation is not a stall: the
		 * oldest waiting message must have aged half a window. */
		if (!(accepting && oldest >= win_s / 2) && !waiting)
			return false;
	}
	char b1[32], b2[32], b3[32], b4[32];
	if (accepting)
		reason(out, "accepting mail (%s in %s) but no delivery attempt",
		       mm_fmt_count(out->inflow, b1, sizeof b1), dur(v->conf.window_ms, b2, sizeof b2));
	else
		reason(out, "no delivery attempt in %s", dur(v->conf.window_ms, b2, sizeof b2));
	if (unavail)
		reason(out, "%s deferred without an attempt (mail transport unavailable)",
		       mm_fmt_count(out->unavailable, b1, sizeof b1));
	else
		reason(out, "incoming+active %s -> %s, oldest waiting %s",
		       mm_fmt_count(ia_then, b1, sizeof b1), mm_fmt_count(ia_now, b3, sizeof b3),
		       dur((int64_t)(oldest * 1000), b4, sizeof b4));
	if (!now->have_logs)
		reason(out, "no log data: judged from the queue alone");
	stall_cause(v, then, now, out);
	return true;
}

static bool check_degraded(const struct mm_verdict_engine *v, const struct mm_vsample *then,
			   const struct mm_vsample *now, struct mm_verdict *out)
{
	char b1[32], b2[32], b3[32];
	size_t before = out->nreasons;
	if (out->unavailable > 0) {
		reason(out, "%s deferred without an attempt (mail transport unavailable)",
		       mm_fmt_count(out->unavailable, b1, sizeof b1));
		transport_reason(v, out);
	}
	for (size_t i = 0; i < out->floods.n; i++) {
		const struct mm_flood *f = &out->floods.v[i];
		if (f->unanswered) {
			char b4[32], b5[32];
			reason(out,
			       "flooded destination %s: %s messages (%.0f%% of the queue), %s (no answer: "
			       "%s in the active queue, oldest queued %s ago, nothing delivered in %s), "
			       "%+.0f/min",
			       f->dest, mm_fmt_count(f->msgs, b1, sizeof b1), f->share * 100, f->rclass,
			       mm_fmt_count(f->active_msgs, b2, sizeof b2),
			       dur((int64_t)(f->active_oldest_s * 1000), b4, sizeof b4),
			       dur((int64_t)(f->quiet_s * 1000), b5, sizeof b5), f->growth_per_min);
			continue;
		}
		reason(out, "flooded destination %s: %s messages (%.0f%% of the queue), %s, %+.0f/min",
		       f->dest, mm_fmt_count(f->msgs, b1, sizeof b1), f->share * 100, f->rclass,
		       f->growth_per_min);
	}
	if (out->attempts >= (double)v->conf.min_attempts && out->attempts > 0 &&
	    out->failed / out->attempts >= v->conf.fail_ratio) {
		reason(out, "%s of %s delivery attempts deferred in %s",
		       mm_fmt_count(out->failed, b1, sizeof b1), mm_fmt_count(out->attempts, b2, sizeof b2),
		       dur(now->t_ms - then->t_ms, b3, sizeof b3));
		/* Name the failing destinations not named as floods yet. */
		size_t named = 0;
		for (size_t i = 0; i < now->ndests && named < 3; i++) {
			const struct mm_vdest *d = &now->dests[i];
			bool flood = false;
			for (size_t k = 0; k < out->floods.n; k++)
				flood |= strcmp(out->floods.v[k].dest, d->name) == 0;
			if (flood || d->deferred <= 0)
				continue;
			unsigned best = MM_RC_OTHER;
			for (unsigned c = 1; c < MM_RC_N; c++)
				if (d->rc[c] > d->rc[best])
					best = c;
			reason(out, "deferred to %s: %s (%s)", d->name,
			       mm_fmt_count(d->deferred, b1, sizeof b1), mm_rclass_name(best));
			named++;
		}
	}
	return out->nreasons > before;
}

/* Locked partitions: named, and the node is to be drained. With
 * own_cause the first one becomes the reason the agent gives (not when
 * down or stalled: their cause is named already). */
static void check_locked(const struct mm_vsample *now, bool own_cause, struct mm_verdict *out)
{
	for (size_t i = 0; i < now->nlocked; i++) {
		if (!out->drain) {
			out->drain = true;
			/* With every reason slot taken, the lock replaces the
			 * last one (never the cause of a stall or down). */
			if (out->nreasons == MM_VERDICT_REASONS && out->cause < out->nreasons - 1)
				out->nreasons--;
			if (own_cause && out->nreasons < MM_VERDICT_REASONS)
				out->cause = out->nreasons;
		}
		if (now->locked[i].value >= 0)
			reason(out, "partition %s is locked (%.1f%% available)", now->locked[i].name,
			       now->locked[i].value);
		else
			reason(out, "partition %s is locked", now->locked[i].name);
	}
}

void mm_verdict_eval(struct mm_verdict_engine *v, struct mm_verdict *out)
{
	memset(out, 0, sizeof *out);
	if (v->n == 0) {
		out->state = MM_V_HEALTHY;
		out->warming_up = true;
		reason(out, "no sample yet");
		return;
	}
	bool full;
	const struct mm_vsample *now = at(v, v->n - 1), *then = window_start(v, &full);
	out->inflow = delta(then->inflow, now->inflow);
	double deferred = delta(then->deferred, now->deferred);
	/* "mail transport unavailable" is a deferral without an attempt. */
	out->unavailable = delta(then->unavail_deferred, now->unavail_deferred);
	if (out->unavailable > deferred)
		out->unavailable = deferred;
	deferred -= out->unavailable;
	out->attempts = delta(then->delivered, now->delivered) + deferred +
			delta(then->bounced, now->bounced);
	out->failed = deferred;
	out->backlog = now->qmsgs[MM_VQ_INCOMING] + now->qmsgs[MM_VQ_ACTIVE] +
		       now->qmsgs[MM_VQ_DEFERRED];
	out->warming_up = !full;
	mm_flood_detect(&v->conf.flood, then == now ? NULL : then,
			sample_ago(v, v->conf.flood.unanswered_after_ms), now, &out->floods);

	enum mm_vstate st;
	if (check_down(now, out))
		st = MM_V_DOWN;
	else if (check_stall(v, then, now, full, out))
		st = MM_V_STALLED;
	else if (check_degraded(v, then, now, out))
		st = MM_V_DEGRADED;
	else if (now->nlocked > 0)
		st = MM_V_DEGRADED; /* named below */
	else {
		st = MM_V_HEALTHY;
		char b1[32], b2[32];
		if (out->attempts > 0)
			reason(out, "delivering: %s attempts in %s", mm_fmt_count(out->attempts, b1, sizeof b1),
			       dur(now->t_ms - then->t_ms, b2, sizeof b2));
		else if (out->backlog > 0)
			reason(out, "%s messages queued, none due", mm_fmt_count(out->backlog, b1, sizeof b1));
		else
			reason(out, "idle: nothing queued");
		if (!full)
			reason(out, "warming up: less than one stall window of samples");
	}
	/* Locked partitions are named in every state; when down or stalled
	 * the agent still gives that cause. */
	check_locked(now, st != MM_V_DOWN && st != MM_V_STALLED, out);
	if (!v->have_state || st != v->state) {
		v->state = st;
		v->since_ms = now->t_ms;
		v->have_state = true;
	}
	out->state = st;
	out->since_ms = v->since_ms;
}

void mm_verdict_line(const struct mm_verdict *out, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "%s", mm_vstate_name(out->state));
	for (size_t i = 0; i < out->nreasons && n + 4 < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? "; " : " (", out->reasons[i]);
	if (out->nreasons && n + 2 < cap)
		snprintf(buf + n, cap - n, ")");
}

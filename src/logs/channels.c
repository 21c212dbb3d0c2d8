/*
 * channels: event -> RFC 2789 group counters (see channels.h).
 *
 * The name index is an open-addressing table of MM_CHAN_MAX_IDS * 2 slots
 * over a names array; each id caches its group slot in the current table
 * (-1 until first use), so the hot path is one hash probe.
 */
#include "logs/channels.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/strutil.h"
#include "core/xalloc.h"

#define NSLOTS (MM_CHAN_MAX_IDS * 2)

struct mm_channels {
	struct mm_cfile *cf;
	char (*names)[MM_CF_NAME_MAX];
	uint8_t *lens;
	int32_t *group; /* id -> group slot, -1 not yet */
	uint32_t nids;
	uint16_t slots[NSLOTS]; /* id + 1 */
	uint16_t other_id;
	uint16_t last_id; /* one-entry cache of the last lookup */
	uint64_t truncated; /* names and reasons cut to their slots */
};

static uint16_t lookup_id(struct mm_channels *ch, const char *name, size_t len);

struct mm_channels *mm_channels_new(struct mm_cfile *cf)
{
	struct mm_channels *ch = xcalloc(1, sizeof *ch);
	ch->cf = cf;
	ch->names = xcalloc(MM_CHAN_MAX_IDS, sizeof *ch->names);
	ch->lens = xcalloc(MM_CHAN_MAX_IDS, 1);
	ch->group = xmalloc(MM_CHAN_MAX_IDS * sizeof *ch->group);
	for (int i = 0; i < MM_CHAN_MAX_IDS; i++)
		ch->group[i] = -1;
	ch->other_id = MM_LC_NO_CHAN;
	ch->last_id = MM_LC_NO_CHAN;
	return ch;
}

void mm_channels_free(struct mm_channels *ch)
{
	if (!ch)
		return;
	free(ch->names);
	free(ch->lens);
	free(ch->group);
	free(ch);
}

void mm_channels_rebind(struct mm_channels *ch, struct mm_cfile *cf)
{
	ch->cf = cf;
	for (uint32_t i = 0; i < ch->nids; i++)
		ch->group[i] = -1;
}

uint16_t mm_channels_id(struct mm_channels *ch, const char *name, size_t len)
{
	if (len > MM_CF_NAME_MAX - 1) {
		len = MM_CF_NAME_MAX - 1;
		ch->truncated++;
	}
	/* Consecutive lines mostly name the same few channels. */
	if (ch->last_id != MM_LC_NO_CHAN && ch->lens[ch->last_id] == len &&
	    memcmp(ch->names[ch->last_id], name, len) == 0)
		return ch->last_id;
	uint16_t id = lookup_id(ch, name, len);
	ch->last_id = id;
	return id;
}

static uint16_t lookup_id(struct mm_channels *ch, const char *name, size_t len)
{
	uint32_t h = (uint32_t)mm_hash64(name, len) & (NSLOTS - 1);
	for (;;) {
		uint16_t s = ch->slots[h];
		if (!s)
			break;
		if (ch->lens[s - 1] == len && memcmp(ch->names[s - 1], name, len) == 0)
			return (uint16_t)(s - 1);
		h = (h + 1) & (NSLOTS - 1);
	}
	if (ch->nids >= MM_CHAN_MAX_IDS - 1) {
		/* The last id is "other"; it is never in the index. */
		if (ch->other_id == MM_LC_NO_CHAN) {
			ch->other_id = (uint16_t)(MM_CHAN_MAX_IDS - 1);
			memcpy(ch->names[ch->other_id], MM_CF_OTHER, sizeof MM_CF_OTHER);
			ch->lens[ch->other_id] = (uint8_t)strlen(MM_CF_OTHER);
		}
		return ch->other_id;
	}
	uint16_t id = (uint16_t)ch->nids++;
	memcpy(ch->names[id], name, len);
	ch->lens[id] = (uint8_t)len;
	ch->slots[h] = (uint16_t)(id + 1);
	return id;
}

uint32_t mm_channels_count(const struct mm_channels *ch)
{
	return ch->other_id != MM_LC_NO_CHAN ? MM_CHAN_MAX_IDS : ch->nids;
}

const char *mm_channels_name(const struct mm_channels *ch, uint16_t id)
{
	return id < MM_CHAN_MAX_IDS ? ch->names[id] : "";
}

uint16_t mm_channels_id_for(struct mm_channels *ch, const struct mm_log_event *ev)
{
	const struct mm_sv *s = ev->channel.len ? &ev->channel : &ev->service;
	if (!s->len)
		return MM_LC_NO_CHAN;
	return mm_channels_id(ch, s->p, s->len);
}

static struct mm_cf_group *group_of(struct mm_channels *ch, uint16_t id)
{
	if (id == MM_LC_NO_CHAN || id >= MM_CHAN_MAX_IDS)
		return NULL;
	if (ch->group[id] < 0)
		ch->group[id] = mm_cfile_group_add(ch->cf, ch->names[id], ch->lens[id]);
	return &ch->cf->groups[ch->group[id]];
}

struct stored_acc {
	int64_t msgs, rcpts, bytes, oldest; /* oldest: arrival, INT64_MAX none */
};

void mm_channels_set_stored(struct mm_channels *ch, const struct mm_lifecycle *lc,
			    const struct mm_stored_msg *msgs, size_t n, int64_t now_s)
{
	uint16_t unattempted = mm_channels_id(ch, MM_CHAN_UNATTEMPTED,
					      sizeof MM_CHAN_UNATTEMPTED - 1);
	uint32_t count = mm_channels_count(ch);
	struct stored_acc *acc = xcalloc(count ? count : 1, sizeof *acc);
	for (uint32_t i = 0; i < count; i++)
		acc[i].oldest = INT64_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct mm_stored_msg *m = &msgs[i];
		const struct mm_lc_msg *lm = mm_lc_find(lc, m->qid, strnlen(m->qid, MM_LC_QID_MAX));
		uint16_t id = lm && lm->nchan ? lm->chan[lm->nchan - 1] : unattempted;
		if (id >= count)
			id = unattempted;
		if (id >= count)
			continue; /* the id table is full: nowhere to count */
		acc[id].msgs++;
		acc[id].rcpts += m->nrcpt;
		acc[id].bytes += (int64_t)m->size;
		if (m->arrival_s < acc[id].oldest)
			acc[id].oldest = m->arrival_s;
	}
	for (uint32_t id = 0; id < count; id++) {
		/* Do not make a group only to write zeros into it. */
		if (!acc[id].msgs && ch->group[id] < 0)
			continue;
		struct mm_cf_group *g = group_of(ch, (uint16_t)id);
		if (!g)
			continue;
		mm_cg_begin(g);
		mm_cg_set(g, MM_CG_QSTORED_MSGS, acc[id].msgs);
		mm_cg_set(g, MM_CG_QSTORED_RCPTS, acc[id].rcpts);
		mm_cg_set(g, MM_CG_QSTORED_VOLUME, acc[id].bytes);
		mm_cg_set(g, MM_CG_QOLDEST_S,
			  acc[id].msgs && now_s > acc[id].oldest ? now_s - acc[id].oldest : 0);
		mm_cg_end(g);
	}
	free(acc);
}

/* imap-login, pop3-login, submission-login ... */
static bool login_service(const struct mm_log_event *ev)
{
	return ev->service.len >= 6 &&
	       memcmp(ev->service.p + ev->service.len - 6, "-login", 6) == 0;
}

static bool has(const struct mm_sv *s, const char *needle)
{
	return s->len && mm_memfind(s->p, s->len, needle, strlen(needle)) != NULL;
}

static void set_reason(struct mm_channels *ch, _Atomic char *slot, const struct mm_sv *r)
{
	if (r->len > MM_CF_REASON_MAX - 1)
		ch->truncated++;
	mm_cg_set_text(slot, r->p, r->len);
}

uint64_t mm_channels_truncated(const struct mm_channels *ch)
{
	return ch->truncated;
}

static int64_t delay_ms(double d)
{
	return d > 0 ? (int64_t)(d * 1000.0 + 0.5) : 0;
}

static void apply_delivery(struct mm_cf_group *g, const struct mm_log_event *ev,
			   const struct mm_lc_change *c)
{
	if (c->chan_new) {
		mm_cg_add(g, MM_CG_RECEIVED, 1);
		mm_cg_add(g, MM_CG_STORED, 1);
		mm_cg_add(g, MM_CG_VOLUME_RECEIVED, (int64_t)c->size);
	}
	if (c->attempt_new)
		mm_cg_add(g, MM_CG_OUT_ASSOC_TOTAL, 1);
	switch (ev->status) {
	case MM_DS_SENT:
		mm_cg_add(g, MM_CG_RCPT_DELIVERED, 1);
		if (c->chan_first_sent) {
			int64_t ms = delay_ms(ev->delay);
			mm_cg_add(g, MM_CG_DELIVERED, 1);
			mm_cg_add(g, MM_CG_VOLUME_DELIVERED, (int64_t)c->size);
			mm_cg_add(g, MM_CG_QTIME_SUM_MS, ms);
			mm_cg_add(g, MM_CG_QTIME_COUNT, 1);
			if (c->first_attempt) {
				mm_cg_add(g, MM_CG_DELIVERED_FIRST, 1);
				mm_cg_add(g, MM_CG_QFIRST_SUM_MS, ms);
				mm_cg_add(g, MM_CG_QFIRST_COUNT, 1);
			}
		}
		break;
	case MM_DS_DEFERRED:
	case MM_DS_DEFERRED_FIRST:
		mm_cg_add(g, MM_CG_ATTEMPTED, 1);
		break;
	case MM_DS_BOUNCED:
	case MM_DS_EXPIRED:
		mm_cg_add(g, MM_CG_RCPT_FAILED, 1);
		if (c->chan_first_failed)
			mm_cg_add(g, MM_CG_FAILED, 1);
		break;
	case MM_DS_NONE:
		break;
	}
	mm_cg_set(g, MM_CG_LAST_OUT_MS, ev->time_ms);
}

/* Messaging Server records carry no queue ID: the counters follow the
 * record codes one to one, as imsimta counters does (seed 27.8.5): E to
 * a channel is Received and Stored (and Submitted for the enqueuing
 * channel), D Delivered, Q/Z Attempted, R Failed, J Rejected; D and R
 * dequeue (Stored - 1). First-attempt deliveries and queue times are not
 * in the records and stay 0. */
static bool apply_msgsrv(struct mm_channels *ch, const struct mm_log_event *ev, uint16_t id)
{
	if (ev->source != MM_SRC_MSGSRV ||
	    (ev->flags & (MM_EVF_INBOUND | MM_EVF_OUTBOUND)) ||
	    (ev->type != MM_EV_QUEUED && ev->type != MM_EV_DELIVERY))
		return false;
	struct mm_cf_group *g = group_of(ch, id);
	if (!g)
		return true;
	mm_cg_begin(g);
	if (ev->type == MM_EV_QUEUED) {
		mm_cg_add(g, MM_CG_RECEIVED, 1);
		mm_cg_add(g, MM_CG_STORED, 1);
		mm_cg_add(g, MM_CG_VOLUME_RECEIVED, (int64_t)ev->size);
		mm_cg_set(g, MM_CG_LAST_IN_MS, ev->time_ms);
	} else {
		switch (ev->status) {
		case MM_DS_SENT:
			mm_cg_add(g, MM_CG_DELIVERED, 1);
			mm_cg_add(g, MM_CG_RCPT_DELIVERED, 1);
			mm_cg_add(g, MM_CG_STORED, -1);
			mm_cg_add(g, MM_CG_VOLUME_DELIVERED, (int64_t)ev->size);
			break;
		case MM_DS_DEFERRED:
		case MM_DS_DEFERRED_FIRST:
			mm_cg_add(g, MM_CG_ATTEMPTED, 1);
			break;
		case MM_DS_BOUNCED:
		case MM_DS_EXPIRED:
			mm_cg_add(g, MM_CG_FAILED, 1);
			mm_cg_add(g, MM_CG_RCPT_FAILED, 1);
			mm_cg_add(g, MM_CG_STORED, -1);
			break;
		case MM_DS_NONE:
			break;
		}
		mm_cg_set(g, MM_CG_LAST_OUT_MS, ev->time_ms);
	}
	mm_cg_end(g);
	if (ev->type == MM_EV_QUEUED && ev->src_channel.len) {
		struct mm_cf_group *src =
			group_of(ch, mm_channels_id(ch, ev->src_channel.p, ev->src_channel.len));
		if (src) {
			mm_cg_begin(src);
			mm_cg_add(src, MM_CG_SUBMITTED, 1);
			mm_cg_end(src);
		}
	}
	return true;
}

void mm_channels_apply(struct mm_channels *ch, const struct mm_log_event *ev, uint16_t id,
		       const struct mm_lc_change *c)
{
	struct mm_cf_group *g;

	if (apply_msgsrv(ch, ev, id))
		return;

	/* Message-level outcomes name channels through the lifecycle. */
	if (c->ndone && (ev->type == MM_EV_REMOVED || ev->type == MM_EV_EXPIRED)) {
		for (int i = 0; i < c->ndone; i++) {
			g = group_of(ch, c->done_chan[i]);
			if (!g)
				continue;
			mm_cg_begin(g);
			if (ev->type == MM_EV_REMOVED)
				mm_cg_add(g, MM_CG_STORED, -1);
			else
				mm_cg_add(g, MM_CG_FAILED, 1);
			mm_cg_end(g);
		}
		return;
	}

	switch (ev->type) {
	case MM_EV_CONNECT:
	case MM_EV_DISCONNECT:
	case MM_EV_LOST:
	case MM_EV_REJECT:
	case MM_EV_CLIENT:
	case MM_EV_PICKUP:
	case MM_EV_DELIVERY:
	case MM_EV_CONN_FAIL:
	case MM_EV_LOGIN:
	case MM_EV_LOGIN_ABORT:
		break;
	case MM_EV_QUEUED:
		if (!(ev->flags & MM_EVF_ARRIVAL))
			return;
		break;
	case MM_EV_AUTH_FAIL:
		/* With auth_verbose Dovecot logs a failure twice: per attempt
		 * from auth, and per connection (with the attempt count) from
		 * the login process. Only the latter is counted. */
		/* Exim and Postfix smtpd log one line per failed AUTH: all
		 * count (Postfix's on the smtpd/submission channel). */
		if (!login_service(ev) && ev->source != MM_SRC_EXIM &&
		    ev->source != MM_SRC_POSTFIX)
			return;
		break;
	default:
		return;
	}
	g = group_of(ch, id);
	if (!g)
		return;
	mm_cg_begin(g);
	switch (ev->type) {
	case MM_EV_CONNECT:
		if (ev->flags & MM_EVF_OUTBOUND) { /* MS "-" connection record */
			mm_cg_add(g, MM_CG_OUT_ASSOC, 1);
			mm_cg_add(g, MM_CG_OUT_ASSOC_TOTAL, 1);
			mm_cg_set(g, MM_CG_LAST_OUT_MS, ev->time_ms);
			break;
		}
		mm_cg_add(g, MM_CG_IN_ASSOC, 1);
		mm_cg_add(g, MM_CG_IN_ASSOC_TOTAL, 1);
		mm_cg_set(g, MM_CG_LAST_IN_MS, ev->time_ms);
		break;
	case MM_EV_DISCONNECT:
	case MM_EV_LOST:
		if (ev->flags & MM_EVF_OUTBOUND) {
			mm_cg_add(g, MM_CG_OUT_ASSOC, -1);
			mm_cg_set(g, MM_CG_LAST_OUT_MS, ev->time_ms);
			break;
		}
		mm_cg_add(g, MM_CG_IN_ASSOC, -1);
		mm_cg_set(g, MM_CG_LAST_IN_MS, ev->time_ms);
		break;
	case MM_EV_REJECT:
		/* An MS X connection record rejects the association, not a
		 * message; everything else is a rejected enqueue (J). */
		if ((ev->flags & (MM_EVF_INBOUND | MM_EVF_OUTBOUND)) && ev->code.len &&
		    ev->code.p[0] == 'X') {
			mm_cg_add(g, MM_CG_IN_ASSOC_REJECTED, 1);
		} else {
			mm_cg_add(g, MM_CG_REJECTED, 1);
			/* The parser puts the SMTP stage of a reject in code: a
			 * CONNECT-stage reject refuses the association itself. */
			if (has(&ev->service, "postscreen") ||
			    (ev->code.len == 7 && memcmp(ev->code.p, "CONNECT", 7) == 0))
				mm_cg_add(g, MM_CG_IN_ASSOC_REJECTED, 1);
		}
		if (ev->reason.len)
			set_reason(ch, g->last_reject, &ev->reason);
		mm_cg_set(g, MM_CG_LAST_IN_MS, ev->time_ms);
		break;
	case MM_EV_CLIENT:
	case MM_EV_PICKUP:
	case MM_EV_QUEUED: /* an Exim arrival, see above */
		mm_cg_add(g, MM_CG_SUBMITTED, 1);
		mm_cg_set(g, MM_CG_LAST_IN_MS, ev->time_ms);
		break;
	case MM_EV_DELIVERY:
		apply_delivery(g, ev, c);
		break;
	case MM_EV_CONN_FAIL:
		mm_cg_add(g, MM_CG_OUT_ASSOC_FAILED, 1);
		if (ev->reason.len)
			set_reason(ch, g->last_connfail, &ev->reason);
		mm_cg_set(g, MM_CG_LAST_OUT_MS, ev->time_ms);
		break;
	case MM_EV_LOGIN:
		mm_cg_add(g, MM_CG_LOGINS_GOOD, 1);
		mm_cg_add(g, MM_CG_LOGIN_CONNS, 1);
		mm_cg_set(g, MM_CG_LAST_IN_MS, ev->time_ms);
		break;
	case MM_EV_AUTH_FAIL:
		mm_cg_add(g, MM_CG_LOGINS_FAILED, ev->conn_count ? ev->conn_count : 1);
		mm_cg_add(g, MM_CG_LOGIN_CONNS, 1);
		mm_cg_set(g, MM_CG_LAST_IN_MS, ev->time_ms);
		break;
	case MM_EV_LOGIN_ABORT:
		mm_cg_add(g, MM_CG_LOGIN_CONNS, 1);
		mm_cg_set(g, MM_CG_LAST_IN_MS, ev->time_ms);
		break;
	default:
		break;
	}
	mm_cg_end(g);
}

/*
 * lifecycle: bounded in-flight message table (see lifecycle.h).
 *
 * Storage: one calloc'd slab of max_inflight messages and one of max_rcpts
 * recipient records, each with a free list; an open-addressing index
 * (linear probing, backward-shift deletion) of uint32 slots holding slab
 * index + 1, doubled whenever it is half full (so at most 4 x max_inflight
 * slots, and small while few messages are in flight). A doubly linked activity list puts
 * the least recently active message at the head: expiry and eviction take
 * from there in O(1).
 */
#include "logs/lifecycle.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/xalloc.h"

struct mm_lifecycle {
	struct mm_lc_limits lim;
	struct mm_lc_msg *msgs;
	uint32_t msg_hwm, msg_free; /* never-used mark; free list (index + 1) */
	struct mm_lc_rcpt *rcpts;
	uint32_t rcpt_hwm, rcpt_free;
	uint32_t *index;
	uint32_t mask;
	uint32_t head, tail; /* activity list, index + 1 */
	int64_t now_ms;	     /* newest log time seen */
	struct mm_lc_stats st;
};

struct mm_lifecycle *mm_lc_new(const struct mm_lc_limits *lim)
{
	struct mm_lifecycle *lc = xcalloc(1, sizeof *lc);
	lc->lim = *lim;
	if (lc->lim.max_inflight < 16)
		lc->lim.max_inflight = 16;
	if (lc->lim.max_inflight > (1u << 28))
		lc->lim.max_inflight = 1u << 28;
	lc->msgs = xcalloc(lc->lim.max_inflight, sizeof *lc->msgs);
	if (lc->lim.max_rcpts)
		lc->rcpts = xcalloc(lc->lim.max_rcpts, sizeof *lc->rcpts);
	/* The index starts small and doubles with the messages in flight, so
	 * a busy table stays cache-sized; it never exceeds 2 x max_inflight. */
	lc->index = xcalloc(1024, sizeof *lc->index);
	lc->mask = 1023;
	return lc;
}

void mm_lc_free(struct mm_lifecycle *lc)
{
	if (!lc)
		return;
	free(lc->msgs);
	free(lc->rcpts);
	free(lc->index);
	free(lc);
}

static struct mm_lc_msg *at(const struct mm_lifecycle *lc, uint32_t id1)
{
	return &lc->msgs[id1 - 1];
}

static uint32_t qid_hash(const char *qid, size_t len)
{
	return (uint32_t)mm_hash64(qid, len);
}

static uint32_t find_slot_h(const struct mm_lifecycle *lc, const char *qid, size_t len,
			    uint32_t hash)
{
	uint32_t h = hash & lc->mask;
	for (;;) {
		uint32_t id1 = lc->index[h];
		if (id1 == 0)
			return h; /* empty: where it would go */
		const struct mm_lc_msg *m = at(lc, id1);
		if (m->hash == hash && m->qid_len == len && memcmp(m->qid, qid, len) == 0)
			return h;
		h = (h + 1) & lc->mask;
	}
}

static uint32_t find_slot(const struct mm_lifecycle *lc, const char *qid, size_t len)
{
	return find_slot_h(lc, qid, len, qid_hash(qid, len));
}

static void list_unlink(struct mm_lifecycle *lc, uint32_t id1)
{
	struct mm_lc_msg *m = at(lc, id1);
	if (m->prev)
		at(lc, m->prev)->next = m->next;
	else
		lc->head = m->next;
	if (m->next)
		at(lc, m->next)->prev = m->prev;
	else
		lc->tail = m->prev;
	m->prev = m->next = 0;
}

static void list_append(struct mm_lifecycle *lc, uint32_t id1)
{
	struct mm_lc_msg *m = at(lc, id1);
	m->prev = lc->tail;
	m->next = 0;
	if (lc->tail)
		at(lc, lc->tail)->next = id1;
	else
		lc->head = id1;
	lc->tail = id1;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void index_delete(struct mm_lifecycle *lc, uint32_t slot)
{
	uint32_t hole = slot;
	uint32_t j = slot;
	for (;;) {
		j = (j + 1) & lc->mask;
		uint32_t id1 = lc->index[j];
		if (id1 == 0)
			break;
		struct mm_lc_msg *m = at(lc, id1);
		uint32_t home = m->hash & lc->mask;
		/* Move j into the hole if its home is not in (hole, j]. */
		bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!between) {
			lc->index[hole] = id1;
			m->hslot = hole + 1;
			hole = j;
		}
	}
	lc->index[hole] = 0;
}

static void free_rcpts(struct mm_lifecycle *lc, struct mm_lc_msg *m)
{
	uint32_t r = m->rcpt_head;
	while (r) {
		struct mm_lc_rcpt *rc = &lc->rcpts[r - 1];
		uint32_t next = rc->next;
		rc->next = lc->rcpt_free;
		lc->rcpt_free = r;
		lc->st.rcpts_kept--;
		r = next;
	}
	m->rcpt_head = m->rcpt_tail = 0;
}

static void drop(struct mm_lifecycle *lc, uint32_t id1)
{
	struct mm_lc_msg *m = at(lc, id1);
	list_unlink(lc, id1);
	index_delete(lc, m->hslot - 1);
	free_rcpts(lc, m);
	memset(m, 0, sizeof *m);
	m->next = lc->msg_free; /* free list reuses next */
	lc->msg_free = id1;
	lc->st.inflight--;
}

void mm_lc_expire(struct mm_lifecycle *lc, int64_t now_ms)
{
	if (lc->lim.max_age_ms <= 0)
		return;
	while (lc->head && at(lc, lc->head)->last_ms < now_ms - lc->lim.max_age_ms) {
		drop(lc, lc->head);
		lc->st.evicted_age++;
	}
}

static uint32_t alloc_msg(struct mm_lifecycle *lc)
{
	if (lc->msg_free) {
		uint32_t id1 = lc->msg_free;
		lc->msg_free = at(lc, id1)->next;
		at(lc, id1)->next = 0;
		return id1;
	}
	if (lc->msg_hwm < lc->lim.max_inflight)
		return ++lc->msg_hwm;
	/* Full: evict the least recently active message. */
	drop(lc, lc->head);
	lc->st.evicted_full++;
	uint32_t id1 = lc->msg_free;
	lc->msg_free = at(lc, id1)->next;
	at(lc, id1)->next = 0;
	return id1;
}

/* Doubles the index and reinserts every tracked message by its hash. */
static void grow_index(struct mm_lifecycle *lc)
{
	uint32_t slots = (lc->mask + 1) * 2;
	uint32_t *idx = xcalloc(slots, sizeof *idx);
	for (uint32_t i = 0; i <= lc->mask; i++) {
		uint32_t id1 = lc->index[i];
		if (!id1)
			continue;
		struct mm_lc_msg *m = at(lc, id1);
		uint32_t h = m->hash & (slots - 1);
		while (idx[h])
			h = (h + 1) & (slots - 1);
		idx[h] = id1;
		m->hslot = h + 1;
	}
	free(lc->index);
	lc->index = idx;
	lc->mask = slots - 1;
}

static struct mm_lc_msg *lookup(const struct mm_lifecycle *lc, const struct mm_sv *q,
				uint32_t *slot)
{
	*slot = find_slot(lc, q->p, q->len);
	uint32_t id1 = lc->index[*slot];
	return id1 ? at(lc, id1) : NULL;
}

static struct mm_lc_msg *get_or_create(struct mm_lifecycle *lc, const struct mm_sv *q,
				       bool create, struct mm_lc_change *out)
{
	uint32_t slot;
	struct mm_lc_msg *m = lookup(lc, q, &slot);
	if (m) {
		/* Move to the tail only when its time changes: the list stays
		 * sorted by last_ms (now_ms never decreases), and the several
		 * events of a message in the same millisecond cost no relinking. */
		if (m->last_ms != lc->now_ms) {
			uint32_t id1 = (uint32_t)(m - lc->msgs) + 1;
			if (lc->tail != id1) {
				list_unlink(lc, id1);
				list_append(lc, id1);
			}
			m->last_ms = lc->now_ms;
		}
		return m;
	}
	if (!create)
		return NULL;
	uint32_t id1 = alloc_msg(lc);
	if ((lc->st.inflight + 1) * 2 > (uint64_t)lc->mask + 1)
		grow_index(lc);
	/* Eviction or growth may have moved entries: probe again. */
	uint32_t hash = qid_hash(q->p, q->len);
	slot = find_slot_h(lc, q->p, q->len, hash);
	m = at(lc, id1);
	m->hash = hash;
	memcpy(m->qid, q->p, q->len);
	m->qid_len = (uint8_t)q->len;
	m->arrival_ms = m->last_ms = lc->now_ms;
	m->inbound = -1;
	m->hslot = slot + 1;
	lc->index[slot] = id1;
	list_append(lc, id1);
	lc->st.created++;
	if (++lc->st.inflight > lc->st.peak_inflight)
		lc->st.peak_inflight = lc->st.inflight;
	out->msg_new = true;
	return m;
}

static void copy_text(char *dst, size_t cap, const struct mm_sv *s, struct mm_lifecycle *lc,
		      struct mm_lc_msg *m)
{
	size_t n = s->len;
	if (n > cap - 1) {
		n = cap - 1;
		lc->st.truncated++;
		m->flags |= MM_LCF_TRUNC;
	}
	if (n)
		memcpy(dst, s->p, n);
	dst[n] = 0;
}

/* The message's slot for channel chan, adding it; -1 when all are taken. */
static int chan_slot(struct mm_lifecycle *lc, struct mm_lc_msg *m, uint16_t chan,
		     struct mm_lc_change *out)
{
	for (int i = 0; i < m->nchan; i++)
		if (m->chan[i] == chan)
			return i;
	if (m->nchan >= MM_LC_MAX_CHAN) {
		lc->st.chan_overflow++;
		return -1;
	}
	m->chan[m->nchan] = chan;
	m->chflags[m->nchan] = 0;
	out->chan_new = true;
	return m->nchan++;
}

static void keep_rcpt(struct mm_lifecycle *lc, struct mm_lc_msg *m,
		      const struct mm_log_event *ev, uint16_t chan)
{
	if (!lc->lim.max_rcpts)
		return;
	uint32_t r;
	if (lc->rcpt_free) {
		r = lc->rcpt_free;
		lc->rcpt_free = lc->rcpts[r - 1].next;
	} else if (lc->rcpt_hwm < lc->lim.max_rcpts) {
		r = ++lc->rcpt_hwm;
	} else {
		lc->st.rcpts_dropped++;
		return;
	}
	struct mm_lc_rcpt *rc = &lc->rcpts[r - 1];
	memset(rc, 0, sizeof *rc);
	copy_text(rc->addr, sizeof rc->addr, &ev->addr, lc, m);
	copy_text(rc->relay, sizeof rc->relay, &ev->relay, lc, m);
	rc->time_ms = ev->time_ms;
	rc->delay = (float)ev->delay;
	for (int i = 0; i < 4; i++)
		rc->delays[i] = (float)ev->delays[i];
	rc->chan = chan;
	rc->status = (uint8_t)ev->status;
	if (m->rcpt_tail)
		lc->rcpts[m->rcpt_tail - 1].next = r;
	else
		m->rcpt_head = r;
	m->rcpt_tail = r;
	lc->st.rcpts_kept++;
}

static void on_delivery(struct mm_lifecycle *lc, struct mm_lc_msg *m,
			const struct mm_log_event *ev, uint16_t chan, struct mm_lc_change *out)
{
	int s = chan == MM_LC_NO_CHAN ? -1 : chan_slot(lc, m, chan, out);
	uint8_t cf = s >= 0 ? m->chflags[s] : 0;
	out->attempt_new = out->chan_new || (cf & MM_LCC_RETRY);
	cf &= (uint8_t)~MM_LCC_RETRY;
	switch (ev->status) {
	case MM_DS_SENT:
		m->nsent++;
		if (!(cf & MM_LCC_SENT)) {
			out->chan_first_sent = true;
			out->first_attempt =
				!(cf & MM_LCC_DEFERRED) && !(m->flags & MM_LCF_UNSEEN);
		}
		cf |= MM_LCC_SENT;
		break;
	case MM_DS_DEFERRED:
	case MM_DS_DEFERRED_FIRST:
		m->ndeferrals++;
		if (!(m->flags & MM_LCF_DEFERRED))
			out->msg_first_deferral = true;
		m->flags |= MM_LCF_DEFERRED;
		cf |= MM_LCC_DEFERRED | MM_LCC_RETRY;
		break;
	case MM_DS_BOUNCED:
	case MM_DS_EXPIRED:
		m->nfailed++;
		if (!(cf & MM_LCC_FAILED))
			out->chan_first_failed = true;
		cf |= MM_LCC_FAILED;
		break;
	case MM_DS_NONE:
		break;
	}
	if (s >= 0)
		m->chflags[s] = cf;
	keep_rcpt(lc, m, ev, chan);
}

void mm_lc_event(struct mm_lifecycle *lc, const struct mm_log_event *ev, uint16_t chan,
		 uint16_t inbound, struct mm_lc_change *out)
{
	memset(out, 0, sizeof *out);
	if (ev->time_ms > lc->now_ms) {
		lc->now_ms = ev->time_ms;
		mm_lc_expire(lc, lc->now_ms);
	}
	if (!ev->queue_id.len)
		return;
	if (ev->queue_id.len >= MM_LC_QID_MAX) {
		lc->st.qid_too_long++;
		return;
	}
	struct mm_lc_msg *m;
	switch (ev->type) {
	case MM_EV_CLIENT:
	case MM_EV_PICKUP:
		m = get_or_create(lc, &ev->queue_id, true, out);
		m->flags |= ev->type == MM_EV_CLIENT ? MM_LCF_SMTPD : MM_LCF_PICKUP;
		if (inbound != MM_LC_NO_CHAN)
			m->inbound = (int16_t)inbound;
		if (ev->type == MM_EV_PICKUP && ev->addr.len && !m->sender[0])
			copy_text(m->sender, sizeof m->sender, &ev->addr, lc, m);
		break;
	case MM_EV_QUEUED:
		m = get_or_create(lc, &ev->queue_id, true, out);
		if (ev->flags & MM_EVF_ARRIVAL) {
			/* Exim "<=": received and queued in one line */
			m->flags |= ev->client_ip.len ? MM_LCF_SMTPD : MM_LCF_PICKUP;
			if (inbound != MM_LC_NO_CHAN)
				m->inbound = (int16_t)inbound;
		} else if (out->msg_new) {
			m->flags |= MM_LCF_UNSEEN;
		}
		if (!(m->flags & MM_LCF_QUEUED)) {
			/* qmgr logs from=/size= again after a requeue: keep the first. */
			m->flags |= MM_LCF_QUEUED;
			out->queued_first = true;
			m->size = ev->size;
			m->nrcpt = ev->nrcpt;
			copy_text(m->sender, sizeof m->sender, &ev->addr, lc, m);
		}
		break;
	case MM_EV_DELIVERY:
		m = get_or_create(lc, &ev->queue_id, true, out);
		if (out->msg_new)
			m->flags |= MM_LCF_UNSEEN;
		on_delivery(lc, m, ev, chan, out);
		break;
	case MM_EV_EXPIRED:
		m = get_or_create(lc, &ev->queue_id, false, out);
		if (!m)
			break;
		m->flags |= MM_LCF_EXPIRED;
		for (int i = 0; i < m->nchan; i++)
			if (!(m->chflags[i] & (MM_LCC_SENT | MM_LCC_FAILED))) {
				m->chflags[i] |= MM_LCC_FAILED;
				out->done_flags[out->ndone] = m->chflags[i];
				out->done_chan[out->ndone++] = m->chan[i];
			}
		break;
	case MM_EV_HOLD:
		m = get_or_create(lc, &ev->queue_id, false, out);
		if (m)
			m->flags |= MM_LCF_HELD;
		break;
	case MM_EV_REMOVED:
		m = get_or_create(lc, &ev->queue_id, false, out);
		if (!m)
			break;
		for (int i = 0; i < m->nchan; i++) {
			out->done_flags[out->ndone] = m->chflags[i];
			out->done_chan[out->ndone++] = m->chan[i];
		}
		out->size = m->size;
		out->msg = NULL; /* gone after this call */
		lc->st.completed++;
		drop(lc, (uint32_t)(m - lc->msgs) + 1);
		return;
	default:
		/* message-id, bounce notices, warnings...: nothing tracked
		 * changes, so no lookup (one hash and probe less per message) */
		return;
	}
	out->msg = m;
	if (m)
		out->size = m->size;
}

int64_t mm_lc_now(const struct mm_lifecycle *lc)
{
	return lc->now_ms;
}

const struct mm_lc_msg *mm_lc_find(const struct mm_lifecycle *lc, const char *qid, size_t len)
{
	if (len == 0 || len >= MM_LC_QID_MAX)
		return NULL;
	struct mm_sv q = {qid, (uint32_t)len};
	uint32_t slot;
	return lookup(lc, &q, &slot);
}

const struct mm_lc_rcpt *mm_lc_rcpt_first(const struct mm_lifecycle *lc,
					  const struct mm_lc_msg *msg)
{
	return msg->rcpt_head ? &lc->rcpts[msg->rcpt_head - 1] : NULL;
}

const struct mm_lc_rcpt *mm_lc_rcpt_next(const struct mm_lifecycle *lc,
					 const struct mm_lc_rcpt *r)
{
	return r->next ? &lc->rcpts[r->next - 1] : NULL;
}

void mm_lc_get_stats(const struct mm_lifecycle *lc, struct mm_lc_stats *out)
{
	*out = lc->st;
}

void mm_lc_each(const struct mm_lifecycle *lc,
		void (*fn)(const struct mm_lc_msg *m, void *arg), void *arg)
{
	for (uint32_t id1 = lc->head; id1; id1 = at(lc, id1)->next)
		fn(at(lc, id1), arg);
}

void mm_lc_restore(struct mm_lifecycle *lc, const struct mm_lc_msg *saved)
{
	if (saved->qid_len == 0 || saved->qid_len >= MM_LC_QID_MAX)
		return;
	struct mm_sv q = {saved->qid, saved->qid_len};
	struct mm_lc_change ch;
	memset(&ch, 0, sizeof ch);
	if (saved->last_ms > lc->now_ms)
		lc->now_ms = saved->last_ms;
	struct mm_lc_msg *m = get_or_create(lc, &q, true, &ch);
	free_rcpts(lc, m);
	uint32_t prev = m->prev, next = m->next, hslot = m->hslot, hash = m->hash;
	*m = *saved;
	m->hash = hash;
	m->sender[MM_LC_ADDR_MAX - 1] = 0;
	if (m->nchan > MM_LC_MAX_CHAN)
		m->nchan = MM_LC_MAX_CHAN;
	m->rcpt_head = m->rcpt_tail = 0;
	m->prev = prev;
	m->next = next;
	m->hslot = hslot;
}

/*
 * mta_mem: the "none" backend, an in-memory queue.
 *
 * It reads no MTA. Tests (and a host without an MTA) put messages in with
 * mm_mta_mem_put() and take them out with mm_mta_mem_remove(); scan()
 * returns those of the asked queues. It lets the queue engine (summaries,
 * qshape tables, the daemon's gauges) be tested without Postfix.
 *
 * Ownership: the handle owns copies of every message and the interned
 * reasons; a snapshot borrows them until the next put/remove/scan/close.
 */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/strpool.h"
#include "core/xalloc.h"
#include "mta/mta.h"
#include "mta/qmsg.h"

struct mem {
	struct mm_qmsg **msgs;
	size_t n, cap;
	struct mm_strpool pool;
};

static void *mem_open(const struct mm_mta_params *p, struct mm_err *err)
{
	return xcalloc(1, sizeof(struct mem));
}

static int mem_scan(void *h, unsigned qmask, struct mm_qsnap *snap, struct mm_err *err)
{
	struct mem *m = h;
	int64_t t0 = mm_mono_us();
	mm_qsnap_reset(snap);
	snap->taken_s = mm_wall_ms() / 1000;
	snap->qmask = qmask;
	snap->stats.full = true;
	for (size_t i = 0; i < m->n; i++) {
		snap->stats.files++;
		snap->stats.reused++;
		if (qmask & MM_QMASK(m->msgs[i]->queue))
			mm_qsnap_add(snap, m->msgs[i]);
	}
	snap->stats.duration_us = mm_mono_us() - t0;
	return 0;
}

static const char *mem_mode(void *h)
{
	return "memory";
}

static void mem_close(void *h)
{
	struct mem *m = h;
	for (size_t i = 0; i < m->n; i++)
		mm_qmsg_free(m->msgs[i], &m->pool);
	free(m->msgs);
	mm_strpool_free(&m->pool);
	free(m);
}

bool mm_mta_mem_remove(void *h, const char *id)
{
	struct mem *m = h;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->msgs[i]->id, id) == 0) {
			mm_qmsg_free(m->msgs[i], &m->pool);
			m->msgs[i] = m->msgs[--m->n];
			return true;
		}
	return false;
}

void mm_mta_mem_put(void *h, const struct mm_qmsg *msg)
{
	struct mem *m = h;
	mm_mta_mem_remove(h, msg->id);
	struct mm_qmsg *copy = mm_qmsg_new(msg);
	for (uint32_t i = 0; i < copy->nrcpt; i++)
		if (copy->rcpt[i].reason)
			copy->rcpt[i].reason = mm_strpool_get(&m->pool, copy->rcpt[i].reason,
							      strlen(copy->rcpt[i].reason));
	if (m->n == m->cap)
		m->msgs = xgrow(m->msgs, &m->cap, m->n + 1, sizeof *m->msgs);
	m->msgs[m->n++] = copy;
}

const struct mm_mta_backend mm_mta_none = {
	.name = "none",
	.open = mem_open,
	.scan = mem_scan,
	.mode = mem_mode,
	.close = mem_close,
};

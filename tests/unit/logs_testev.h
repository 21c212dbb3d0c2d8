/* logs_testev: builds mm_log_event values for the logs unit tests (the
 * tests fill events directly, as a parser would, from one table row). */
#ifndef MAILMON_TESTS_LOGS_TESTEV_H
#define MAILMON_TESTS_LOGS_TESTEV_H

#include <string.h>

#include "parsers/logevent.h"

struct tev {
	enum mm_ev_type type;
	const char *qid, *channel, *addr, *reason, *service;
	enum mm_dstatus status;
	int64_t t_ms;
	uint64_t size;
	double delay;
};

static inline struct mm_sv tev_sv(const char *s)
{
	struct mm_sv v = {s, s ? (uint32_t)strlen(s) : 0};
	return v;
}

static inline struct mm_log_event tev_make(const struct tev *t)
{
	struct mm_log_event ev;
	memset(&ev, 0, sizeof ev);
	ev.type = t->type;
	ev.source = MM_SRC_POSTFIX;
	ev.time_ms = t->t_ms;
	ev.queue_id = tev_sv(t->qid);
	ev.channel = tev_sv(t->channel);
	ev.service = tev_sv(t->service ? t->service : t->channel);
	ev.addr = tev_sv(t->addr);
	ev.reason = tev_sv(t->reason);
	ev.status = t->status;
	ev.size = t->size;
	ev.nrcpt = 1;
	ev.delay = t->delay;
	for (int i = 0; i < 4; i++)
		ev.delays[i] = -1;
	return ev;
}

#endif

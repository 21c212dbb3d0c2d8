/* schedule: see schedule.h. */
#include "core/schedule.h"

#include "core/clock.h"

#include <stdlib.h>
#include <string.h>

#include "core/strutil.h"
#include "core/xalloc.h"

size_t mm_schedule_add(struct mm_schedule *s, const char *name, int64_t period_ms,
		       int64_t first_delay_ms, int64_t now_ms, mm_job_fn *fn, void *arg)
{
	s->jobs = xgrow(s->jobs, &s->cap, s->n + 1, sizeof *s->jobs);
	struct mm_job *j = &s->jobs[s->n];
	memset(j, 0, sizeof *j);
	mm_strlcpy(j->name, name, sizeof j->name);
	j->period_ms = period_ms > 0 ? period_ms : 1;
	j->next_ms = now_ms + first_delay_ms;
	j->fn = fn;
	j->arg = arg;
	return s->n++;
}

void mm_schedule_set_period(struct mm_schedule *s, const char *name, int64_t period_ms)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->jobs[i].name, name) != 0)
			continue;
		int64_t last = s->jobs[i].next_ms - s->jobs[i].period_ms;
		s->jobs[i].period_ms = period_ms > 0 ? period_ms : 1;
		s->jobs[i].next_ms = last + s->jobs[i].period_ms;
	}
}

size_t mm_schedule_tick(struct mm_schedule *s, int64_t now_ms)
{
	size_t ran = 0;
	/* Index loop: a job may add jobs, which can move the array. */
	for (size_t i = 0; i < s->n; i++) {
		if (now_ms < s->jobs[i].next_ms)
			continue;
		int64_t lag = now_ms - s->jobs[i].next_ms;
		if (lag > s->jobs[i].max_lag_ms)
			s->jobs[i].max_lag_ms = lag;
		s->jobs[i].runs++;
		/* Keep the phase when on time; restart it after an overrun. */
		s->jobs[i].next_ms = lag < s->jobs[i].period_ms
					     ? s->jobs[i].next_ms + s->jobs[i].period_ms
					     : now_ms + s->jobs[i].period_ms;
		int64_t t0 = mm_mono_us();
		s->jobs[i].fn(s->jobs[i].arg, now_ms);
		/* s->jobs may have moved (a job added jobs); i is still ours. */
		int64_t dt = mm_mono_us() - t0;
		s->jobs[i].last_us = dt;
		s->jobs[i].total_us += (uint64_t)dt;
		if (dt > s->jobs[i].max_us)
			s->jobs[i].max_us = dt;
		ran++;
	}
	return ran;
}

void mm_schedule_free(struct mm_schedule *s)
{
	free(s->jobs);
	memset(s, 0, sizeof *s);
}

/*
 * schedule: periodic jobs driven by one heartbeat.
 *
 * The daemon has a single timer (the heartbeat). Each job registered here
 * has its own period; mm_schedule_tick() runs every job that is due. A job
 * that overran is run once, not once per missed period, and its next run
 * is counted from now, so a stall never produces a burst.
 *
 * Ownership: the schedule owns its job table; job arguments belong to the
 * caller and must outlive the schedule (or the job's removal).
 */
#ifndef MAILMON_CORE_SCHEDULE_H
#define MAILMON_CORE_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

typedef void mm_job_fn(void *arg, int64_t now_ms);

struct mm_job {
	char name[48];
	int64_t period_ms;
	int64_t next_ms;
	uint64_t runs;
	int64_t max_lag_ms; /* worst delay past the due time, for status */
	int64_t last_us, max_us; /* how long the job's runs take */
	uint64_t total_us;
	mm_job_fn *fn;
	void *arg;
};

struct mm_schedule {
	struct mm_job *jobs;
	size_t n, cap;
};

/* Adds a job first due at now + first_delay_ms. Returns its index. */
size_t mm_schedule_add(struct mm_schedule *s, const char *name, int64_t period_ms,
		       int64_t first_delay_ms, int64_t now_ms, mm_job_fn *fn, void *arg);
/* Changes a job's period (e.g. after a config reload). */
void mm_schedule_set_period(struct mm_schedule *s, const char *name, int64_t period_ms);
/* Runs due jobs; returns how many ran. */
size_t mm_schedule_tick(struct mm_schedule *s, int64_t now_ms);
void mm_schedule_free(struct mm_schedule *s);

#endif

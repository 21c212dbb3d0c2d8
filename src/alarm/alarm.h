/*
 * alarm: the alarm engine. It samples the metric registry, keeps one
 * alarm instance per matching series, and says when an instance changes
 * state. It sends nothing itself: the notifier (notify.h) turns its
 * events into mail, Alertmanager posts and exec hooks.
 *
 * Each definition (alarm_def.h) is sampled every statinterval. A sample
 * "crosses" when the value is above (direction 1) or below (-1) the
 * threshold. An instance is raised when N of its last M samples crossed
 * (cycles = N/M), is repeated every warninginterval while it stays
 * raised, and is cleared when none of its last N samples crossed, or
 * when its series has been gone from the registry for 3 statintervals
 * (at least MM_ALARM_GONE_MIN_MS, also after a start). Each of these is
 * one event.
 *
 * Per instance the engine keeps the seed's counterutil "alarm" object:
 * countoverthreshold, countwarningsent, current, high, low, timelastset,
 * timelastwarning, timereset, timestatechanged, warningstate (times are
 * Unix seconds). The instance name is the values of the series' labels
 * that the selector does not pin with =, joined by ",".
 *
 * Silences (mm_alarm_silence) keep events from being notified; a clear
 * is notified only when the raise was. A raise that was silenced is
 * notified when the silence ends if the alarm still holds.
 *
 * The engine publishes mailmon_alarm_firing{alarm,instance} (1 raised,
 * 0 not) into the registry it is given.
 *
 * Ownership: the engine owns its instances and events; the events of one
 * mm_alarm_eval() are valid until the next call. Definitions are the
 * caller's and must outlive their use (mm_alarm_set_defs again after a
 * reload). Loop thread only.
 */
#ifndef MAILMON_ALARM_ALARM_H
#define MAILMON_ALARM_ALARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarm/alarm_def.h"
#include "core/err.h"
#include "core/nameidx.h"
#include "metrics/registry.h"

#define MM_ALARM_GONE_MIN_MS 60000

enum mm_alarm_kind { MM_ALARM_RAISE, MM_ALARM_REPEAT, MM_ALARM_CLEAR };

struct mm_alarm_inst {
	char alarm[MM_ALARM_NAME_MAX];
	char instance[MM_ALARM_TEXT_MAX];
	char key[MM_ALARM_NAME_MAX + MM_ALARM_TEXT_MAX + 1]; /* alarm \x1f instance */
	/* the seed's alarm counter object */
	uint64_t countoverthreshold, countwarningsent;
	double current, high, low;
	int64_t timelastset, timelastwarning, timereset, timestatechanged;
	bool warningstate;
	/* sampling */
	uint64_t hist;	 /* bit 0: the newest sample crossed */
	unsigned nhist;	 /* samples in hist, up to 64 */
	bool have_prev;	 /* delta/rate/unchanged: raw value of the last sample */
	double prev;
	int64_t prev_ms, changed_ms;
	/* notification */
	bool notified;	 /* the raise went out (so the clear must) */
	char last_result[160];
	bool seen;
	int64_t seen_ms; /* last sample with its series (not saved) */
};

struct mm_alarm_event {
	enum mm_alarm_kind kind;
	const struct mm_alarm_def *def;
	struct mm_alarm_inst inst; /* a copy, after the change */
	bool silenced;		   /* do not notify */
	bool gone;		   /* cleared because the series disappeared */
};

struct mm_alarm_silence {
	char alarm[MM_ALARM_NAME_MAX];
	char instance[MM_ALARM_TEXT_MAX]; /* "" = every instance */
	int64_t until;			  /* Unix seconds */
};

struct mm_alarm_engine {
	const struct mm_alarm_defs *defs;
	int64_t *next_ms; /* per def: when it is next sampled */
	struct mm_alarm_inst *inst;
	size_t ninst, instcap;
	struct mm_nameidx idx; /* key -> inst row; rebuilt after removals */
	bool idx_valid;
	struct mm_alarm_silence *sil;
	size_t nsil, silcap;
	struct mm_alarm_event *ev;
	size_t nev, evcap;
	bool dirty; /* state changed since it was last saved */
	int64_t started_ms; /* first mm_alarm_eval() */
	struct mm_registry *reg;
	struct mm_metric *m_firing;
};

struct mm_alarm_engine *mm_alarm_engine_new(void);
void mm_alarm_engine_free(struct mm_alarm_engine *e);
/* (Re)points the engine at definitions; every alarm is due at once.
 * Instances of alarms no longer defined are dropped. */
void mm_alarm_set_defs(struct mm_alarm_engine *e, const struct mm_alarm_defs *defs);
/* Registers mailmon_alarm_firing and a collector in r. -1 with err. */
int mm_alarm_publish(struct mm_alarm_engine *e, struct mm_registry *r, struct mm_err *err);
/* Samples every definition due at now_ms (Unix ms) from r, which the
 * caller has just collected. Returns the number of events, *out the
 * array. */
size_t mm_alarm_eval(struct mm_alarm_engine *e, const struct mm_registry *r, int64_t now_ms,
		     const struct mm_alarm_event **out);
/* Earliest time a definition is due (Unix ms), INT64_MAX with none. */
int64_t mm_alarm_next_due(const struct mm_alarm_engine *e);

/* Silences NAME (instance NULL or "": all its instances) until `until`
 * (Unix s); until <= now lifts it. */
void mm_alarm_silence(struct mm_alarm_engine *e, const char *alarm, const char *instance,
		      int64_t until);
bool mm_alarm_silenced(const struct mm_alarm_engine *e, const char *alarm,
		       const char *instance, int64_t now_s);

/* Finds an instance (NULL if none) and adds one (restoring state). */
struct mm_alarm_inst *mm_alarm_find(struct mm_alarm_engine *e, const char *alarm,
				    const char *instance);
struct mm_alarm_inst *mm_alarm_add(struct mm_alarm_engine *e, const char *alarm,
				   const char *instance);

#endif

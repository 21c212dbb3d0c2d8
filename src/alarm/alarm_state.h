/*
 * alarm_state: the alarm engine's instances and silences saved in the
 * state directory, so that after a restart (even kill -9) a raised alarm
 * is neither notified again nor forgotten: its clear still goes out.
 *
 * The encoding is versioned, line-oriented text, readable by a person:
 *
 *   mailmon-alarm-state 1
 *   inst ALARM INSTANCE ws=1 nt=1 cot=12 cws=1 cur=93.5 high=95 low=80 ...
 *   sil ALARM INSTANCE|* UNTIL
 *
 * Names are %XX-escaped (core/pct.h); fields are key=value, unknown keys
 * are ignored so a newer writer's extra fields do not break an older
 * reader. A file of a newer version is refused, never misread.
 *
 *   mm_alarm_state_save(e, path, err)   written atomically (atomicfile.h)
 *   mm_alarm_state_load(e, path, err)   a missing file is not an error;
 *                                       the instances are added to e
 *   mm_alarm_state_parse(e, text, len, name, err)  the same from memory
 *
 * Errors: -1 with err naming the file and line.
 */
#ifndef MAILMON_ALARM_ALARM_STATE_H
#define MAILMON_ALARM_ALARM_STATE_H

#include <stddef.h>

#include "alarm/alarm.h"
#include "core/err.h"
#include "core/strbuf.h"

#define MM_ALARM_STATE_VERSION 1
#define MM_ALARM_STATE_MAX ((size_t)32 << 20)

void mm_alarm_state_format(const struct mm_alarm_engine *e, struct mm_strbuf *out);
int mm_alarm_state_save(const struct mm_alarm_engine *e, const char *path, struct mm_err *err);
int mm_alarm_state_parse(struct mm_alarm_engine *e, const char *text, size_t len,
			 const char *name, struct mm_err *err);
int mm_alarm_state_load(struct mm_alarm_engine *e, const char *path, struct mm_err *err);

#endif

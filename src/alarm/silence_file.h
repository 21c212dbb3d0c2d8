/*
 * silence_file: the silences `mailmon alarms silence` asks for, in
 * STATE/alarm-silences, read by mailmond when the file changes. The CLI
 * writes the file (atomically) and the daemon only reads it, so the two
 * never write the same file.
 *
 *   mailmon-alarm-state 1          (the state file's encoding, silences only)
 *   sil NAME INSTANCE|* UNTIL      (names %XX-escaped, UNTIL Unix seconds)
 *
 *   mm_silence_file_add(path, alarm, instance, until, now, err)
 *        adds or replaces one silence, dropping expired ones
 *   mm_silence_file_apply(path, engine, err)
 *        sets every silence of the file in the engine
 *
 * Errors: -1 with err naming the file (and line).
 */
#ifndef MAILMON_ALARM_SILENCE_FILE_H
#define MAILMON_ALARM_SILENCE_FILE_H

#include <stdint.h>

#include "alarm/alarm.h"
#include "core/err.h"

int mm_silence_file_add(const char *path, const char *alarm, const char *instance,
			int64_t until, int64_t now, struct mm_err *err);
int mm_silence_file_apply(const char *path, struct mm_alarm_engine *e, struct mm_err *err);

#endif

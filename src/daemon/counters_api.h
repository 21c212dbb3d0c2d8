/*
 * counters_api: mailmond's GET /api/counters, the channel counters file as
 * JSON (the document of `mailmon counters -show --json`, see
 * logs/counters_json.h). The log pipeline that writes the file is wired
 * in logwatch.c; this only reads it, like any other reader, so it never
 * blocks the writer. 404 with a message when the file is missing or bad.
 */
#ifndef MAILMON_DAEMON_COUNTERS_API_H
#define MAILMON_DAEMON_COUNTERS_API_H

#include "core/err.h"

struct mm_daemon;

int mm_counters_api_init(struct mm_daemon *d, struct mm_err *err);
void mm_counters_api_free(struct mm_daemon *d);

#endif

/*
 * queuewatch: mailmond's queue gauges (see queuewatch.c).
 */
#ifndef MAILMON_DAEMON_QUEUEWATCH_H
#define MAILMON_DAEMON_QUEUEWATCH_H

#include "core/err.h"

struct mm_daemon;

/* Opens the MTA backend, starts the scan thread, schedules rescans every
 * [queue] scan_interval and serves /api/queue. Does nothing when
 * [queue] enable is off or [mta] type is none. */
int mm_queuewatch_init(struct mm_daemon *d, struct mm_err *err);
/* Stops the scan thread (waiting for a scan in progress) and frees all. */
void mm_queuewatch_free(struct mm_daemon *d);

#endif

/*
 * queuewatch: mailmond's queue gauges (see queuewatch.c), the "queue"
 * module of the module table (module.h): opens the MTA backend, starts
 * the scan thread, schedules rescans every [queue] scan_interval, serves
 * /api/queue and publishes the mailmon_queue_* families. Does nothing
 * when [queue] enable is off or [mta] type has no queue reader (none).
 */
#ifndef MAILMON_DAEMON_QUEUEWATCH_H
#define MAILMON_DAEMON_QUEUEWATCH_H

struct mm_daemon;

#endif

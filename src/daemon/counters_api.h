/*
 * counters_api: GET /api/counters, the RFC 2789 channel counters file as
 * JSON (the "counters" module of module.h).
 */
#ifndef MAILMON_DAEMON_COUNTERS_API_H
#define MAILMON_DAEMON_COUNTERS_API_H

#endif

/*
 * services: mailmond's glue for the service watcher (see services.c).
 * The state lives in struct mm_services, owned by struct mm_daemon.
 */
#ifndef MAILMON_DAEMON_SERVICES_H
#define MAILMON_DAEMON_SERVICES_H

#include "core/err.h"

struct mm_daemon;
struct mm_services;

/* Reads every [service.NAME], schedules its cycle, adds /api/services
 * and /api/counterutil. Returns -1 with err on a bad service section. */
int mm_services_init(struct mm_daemon *d, struct mm_err *err);
/* Cancels probes and commands in flight (their children are killed). */
void mm_services_free(struct mm_daemon *d);

#endif

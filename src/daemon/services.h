/*
 * services: mailmond's glue for the service watcher (see services.c), the
 * "services" module of the module table (module.h): every [service.NAME],
 * its probe cycle, /api/services, /api/counterutil and the
 * mailmon_service_*, mailmon_process_* and mailmon_connections families.
 * The state lives in struct mm_services, owned by struct mm_daemon.
 */
#ifndef MAILMON_DAEMON_SERVICES_H
#define MAILMON_DAEMON_SERVICES_H

struct mm_daemon;
struct mm_services;

#endif

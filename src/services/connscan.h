/*
 * connscan: connection-table scans (conntable) on a thread of their own.
 *
 * A scan asks the kernel for every TCP socket on the host: on a loaded
 * machine with thousands of sockets it took 8-17 ms of CPU and, because the
 * kernel's dump gives the CPU up between hash buckets, 50-290 ms of wall
 * time. On the event loop that stalled every HTTP answer and probe for as
 * long; here the loop only asks for a scan and takes the finished table.
 *
 * Public: mm_connscan_new (ports to count, a done callback run on the
 * loop), mm_connscan_request (a scan unless one is running),
 * mm_connscan_free (waits for a running scan).
 *
 * Ownership: the worker owns two tables. The one passed to done belongs to
 * the caller until the next done; the worker scans into the other and they
 * are swapped on the loop, so they are never shared while a scan runs.
 * Threads: the scan thread and its hand-over to the loop are core/bgwork.h.
 * Errors: new returns NULL with err (thread or pipe could not be made); a
 * failed scan reaches done with ok false and the reason.
 */
#ifndef MAILMON_SERVICES_CONNSCAN_H
#define MAILMON_SERVICES_CONNSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "services/conntable.h"

struct event_base;
struct mm_connscan;

/* Runs on the loop after each scan. t is the fresh table (valid until the
 * next call); when ok is false, why says what failed and t is stale. */
typedef void (*mm_connscan_done)(void *arg, const struct mm_conntable *t, bool ok,
				 const char *why);

struct mm_connscan *mm_connscan_new(struct event_base *base, const uint16_t *ports, size_t n,
				    mm_connscan_done done, void *arg, struct mm_err *err);
void mm_connscan_request(struct mm_connscan *w);
void mm_connscan_free(struct mm_connscan *w);

#endif

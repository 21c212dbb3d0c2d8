/*
 * logwatch: mailmond follows the mail logs of [log] sources (files and
 * the systemd journal) and feeds every line to the log consumer.
 *
 * Reads are driven by the loop: inotify on the files' directories (with
 * a short batching delay, so a busy log costs a few wakeups a second, not
 * one per line), the journal's own fd, and a periodic job (poll_interval)
 * that also checks for rotation. Positions and per-source line counts are
 * saved atomically to STATE_DIRECTORY/log-positions every
 * position_save_interval and at a clean stop, after the consumer's flush
 * (see sources/consumer.h for the exactness contract).
 *
 * This is the "logs" module of the module table (module.h). A [log]
 * change on SIGHUP applies at once: positions are saved, sources rebuilt,
 * and kept sources resume where they were; a new log format switches
 * the grammar. Publishes mailmon_log_* and the per-channel mailmon_
 * message, recipient, volume, association and stored families.
 *
 * Endpoint: GET /api/logs (see logwatch.c for the fields).
 *
 * Ownership: struct mm_logwatch lives in d->logwatch and is freed by
 * mm_logwatch_free(), which saves the positions one last time.
 */
#ifndef MAILMON_DAEMON_LOGWATCH_H
#define MAILMON_DAEMON_LOGWATCH_H

#include "core/err.h"

struct mm_daemon;
struct mm_logwatch;
struct mm_logpipe;

/* The log pipeline (parser -> lifecycle -> channel counters), for other
 * modules that add to the counters (the queue's stored gauges); NULL when
 * counters are off. Owned by logwatch. */
struct mm_logpipe *mm_logwatch_logpipe(struct mm_daemon *d);

#endif

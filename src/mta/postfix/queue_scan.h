/*
 * queue_scan: direct reading of one Postfix instance's queue directory,
 * with a cache so that rescans read only new or changed files.
 *
 *   mm_pf_scanner_new(queue_dir, instance, opts)
 *   mm_pf_scanner_scan(s, qmask, snap, err)   appends the messages of the
 *       queues in qmask to snap (callers reset snap; several instances
 *       append to one snapshot) and adds to snap->stats
 *   mm_pf_scanner_free(s)
 *
 * Walks incoming, active, deferred, hold, maildrop and corrupt with their
 * hashed subdirectories. A file is parsed (queue_file.h) only when its
 * identity (inode, size, mtime, ctime, mode) differs from the cached one;
 * a file whose ctime is within a second of the scan is never trusted by
 * identity alone (coarse file system timestamps could hide a second
 * change): the next walk, or its next inotify event, parses it again.
 * With opts.reasons, each message's defer/ log is read (defer_log.h) and
 * every recipient gets its delay reason and class.
 *
 * With opts.watch (the daemon), inotify watches every queue directory, so
 * a rescan reads only the files named in events; a full walk runs on the
 * first scan, after an event overflow, and every opts.full_every_ms.
 * Without inotify every scan is a full walk (still parsing only changed
 * files).
 *
 * Races are normal and counted in snap->stats, never fatal: a file gone
 * between readdir and open (vanished), still being written (in_progress:
 * Postfix sets mode 0700 when a file is complete), truncated or garbage
 * (malformed), a message seen twice because it moved mid-walk
 * (duplicates). Permission denied on a queue's top directory fails the
 * scan with a message naming the mode to use; on anything below it is
 * counted (unreadable).
 *
 * Ownership: the scanner owns its cache, the messages in it and their
 * interned reasons; snapshot entries borrow them until the next scan or
 * free. One thread at a time.
 */
#ifndef MAILMON_MTA_POSTFIX_QUEUE_SCAN_H
#define MAILMON_MTA_POSTFIX_QUEUE_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "mta/mta.h"

struct mm_pf_scanner;

struct mm_pf_scan_opts {
	bool reasons;		/* read defer logs */
	bool watch;		/* inotify-driven incremental rescans */
	int64_t full_every_ms;	/* with watch: a full walk at least this often */
	const struct mm_mta_opener *opener; /* set: every open goes through it
					     * (the privileged helper), and the
					     * walk uses its listings (names
					     * with their lstat identity) */
};

struct mm_pf_scanner *mm_pf_scanner_new(const char *queue_dir, unsigned instance,
					const struct mm_pf_scan_opts *opts);
int mm_pf_scanner_scan(struct mm_pf_scanner *s, unsigned qmask, struct mm_qsnap *snap,
		       struct mm_err *err);
/* Whether rel names something of a queue directory's layout: a queue
 * ("incoming", "active", "deferred", "hold", "maildrop", "corrupt",
 * "defer"), then up to three one-character hash directories, then
 * optionally a queue id (6 to 40 letters and digits); or the master's
 * "pid/master.pid" (for [isolate]). What the privileged helper may
 * open. */
bool mm_pf_queue_rel_ok(const char *rel);
/* Whether the next scan will be incremental (watching and no overflow). */
bool mm_pf_scanner_incremental(const struct mm_pf_scanner *s);
void mm_pf_scanner_free(struct mm_pf_scanner *s);

#endif

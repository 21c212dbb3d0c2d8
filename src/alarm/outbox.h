/*
 * outbox: notices waiting to be delivered, one file each in a directory
 * of the state directory, retried with exponential backoff until they go
 * out. A notice is written here before the first attempt, so a crash or
 * kill -9 never loses one; it is deleted only after its channel accepted
 * it. Nothing is dropped silently: the backlog and the last error are
 * visible (mm_outbox_backlog, mailmon alarms).
 *
 * File names are SEQUENCE.CHANNEL ("00000000000000000042.mail"), so a
 * directory listing sorted by name is the send order; the contents are
 * the payload exactly as it will be sent. Foreign or half-written files
 * (the atomic writer's temporaries) are ignored.
 *
 *   mm_outbox_open(dir, retry_min_ms, retry_max_ms, err)  creates dir
 *   mm_outbox_add(ob, channel, data, len, keys, now_ms, err)
 *   mm_outbox_due(ob, channel, now_ms)   the channel's oldest entry when
 *                                        it is due, or NULL (in order: one
 *                                        attempt per channel at a time)
 *   mm_outbox_read(ob, entry, &len, err) its payload (caller frees)
 *   mm_outbox_done(ob, entry)            delivered: file removed
 *   mm_outbox_failed(ob, entry, why, now_ms)  backoff doubles
 *
 * keys: what the notice is about ("alarm/instance" lines), kept in
 * memory to report results per alarm instance.
 * Ownership: the outbox owns its entries; an entry pointer is valid
 * until mm_outbox_done() or mm_outbox_close().
 */
#ifndef MAILMON_ALARM_OUTBOX_H
#define MAILMON_ALARM_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MM_OUTBOX_MAX_FILE ((size_t)4 << 20)

struct mm_outbox_entry {
	uint64_t seq;
	char channel[16];
	char *path;
	char *keys;	 /* may be NULL */
	unsigned attempts;
	int64_t next_ms; /* due time (Unix ms) */
	bool busy;	 /* an attempt is running */
	char last_error[200];
};

struct mm_outbox {
	char *dir;
	struct mm_outbox_entry *v;
	size_t n, cap;
	uint64_t next_seq;
	int64_t retry_min_ms, retry_max_ms;
	uint64_t delivered, failures;
	char last_error[200];
	int64_t last_error_ms;
};

struct mm_outbox *mm_outbox_open(const char *dir, int64_t retry_min_ms, int64_t retry_max_ms,
				 struct mm_err *err);
void mm_outbox_close(struct mm_outbox *ob);
void mm_outbox_set_retry(struct mm_outbox *ob, int64_t retry_min_ms, int64_t retry_max_ms);
struct mm_outbox_entry *mm_outbox_add(struct mm_outbox *ob, const char *channel,
				      const void *data, size_t len, const char *keys,
				      int64_t now_ms, struct mm_err *err);
struct mm_outbox_entry *mm_outbox_due(struct mm_outbox *ob, const char *channel,
				      int64_t now_ms);
/* Earliest due time of an idle entry, INT64_MAX with none. */
int64_t mm_outbox_next_due(const struct mm_outbox *ob);
char *mm_outbox_read(const struct mm_outbox *ob, const struct mm_outbox_entry *e, size_t *len,
		     struct mm_err *err);
void mm_outbox_done(struct mm_outbox *ob, struct mm_outbox_entry *e);
void mm_outbox_failed(struct mm_outbox *ob, struct mm_outbox_entry *e, const char *why,
		      int64_t now_ms);
/* Entries waiting (with channel: of that channel only). */
size_t mm_outbox_backlog(const struct mm_outbox *ob, const char *channel);

#endif

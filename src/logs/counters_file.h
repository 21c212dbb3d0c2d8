/*
 * counters_file: the RFC 2789 channel counters in a memory-mapped file,
 * after Messaging Server's shared counters section (imsimta counters).
 *
 * Layout (version 1, host byte order, fixed-width fields; a file written
 * by another ABI fails the byte-order and size checks instead of being
 * misread):
 *
 *   struct mm_cf_header   256 bytes: magic "MMCNTRS\n", byte-order mark,
 *                         version, header/slot/file sizes, max groups,
 *                         group count, generation, created/cleared times,
 *                         clear request/done, pipeline statistics
 *   struct mm_cf_group    max_groups slots of 1 KiB: a sequence word,
 *                         the channel name (fixed-size slot), MM_CG_NFIELDS
 *                         counters and their minimums, the last rejection
 *                         and last connect-failure reasons
 *
 * Concurrency: there is one writer (mailmond, or the one-shot logstat on an
 * anonymous table). It updates a group inside a seqlock: the group's `seq`
 * is made odd, fields are stored with relaxed atomics, then `seq` is made
 * even again with release order. Readers (mailmon counters -show) copy a
 * group and retry when `seq` was odd or changed, so they never block the
 * writer and never see a torn group. The writer holds flock(LOCK_EX) on
 * the file only to keep a second writer out; readers never take it.
 * `-clear` from the CLI while a writer runs is a request (clear_req) that
 * the writer performs at its next mm_cfile_service(); with no writer the
 * CLI clears directly under the flock.
 *
 * Errors: every function that can fail returns -1 (or NULL) and fills a
 * struct mm_err naming the file; a file that is not a counters file, is
 * truncated, or has another version says so and suggests `-create`.
 *
 * Ownership: struct mm_cfile owns its mapping and descriptor; free with
 * mm_cfile_close(). Snapshots are caller-owned values.
 */
#ifndef MAILMON_LOGS_COUNTERS_FILE_H
#define MAILMON_LOGS_COUNTERS_FILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MM_CF_MAGIC "MMCNTRS\n"
#define MM_CF_VERSION 1u
#define MM_CF_BOM 0x01020304u
#define MM_CF_NAME_MAX 48    /* channel name slot, NUL included */
#define MM_CF_REASON_MAX 160 /* last rejection / connect failure, NUL included */
#define MM_CF_NFIELDS 40     /* counter slots per group in the file */
#define MM_CF_MAX_GROUPS 4096
#define MM_CF_OTHER "other" /* the overflow group once the table is full */

/* Counter indexes within a group. Names and meanings: channels.h. */
enum mm_cg_field {
	MM_CG_RECEIVED = 0,   /* messages enqueued to the channel */
	MM_CG_REJECTED,       /* attempted enqueues rejected (J) */
	MM_CG_STORED,	      /* gauge: messages in the channel's queue */
	MM_CG_DELIVERED,      /* messages dequeued: delivered (D) */
	MM_CG_DELIVERED_FIRST, /* ... on the first attempt */
	MM_CG_SUBMITTED,      /* messages enqueued by this channel (inbound) */
	MM_CG_ATTEMPTED,      /* temporary failures (Q/Z), events */
	MM_CG_FAILED,	      /* permanent failures (R): bounced, expired */
	MM_CG_RCPT_DELIVERED, /* recipients delivered */
	MM_CG_RCPT_FAILED,    /* recipients failed permanently */
	MM_CG_VOLUME_RECEIVED,	/* bytes enqueued */
	MM_CG_VOLUME_DELIVERED, /* bytes delivered */
	MM_CG_QTIME_SUM_MS,   /* sum of queue times of delivered messages */
	MM_CG_QTIME_COUNT,
	MM_CG_QFIRST_SUM_MS,  /* same, first-attempt deliveries only */
	MM_CG_QFIRST_COUNT,
	MM_CG_IN_ASSOC,	      /* gauge: inbound associations open */
	MM_CG_IN_ASSOC_TOTAL,
	MM_CG_IN_ASSOC_REJECTED,
	MM_CG_OUT_ASSOC,      /* gauge: outbound associations open */
	MM_CG_OUT_ASSOC_TOTAL,
	MM_CG_OUT_ASSOC_FAILED,
	MM_CG_LAST_IN_MS,     /* wall ms of the last inbound activity */
	MM_CG_LAST_OUT_MS,    /* wall ms of the last outbound activity */
	/* Gauges from the queue scanner, not the logs (RFC 2789
	 * mtaGroupStored*): what the queue holds for the channel now. Slots
	 * that were reserved and zero in files written before, so the
	 * version stays 1. */
	MM_CG_QSTORED_MSGS,   /* mtaGroupStoredMessages */
	MM_CG_QSTORED_RCPTS,  /* mtaGroupStoredRecipients */
	MM_CG_QSTORED_VOLUME, /* mtaGroupStoredVolume, bytes */
	MM_CG_QOLDEST_S,      /* mtaGroupOldestMessageStored, age in seconds */
	/* Mail access logins from Dovecot's logs, on the imap and pop3
	 * groups (counterutil imapstat/popstat). */
	MM_CG_LOGINS_GOOD,    /* Login: lines (numGoodLogins) */
	MM_CG_LOGINS_FAILED,  /* failed attempts, from the login process's
				 "auth failed, N attempts" (numFailedLogins) */
	MM_CG_LOGIN_CONNS,    /* login process connections that ended in a
				 login, an auth failure or no attempt */
	MM_CG__COUNT
};
_Static_assert(MM_CG__COUNT <= MM_CF_NFIELDS, "counter slots exhausted: bump MM_CF_VERSION");

struct mm_cf_header {
	char magic[8];
	uint32_t bom;
	uint32_t version;
	uint32_t header_size;
	uint32_t group_size;
	uint32_t max_groups;
	uint32_t nfields;
	uint64_t file_size;
	_Atomic uint32_t ngroups;      /* slots in use, grows only */
	_Atomic int32_t writer_pid;    /* 0 when none */
	_Atomic uint64_t generation;   /* bumped by every clear */
	int64_t created_ms;
	_Atomic int64_t cleared_ms;
	_Atomic uint64_t clear_req;    /* CLI increments to ask the writer */
	_Atomic uint64_t clear_done;   /* writer copies clear_req when done */
	/* The writer's pipeline, refreshed at each mm_cfile_service(): lines
	 * read and not understood, messages tracked now, evictions (table
	 * full, idle too long). Zero in a file no pipeline has written. */
	_Atomic uint64_t lines, unparsed;
	_Atomic uint64_t inflight, evicted_full, evicted_age, rcpts_dropped;
	_Atomic uint64_t truncated; /* texts cut to their slots */
	uint8_t pad[112];
};
_Static_assert(sizeof(struct mm_cf_header) == 256, "header layout");

struct mm_cf_group {
	_Atomic uint32_t seq; /* odd while the writer updates this group */
	uint32_t pad0;
	_Atomic char name[MM_CF_NAME_MAX];
	_Atomic int64_t v[MM_CF_NFIELDS];
	_Atomic int64_t min[MM_CF_NFIELDS];
	_Atomic char last_reject[MM_CF_REASON_MAX];
	_Atomic char last_connfail[MM_CF_REASON_MAX];
	uint8_t pad[1024 - 8 - MM_CF_NAME_MAX - 16 * MM_CF_NFIELDS - 2 * MM_CF_REASON_MAX];
};
_Static_assert(sizeof(struct mm_cf_group) == 1024, "group layout");

/* A consistent copy of one group, for readers. */
struct mm_cg_snapshot {
	char name[MM_CF_NAME_MAX];
	int64_t v[MM_CG__COUNT];
	int64_t min[MM_CG__COUNT];
	char last_reject[MM_CF_REASON_MAX];
	char last_connfail[MM_CF_REASON_MAX];
};

struct mm_cfile {
	char *path; /* NULL: anonymous (process memory) */
	int fd;
	bool writer; /* holds the flock; may update */
	struct mm_cf_header *hdr;
	struct mm_cf_group *groups;
	size_t map_size;
	uint64_t ino, dev; /* of the mapped file, to notice -create/-delete */
};

/* Creates (or replaces, atomically by rename) the file at path with room
 * for max_groups groups, all zero. Fails if another writer holds it. */
int mm_cfile_create(const char *path, uint32_t max_groups, struct mm_err *err);
/* Maps an existing file. writer: also take the writer flock (fails with a
 * clear message when another writer holds it). Validates the header. */
struct mm_cfile *mm_cfile_open(const char *path, bool writer, struct mm_err *err);
/* Opens path as writer, creating it when missing; a corrupt or foreign file
 * is an error (never silently overwritten). */
struct mm_cfile *mm_cfile_open_or_create(const char *path, uint32_t max_groups,
					 struct mm_err *err);
/* The writer's open at start and after a -create: like open_or_create,
 * but a damaged file (truncated, overwritten, a foreign version) is set
 * aside as PATH.damaged.EPOCH and a fresh one made; aside then names it
 * and why (empty when nothing was set aside). */
struct mm_cfile *mm_cfile_open_or_recreate(const char *path, uint32_t max_groups,
					   char *aside, size_t asidecap, struct mm_err *err);
/* True when the mapped file was truncated under us (a contained SIGBUS,
 * or the file is now shorter than the mapping): the writer replaces it. */
bool mm_cfile_damaged(const struct mm_cfile *cf);
/* An in-memory table with the same layout (logstat, tests). */
struct mm_cfile *mm_cfile_anon(uint32_t max_groups);
void mm_cfile_close(struct mm_cfile *cf);
/* Removes the file; fails while a writer holds it. */
int mm_cfile_delete(const char *path, struct mm_err *err);

/* Zeroes every counter and minimum, keeps names, bumps the generation.
 * As writer: done at once. As reader with a live writer: a request the
 * writer serves within wait_ms (-1 with err on timeout). With no writer:
 * takes the flock and clears. */
int mm_cfile_clear(struct mm_cfile *cf, int wait_ms, struct mm_err *err);
/* Writer housekeeping, called periodically: serves clear requests. */
void mm_cfile_service(struct mm_cfile *cf);
/* True when the path now names another file than the one mapped (it was
 * recreated or deleted); the writer should reopen. */
bool mm_cfile_replaced(const struct mm_cfile *cf);

/* Writer: index of the group named name[0..len), adding it when new; once
 * the table is full, the "other" group's index. Names longer than the slot
 * are truncated. The writer keeps a private index (channels.c), so this is
 * the slow path. */
int mm_cfile_group_add(struct mm_cfile *cf, const char *name, size_t len);
/* Writer-side seqlock brackets around updates of one group. */
void mm_cg_begin(struct mm_cf_group *g);
void mm_cg_end(struct mm_cf_group *g);
/* Inside begin/end: add delta (tracking the minimum), set a value, set a
 * reason string (truncated to the slot). */
void mm_cg_add(struct mm_cf_group *g, enum mm_cg_field f, int64_t delta);
void mm_cg_set(struct mm_cf_group *g, enum mm_cg_field f, int64_t value);
void mm_cg_set_text(_Atomic char *slot, const char *s, size_t len);

/* JSON/report name of each counter ("received", "queue_time_sum_ms", ...). */
extern const char *const mm_cg_field_names[MM_CG__COUNT];

struct mm_config;
/* [counters] file, else [daemon] run_directory + "/counters"; heap string
 * the caller frees. */
char *mm_cfile_path_from_config(const struct mm_config *conf);

/* Reader: a consistent copy of group i. Returns -1 when the writer kept it
 * busy for too long (never blocks it). */
int mm_cg_read(const struct mm_cfile *cf, uint32_t i, struct mm_cg_snapshot *out);
uint32_t mm_cfile_ngroups(const struct mm_cfile *cf);
/* Reads the group named name; 0, or -1 when there is none (or it stays
 * busy). */
int mm_cg_read_named(const struct mm_cfile *cf, const char *name, struct mm_cg_snapshot *out);

#endif

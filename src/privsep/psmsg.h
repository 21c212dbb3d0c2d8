/*
 * psmsg: the messages between mailmond (unprivileged) and its privileged
 * helper, after OpenSMTPD's mproc: typed, length-checked, fixed layouts.
 *
 * Wire form: an 8-byte header (type u16, reserved u16 = 0, length u32 of
 * the payload, all little-endian) and the payload. Each type has one
 * layout (below); a message whose length is not exactly its type's, whose
 * reserved bits are set, whose text fields are not NUL-padded clean text,
 * or whose type is unknown is refused as a whole: the helper then closes
 * the channel (a confused or hostile peer gets no second try).
 *
 * The helper never runs what it is sent: MM_PS_RUN names a service's
 * command by section and kind, MM_PS_DISK_RUN the [disk] lock or unlock
 * command and a partition path (which must be one of the helper's own
 * [disk] paths), both read from the helper's own, root-owned config; and
 * MM_PS_QUEUE_OPEN (and MM_PS_QUEUE_LIST) names a queue file or directory
 * by MTA instance, queue and file name, which the helper checks against the queue directory of
 * that instance in its own config (the MTA backend's rel_ok) and opens
 * read-only, one component at a time, never following a symlink.
 *
 *   mm_ps_encode(msg, buf, cap)   the wire bytes of msg; -1 if cap is short
 *   mm_ps_decode(buf, n, msg, &used, err)
 *                                 1 with a whole valid message (used bytes
 *                                 consumed), 0 when more bytes are needed,
 *                                 -1 with err when the bytes are invalid
 *
 * No allocation; nothing is kept. Descriptors (an open queue file or
 * directory) travel beside a reply as SCM_RIGHTS, never in the payload.
 */
#ifndef MAILMON_PRIVSEP_PSMSG_H
#define MAILMON_PRIVSEP_PSMSG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MM_PS_HDR 8
#define MM_PS_TEXT 256	/* command output excerpt, error texts */
#define MM_PS_NAME 64	/* section, queue and file names */

enum mm_ps_type {
	MM_PS_RUN = 1,	      /* run command `index` of section `name` */
	MM_PS_RUN_DONE,	      /* its exit status, run time and output excerpt */
	/* 3 and 4 are not used (no helper binds sockets: docs/security.md);
	 * the numbers below stay as they were on the wire. */
	MM_PS_QUEUE_OPEN = 5, /* open queue file `file` in queue `queue` */
	MM_PS_QUEUE_DONE,     /* errno (0: the fd comes as SCM_RIGHTS) */
	MM_PS_DISK_RUN,	      /* run [disk] lock/unlock_command for `path` */
	MM_PS_QUEUE_LIST,     /* list queue directory `file` of `queue` (queue_open
			       * layout): MM_PS_QUEUE_ENTRY per entry, then
			       * MM_PS_QUEUE_DONE */
	MM_PS_QUEUE_ENTRY,    /* one directory entry with its lstat identity */
	MM_PS__COUNT
};

struct mm_ps_msg {
	enum mm_ps_type type;
	union {
		struct {
			uint32_t id;		/* the caller's, echoed */
			uint32_t index;		/* 0: restart, 1: start, 2: stop */
			char name[MM_PS_NAME];	/* config section: "service.imap" */
		} run;
		struct {
			uint32_t id;
			int32_t status;		/* wait status, or -errno */
			uint32_t ms;
			char text[MM_PS_TEXT];
		} run_done;
		struct {
			int32_t err;		/* 0 or an errno */
		} done;
		struct {
			uint32_t instance;	/* [queue] instances index */
			char queue[MM_PS_NAME]; /* "deferred" */
			char file[MM_PS_NAME];	/* "A/1B2C3D4E5F"; "": the queue dir */
		} queue_open;
		struct {
			uint32_t id;		/* answered by MM_PS_RUN_DONE */
			uint32_t lock;		/* 1: lock_command, 0: unlock_command */
			char path[MM_PS_TEXT];	/* a [disk] paths entry */
		} disk_run;
		struct {
			char name[MM_PS_NAME];	/* one path component: letters, digits */
			uint32_t mode;		/* st_mode (type and permissions) */
			uint64_t ino, size;
			int64_t mtime_ns, ctime_ns;
		} entry;
	} u;
};

int mm_ps_encode(const struct mm_ps_msg *msg, uint8_t *buf, size_t cap);
int mm_ps_decode(const uint8_t *buf, size_t n, struct mm_ps_msg *msg, size_t *used,
		 struct mm_err *err);
/* The payload length of a type (0 for an unknown type). */
size_t mm_ps_payload_len(enum mm_ps_type type);

#endif

/*
 * mta: the interface every MTA backend implements, and the queue data it
 * returns. The rest of mailmon reads queues only through this file and
 * never names Postfix.
 *
 * A backend is a struct mm_mta_backend of function pointers, chosen by
 * name ([mta] type) in mta.c:
 *
 *   open(params, err)           -> handle, or NULL with err
 *   scan(handle, qmask, snap, err)
 *                               -> 0: snap holds every readable message of
 *                                  the queues in qmask; problems with single
 *                                  files are counted in snap->stats
 *                               -> -1 with err: nothing could be read (no
 *                                  such directory, permission denied, the
 *                                  helper program failed)
 *   mode(handle)                -> "direct", "postqueue", "memory"
 *   close(handle)
 *   queue_dir(params, i, err)   -> the queue directory of instance i
 *                                  (owned), for the privileged helper;
 *                                  NULL when the backend has no files
 *   rel_ok(rel)                 -> whether rel ("deferred/A/1B2C3D") names
 *                                  a queue file or directory of the
 *                                  backend's layout: what the helper may
 *                                  open below queue_dir
 *
 * Separated (mailmond dropped root), the queue files are opened by the
 * privileged helper: params.opener then opens a path relative to an
 * instance's queue directory and hands back a read-only descriptor.
 *
 * "postfix" reads Postfix queue files (src/mta/postfix/), "none" is an
 * in-memory queue for tests and for hosts without an MTA (mta_mem.c); the
 * Exim reader will be a third row.
 *
 * Ownership: the messages in a snapshot are borrowed from the backend's
 * cache and stay valid until the next scan() or close() on the same
 * handle; the snapshot owns only its pointer array (mm_qsnap_free).
 * A handle is used by one thread at a time.
 */
#ifndef MAILMON_MTA_MTA_H
#define MAILMON_MTA_MTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct mm_config;

enum mm_qname {
	MM_Q_INCOMING,
	MM_Q_ACTIVE,
	MM_Q_DEFERRED,
	MM_Q_HOLD,
	MM_Q_MAILDROP,
	MM_Q_CORRUPT,
	MM_Q_N
};
#define MM_QMASK(q) (1u << (q))
#define MM_QMASK_ALL ((1u << MM_Q_N) - 1)

/* Delay-reason classes (reason_class.h classifies the text). */
enum mm_rclass {
	MM_RC_NONE,	 /* no reason recorded (not yet tried, or active) */
	MM_RC_REFUSED,	 /* connection refused */
	MM_RC_TIMEOUT,	 /* connect or conversation timed out, lost connection */
	MM_RC_TLS,	 /* TLS handshake or policy failure */
	MM_RC_DNS,	 /* host or domain lookup failed */
	MM_RC_4XX,	 /* the server said 4xx (code kept per recipient) */
	MM_RC_SUSPENDED, /* "delivery temporarily suspended": destination marked dead */
	MM_RC_OTHER,
	MM_RC_N
};

struct mm_qrcpt {
	const char *addr;   /* as in the queue, case kept */
	const char *reason; /* delay reason text, NULL when none */
	uint8_t rclass;	    /* enum mm_rclass */
	uint16_t code;	    /* SMTP reply code for MM_RC_4XX, else 0 */
	uint8_t cause;	    /* MM_RC_SUSPENDED: the quoted cause's class
			       (mm_rclass_cause); else MM_RC_NONE */
};

struct mm_qmsg {
	const char *id;
	const char *sender; /* "" for the null sender */
	int64_t arrival;    /* seconds since the epoch */
	uint64_t size;	    /* message size in bytes */
	uint8_t queue;	    /* enum mm_qname */
	uint8_t instance;   /* index into the backend's instances */
	uint32_t nrcpt;	    /* pending (not yet delivered) recipients */
	struct mm_qrcpt *rcpt;
};

/* What a scan met besides messages. "Normal" races are counted here and
 * never fail a scan. */
struct mm_qscan_stats {
	uint64_t files;	     /* queue files seen */
	uint64_t parsed;     /* read and parsed in this scan */
	uint64_t reused;     /* taken from the cache unchanged */
	uint64_t vanished;   /* gone between readdir and open */
	uint64_t in_progress;/* still being written (not mode 0700) */
	uint64_t malformed;  /* truncated or garbage */
	uint64_t oversize;   /* a record or log over its cap */
	uint64_t unreadable; /* EACCES or I/O error on a file or directory */
	uint64_t duplicates; /* seen twice in one scan (moved mid-scan) */
	uint64_t defer_logs; /* defer logs read */
	bool full;	     /* every file was checked (not only changed ones) */
	int64_t duration_us;
	char first_problem[256]; /* the first unreadable/malformed item, for logs */
};

struct mm_qsnap {
	const struct mm_qmsg **msgs; /* borrowed, see above */
	size_t n, cap;
	int64_t taken_s; /* wall clock when the scan started */
	unsigned qmask;
	struct mm_qscan_stats stats;
};

#define MM_MTA_MAX_INSTANCES 16

/* One entry of a directory listed through an opener, with its lstat
 * identity. */
struct mm_mta_dirent {
	char name[64];
	uint32_t mode;
	uint64_t ino, size;
	int64_t mtime_ns, ctime_ns;
};

/* open: opens rel below the queue directory of instance read-only
 * (O_NOFOLLOW on every component); the descriptor, or -1 with errno.
 * list: the entries of directory rel (*out malloc'ed, *n of them); 0, or
 * -1 with errno. Both thread-safe. */
struct mm_mta_opener {
	int (*open)(void *ctx, unsigned instance, const char *rel);
	int (*list)(void *ctx, unsigned instance, const char *rel, struct mm_mta_dirent **out,
		    size_t *n);
	void *ctx;
};

struct mm_mta_params {
	const char *config_dirs[MM_MTA_MAX_INSTANCES]; /* postfix -c DIR, one per instance */
	size_t ninstances;
	const char *queue_directory; /* override; only with one instance */
	const char *command_directory;
	const char *mode;	     /* "auto", "direct", "postqueue" */
	int64_t command_timeout_ms;
	uint64_t command_max_bytes;
	bool watch;		     /* keep state for incremental rescans (daemon) */
	bool reasons;		     /* read delay reasons (costs a file per message) */
	int64_t full_every_ms;	     /* with watch: a full rescan at least this often */
	const struct mm_mta_opener *opener; /* set: direct reads go through it */
	char dirbuf[2048];	     /* storage for [queue] instances */
};

struct mm_mta_backend {
	const char *name;
	void *(*open)(const struct mm_mta_params *p, struct mm_err *err);
	int (*scan)(void *h, unsigned qmask, struct mm_qsnap *snap, struct mm_err *err);
	const char *(*mode)(void *h);
	void (*close)(void *h);
	char *(*queue_dir)(const struct mm_mta_params *p, size_t i, struct mm_err *err);
	bool (*rel_ok)(const char *rel);
	/* Optional: how many instances the open handle reads, and instance
	 * i's name as its log lines tag it (Postfix: syslog_name). */
	size_t (*ninstances)(void *h);
	const char *(*instance_name)(void *h, size_t i);
};

struct mm_mta {
	const struct mm_mta_backend *be;
	void *h;
};

extern const struct mm_mta_backend mm_mta_postfix;
extern const struct mm_mta_backend mm_mta_none;

/* The backend registered under name, or NULL. */
const struct mm_mta_backend *mm_mta_backend_find(const char *name);
/* Opens the backend called type. NULL with err on failure. */
struct mm_mta *mm_mta_open(const char *type, const struct mm_mta_params *p,
			   struct mm_err *err);
int mm_mta_scan(struct mm_mta *m, unsigned qmask, struct mm_qsnap *snap,
		struct mm_err *err);
const char *mm_mta_mode(const struct mm_mta *m);
/* The instances the handle reads (0 when the backend has no notion of
 * them) and instance i's name (NULL past the end); the name is owned by
 * the handle. */
size_t mm_mta_ninstances(const struct mm_mta *m);
const char *mm_mta_instance_name(const struct mm_mta *m, size_t i);
void mm_mta_close(struct mm_mta *m);

/* Fills p from [mta] and [queue]; extra_dirs (CLI -c) replace the
 * configured instances when n_extra > 0. Strings point into conf and
 * extra_dirs. */
void mm_mta_params_from_config(const struct mm_config *conf, const char *const *extra_dirs,
			       size_t n_extra, struct mm_mta_params *p);

void mm_qsnap_add(struct mm_qsnap *s, const struct mm_qmsg *m);
void mm_qsnap_reset(struct mm_qsnap *s);
void mm_qsnap_free(struct mm_qsnap *s);

const char *mm_queue_name(unsigned q);
/* The queue called name, or -1. */
int mm_queue_from_name(const char *name);

/* The in-memory backend's feeding API ("none"): copies msg in (replacing a
 * message with the same id) or removes it. h is mm_mta.h of a "none"
 * handle. */
void mm_mta_mem_put(void *h, const struct mm_qmsg *msg);
bool mm_mta_mem_remove(void *h, const char *id);

#endif

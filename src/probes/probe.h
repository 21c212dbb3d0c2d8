/*
 * probe: one protocol check of a mail service, run in a libevent loop.
 *
 * A probe is a client with a params struct (what to check, how long it may
 * take, how much it may read), a callback that receives one result, and a
 * failure class that says what went wrong in a way the watcher and the
 * alarm engine can act on. SMTP, LMTP, submission, IMAP, POP3 and HTTP run
 * on one line-oriented request/response engine (pingpong.c); each protocol
 * adds only its state machine and end-of-reply test (proto_*.c, reply.c).
 * LDAP runs libldap in a worker thread (proto_ldap.c) because libldap
 * blocks; the loop never does.
 *
 * Bounds: every probe has a connect timeout, a total timeout and a cap on
 * the bytes it reads (a line, a reply and the whole exchange are capped);
 * exceeding a cap is a protocol violation, never unbounded memory.
 *
 * DNS: numeric hosts never trigger a lookup. A host name is resolved with
 * evdns through the env's evdns_base; without one, names are refused.
 *
 * Ownership: struct mm_probe_env is created and freed by the caller and
 * must outlive its probes. mm_probe_start() copies params. The engine owns
 * the probe and frees it right after calling the callback, which is always
 * called exactly once, from the loop, never from inside mm_probe_start().
 * mm_probe_cancel() frees a probe without calling its callback.
 */
#ifndef MAILMON_PROBES_PROBE_H
#define MAILMON_PROBES_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct event_base;
struct evdns_base;

/* Failure classes, in the order alarms rank them. Keep mm_probe_fail_name
 * (probe.c) in step. */
enum mm_probe_fail {
	MM_PF_NONE = 0,	 /* success */
	MM_PF_REFUSED,	 /* connection refused or unreachable */
	MM_PF_TIMEOUT,	 /* connect or total timeout */
	MM_PF_TLS,	 /* handshake or certificate failure */
	MM_PF_PROTOCOL,	 /* malformed or oversized reply, unexpected close */
	MM_PF_REJECTED,	 /* a command got an error reply */
	MM_PF_AUTH,	 /* credentials refused */
	MM_PF_MISSING,	 /* a required feature (STARTTLS, AUTH) not offered */
	MM_PF_INTERNAL,	 /* our side: bad params, a library refused */
	MM_PF_MONITOR,	 /* our side ran out of fds or memory: says nothing
			    about the service, never acted on */
};
#define MM_PF_COUNT (MM_PF_MONITOR + 1)

enum mm_probe_proto {
	MM_PROTO_TCP,
	MM_PROTO_SMTP,
	MM_PROTO_LMTP,
	MM_PROTO_IMAP,
	MM_PROTO_POP3,
	MM_PROTO_HTTP,
	MM_PROTO_LDAP,
};

#define MM_PROBE_STR 256
#define MM_PROBE_TAG 160

/* A mailbox task, for the end-to-end probe's retrieval (IMAP and POP3;
 * proto_imap_box.c, proto_pop3_box.c). After login the probe looks for
 * the message whose X-Mailmon-Probe header is tag, waits for it until
 * the total timeout (IMAP: IDLE where offered, else SEARCH every poll_ms;
 * POP3: one look per probe, the caller polls), fetches it whole and
 * deletes it. Other probe messages (e2e_tag.h) are left alone unless
 * their value starts with claim (earlier runs of the same probe: taken,
 * deleted and reported with their delivery time) or they were sent more
 * than cleanup_age_ms ago (leftovers of crashed runs: deleted). */
struct mm_probe_box {
	bool on;
	char tag[MM_PROBE_TAG];
	char claim[MM_PROBE_TAG]; /* "" claims nothing */
	int64_t poll_ms;	  /* default 500 */
	int64_t cleanup_age_ms;	  /* 0: never delete others' messages */
	bool no_idle;		  /* IMAP: poll with SEARCH even if IDLE is offered */
};

struct mm_probe_params {
	enum mm_probe_proto proto;
	char scheme[16];	   /* as written in the URL: "smtps", "imap" */
	char host[MM_PROBE_STR];   /* numeric address, or a name for evdns */
	int port;
	char unix_path[108];	   /* connect to this unix socket instead (LMTP) */
	bool tls;		   /* implicit TLS (smtps, imaps, pop3s, https) */
	bool starttls;		   /* upgrade with STARTTLS/STLS; fail if absent */
	bool insecure;		   /* do not verify the peer certificate */
	char ca_file[MM_PROBE_STR]; /* trust only this CA file when set */
	char user[MM_PROBE_STR];   /* login, or LDAP bind DN */
	char pass[MM_PROBE_STR];
	char helo[MM_PROBE_STR];   /* EHLO/LHLO name; default "mailmon.invalid" */
	char mail_from[MM_PROBE_STR]; /* SMTP transaction (with rcpt) */
	char rcpt[MM_PROBE_STR];
	char path[1024];	   /* HTTP path; LDAP URL part after the host */
	char match[MM_PROBE_STR];  /* HTTP: body must contain this */
	/* SMTP: send this message with DATA after RCPT (instead of RSET);
	 * CRLF lines, dot-stuffed, without the final "."; owned by the
	 * caller and must outlive the probe. */
	const char *data;
	struct mm_probe_box box;   /* IMAP/POP3 mailbox task */
	int64_t connect_timeout_ms;
	int64_t timeout_ms;	   /* whole probe */
	size_t max_line;	   /* longest line accepted (default 8 KiB) */
	size_t max_reply;	   /* longest multi-line reply (default 64 KiB) */
	size_t max_bytes;	   /* everything read (default 1 MiB) */
};

#define MM_PROBE_MAX_STAGES 24
#define MM_BOX_HEADER_MAX 8192
#define MM_BOX_MAX_CLAIMED 8

struct mm_probe_box_result {
	bool ready;	      /* logged in, mailbox open: later failures are waits */
	bool found;	      /* the message was seen (and fetched, deleted) */
	int64_t visible_us;   /* monotonic time it was first seen */
	int64_t fetched_us;   /* monotonic time the fetch completed */
	char header[MM_BOX_HEADER_MAX]; /* its header section, lines joined by '\n', cut */
	size_t header_len;
	unsigned polls;	      /* searches (IMAP) or looks (POP3) */
	bool idle;	      /* IMAP IDLE was used */
	unsigned cleaned;     /* others' leftovers deleted (older than cleanup_age) */
	unsigned scanned;     /* probe messages looked at */
	size_t nclaimed;      /* earlier runs' messages taken (claim prefix) */
	struct {
		char tag[MM_PROBE_TAG];
		int64_t delivered_wall_ms; /* IMAP INTERNALDATE, POP3 top Received */
	} claimed[MM_BOX_MAX_CLAIMED];
};

struct mm_probe_stage {
	char name[16]; /* "connect", "tls", "greeting", "ehlo", "rcpt", ... */
	int64_t us;
};

struct mm_probe_result {
	enum mm_probe_fail fail;
	char stage[16];	 /* the stage that failed (or the last one) */
	char msg[384];	 /* what happened, with the peer's reply if any */
	int64_t total_us;
	struct mm_probe_stage stages[MM_PROBE_MAX_STAGES];
	size_t nstages;
	bool have_cert;
	int cert_days;	 /* whole days until notAfter; negative: expired */
	int http_status;
	uint64_t bytes_read;
	uint64_t ldap_entries;
	int64_t data_end_us;	 /* SMTP with data: monotonic time of the 250 after "." */
	char queue_id[64];	 /* SMTP with data: the 250 reply's text, cut */
	struct mm_probe_box_result box;
};

typedef void mm_probe_cb(const struct mm_probe_result *res, void *arg);

struct mm_probe_env;
struct mm_probe;

/* Monotonic microseconds, the unit of stage and total times. */
int64_t mm_probe_now_us(void);

/* A shared environment: the loop, an optional evdns base (NULL: numeric
 * hosts only) and the TLS contexts, built once (loading CA stores is
 * costly). Returns NULL with err when OpenSSL cannot set up. */
struct mm_probe_env *mm_probe_env_new(struct event_base *base, struct evdns_base *dns,
				      struct mm_err *err);
void mm_probe_env_free(struct mm_probe_env *env);
/* Gives the env a resolver later (a reload added a service named by host
 * name). The caller keeps owning dns. */
void mm_probe_env_set_dns(struct mm_probe_env *env, struct evdns_base *dns);

/* Fills params with defaults (timeouts 10 s / 30 s, caps). */
void mm_probe_params_init(struct mm_probe_params *p);
/* Parses a probe URL into params (scheme, host, port, user:pass, path)
 * after mm_probe_params_init. Schemes: tcp smtp smtps submission lmtp imap
 * imaps pop3 pop3s http https ldap ldaps. Percent-escapes in user and
 * password are decoded. An empty host followed by an absolute path
 * ("lmtp:///run/dovecot/lmtp") names a unix socket (not for ldap). */
int mm_probe_parse_url(const char *url, struct mm_probe_params *p, struct mm_err *err);
/* Reads "user = ..." and "password = ..." lines from path into params.
 * Refuses a file readable or writable by group or others. */
int mm_probe_read_credentials(const char *path, struct mm_probe_params *p,
			      struct mm_err *err);

/* Starts a probe. Returns NULL only on bad params (err set); every other
 * failure arrives through cb. */
struct mm_probe *mm_probe_start(struct mm_probe_env *env, const struct mm_probe_params *params,
				mm_probe_cb *cb, void *arg, struct mm_err *err);
void mm_probe_cancel(struct mm_probe *p);

const char *mm_probe_fail_name(enum mm_probe_fail f);
const char *mm_probe_proto_name(enum mm_probe_proto proto);

#endif

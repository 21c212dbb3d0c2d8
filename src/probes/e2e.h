/*
 * e2e: the end-to-end delivery probe (the seed's immonitor-access, §27.3.1
 * and §27.8.1): look the test user up in LDAP (optional), submit a
 * uniquely tagged message over SMTP or submission, wait until it is
 * visible in the mailbox over IMAP or POP3, fetch it, delete it, and time
 * every leg in the same loop as every other probe.
 *
 * It is a sequence of ordinary probes on the probe engine (probe.h): an
 * LDAP probe, an SMTP probe with params.data, and an IMAP or POP3 probe
 * with a mailbox task (params.box). Nothing here opens a socket.
 *
 * Legs and failure classes: a failed LDAP lookup is `directory`; a failed
 * SMTP exchange (refused, rejected, auth, TLS, timeout) is `submission`;
 * the message not visible by the run's timeout, with the mailbox open and
 * searchable, is `delivery`; any failure to reach, log into or read the
 * mailbox is `retrieval`. The leg that failed is the one named: the
 * stages before it are reported with their times.
 *
 * Late, not lost: the run waits until its timeout; a message seen after
 * the deadline (but before the timeout) is delivered and late, with its
 * real delay. A message that was not seen by the timeout stays in the
 * mailbox; a later run with claim set (the daemon's [e2e.NAME]) takes it
 * and reports it in claimed[] with its delay (delivery time minus the
 * sending time in its tag), so the caller can count it late.
 *
 * Ownership: params are copied; the result is valid during the callback.
 * The callback runs exactly once, from the loop, unless mm_e2e_cancel.
 */
#ifndef MAILMON_PROBES_E2E_H
#define MAILMON_PROBES_E2E_H

#include "probes/e2etag.h"
#include "probes/probe.h"
#include "probes/received.h"

enum mm_e2e_leg {
	MM_E2E_OK = 0,
	MM_E2E_DIRECTORY,
	MM_E2E_SUBMISSION,
	MM_E2E_DELIVERY,
	MM_E2E_RETRIEVAL,
	MM_E2E_INTERNAL,
};
#define MM_E2E_LEG_COUNT (MM_E2E_INTERNAL + 1)

struct mm_e2e_params {
	char name[MM_E2E_NAME_MAX];     /* in the tag; [A-Za-z0-9._-] */
	bool have_ldap;
	struct mm_probe_params ldap;    /* LDAP probe: its search must find the user */
	struct mm_probe_params submit;  /* smtp/smtps/submission; rcpt, mail_from set */
	struct mm_probe_params fetch;   /* imap(s)/pop3(s) with the user's credentials */
	int64_t timeout_ms;		/* the whole run */
	int64_t deadline_ms;		/* delivery slower than this is late; 0: none */
	int64_t poll_ms;		/* IMAP without IDLE, POP3: time between looks */
	int64_t cleanup_age_ms;		/* delete others' probe messages older than this */
	bool claim;			/* take earlier runs' messages of this name */
	bool no_idle;
};

#define MM_E2E_MAX_STAGES 48

struct mm_e2e_stage {
	char name[24]; /* "ldap", "smtp_connect", ..., "imap_login", ... */
	int64_t us;
};

struct mm_e2e_result {
	enum mm_e2e_leg leg;	 /* MM_E2E_OK when delivered (late or not) */
	enum mm_probe_fail fail; /* the failed probe's class */
	char stage[24];		 /* the failed stage */
	char msg[512];
	bool delivered, late;
	char tag[MM_PROBE_TAG];
	char queue_id[64];	 /* the 250 reply after DATA */
	int64_t sent_wall_ms;
	/* Durations in µs; -1 when that leg did not run or finish. */
	int64_t ldap_us, smtp_us, delivery_us, retrieve_us, total_us;
	/* A delivery failure: from the end of DATA to giving up (a lower
	 * bound of the delivery delay); -1 otherwise. */
	int64_t waited_us;
	struct mm_e2e_stage stages[MM_E2E_MAX_STAGES];
	size_t nstages;
	/* The Received chain, oldest first, and the time each hop added
	 * (from the previous stamp, the first from the sending time; 1 s
	 * resolution, never negative); hop_us -1 without a date. */
	struct mm_received_hop hops[MM_RECEIVED_MAX];
	int64_t hop_us[MM_RECEIVED_MAX];
	size_t nhops;
	unsigned polls, scanned, cleaned;
	bool idle;
	size_t nclaimed;
	struct {
		char tag[MM_PROBE_TAG];
		int64_t sent_wall_ms;
		int64_t delay_ms; /* delivered - sent; -1 if unknown */
	} claimed[MM_BOX_MAX_CLAIMED];
};

typedef void mm_e2e_cb(const struct mm_e2e_result *res, void *arg);

struct mm_e2e;

/* Fills defaults: timeouts 60 s, poll 500 ms, cleanup age 10 min. */
void mm_e2e_params_init(struct mm_e2e_params *p);
/* Starts a run; NULL with err on bad params. */
struct mm_e2e *mm_e2e_start(struct mm_probe_env *env, const struct mm_e2e_params *prm,
			    mm_e2e_cb *cb, void *arg, struct mm_err *err);
void mm_e2e_cancel(struct mm_e2e *e);

const char *mm_e2e_leg_name(enum mm_e2e_leg leg);
/* The message text (CRLF lines, dot-stuffed, no final "."); exposed for
 * tests. Returns -1 if cap is too small. */
int mm_e2e_message(const char *from, const char *to, const char *name, const char *tag,
		   int64_t sent_ms, uint64_t nonce, char *out, size_t cap);

#endif

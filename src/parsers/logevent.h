/*
 * logevent: the typed event a log parser makes of one log line.
 *
 * Parsers (postfix.c, msgsrv.c, dovecot.c, ...) fill a caller-owned
 * struct mm_log_event from one line without allocating: every text field
 * is a view (pointer + length) into the line, valid only until the line
 * buffer is reused. Consumers (lifecycle tracking, channel counters,
 * logstat) copy what they keep.
 *
 * A parser is a struct of function pointers chosen by name in parser.c,
 * so the set of grammars and the table cannot drift (STYLE.md).
 *
 * Contract: parse() never fails; a line it does not understand becomes
 * MM_EV_UNPARSED with `program` set when the syslog header was readable,
 * so "unparsed" is counted per program and never silently dropped.
 */
#ifndef MAILMON_PARSERS_LOGEVENT_H
#define MAILMON_PARSERS_LOGEVENT_H

#include <stddef.h>
#include <stdint.h>

struct mm_sv {
	const char *p;
	uint32_t len; /* 0 with p == NULL: absent */
};

enum mm_ev_type {
	MM_EV_UNPARSED = 0, /* not understood; counted per program */
	MM_EV_IGNORED,	    /* understood, carries nothing counted */

	/* inbound: smtpd, postscreen, submission */
	MM_EV_CONNECT,	   /* client connected (inbound association) */
	MM_EV_DISCONNECT,  /* client disconnected */
	MM_EV_LOST,	   /* lost connection / timeout after X */
	MM_EV_REJECT,	   /* NOQUEUE reject / QID reject (reason, client) */
	MM_EV_REJECT_WARN, /* reject_warning */
	MM_EV_HOLD,	   /* QID: hold: ... */
	MM_EV_DISCARD,	   /* QID: discard: ... */
	MM_EV_CLIENT,	   /* QID: client=host[ip] (message received by smtpd) */
	MM_EV_PICKUP,	   /* QID: uid=N from=<x> (message received by pickup) */
	MM_EV_MESSAGE_ID,  /* cleanup QID: message-id=<...> */

	/* queue manager and delivery agents */
	MM_EV_QUEUED,	  /* qmgr QID: from=<s>, size=N, nrcpt=N (queue active) */
	MM_EV_DELIVERY,	  /* QID: to=<r>, relay=, delay=, delays=, dsn=, status= */
	MM_EV_EXPIRED,	  /* qmgr QID: from=<s>, status=expired, returned to sender */
	MM_EV_REMOVED,	  /* QID: removed */
	MM_EV_BOUNCE_DSN, /* QID: sender non-delivery notification: NEWQID */
	MM_EV_CONN_FAIL,  /* connect to host[ip]:port: reason (outbound failure) */
	MM_EV_SUSPENDED,  /* delivery temporarily suspended: reason */

	/* any program */
	MM_EV_WARNING,
	MM_EV_ERROR,
	MM_EV_FATAL,
	MM_EV_PANIC,

	/* Dovecot */
	MM_EV_LOGIN,	    /* imap-login/pop3-login: Login: user=<u>, rip= */
	MM_EV_AUTH_FAIL,    /* auth: password mismatch / unknown user, or a
			       login Disconnected "(auth failed, N attempts)" */
	MM_EV_LOGIN_ABORT,  /* login process Disconnected without login */
	MM_EV_LMTP_SAVED,   /* lmtp(u): msgid=<..>: saved mail to INBOX */
	MM_EV_SESSION_END,  /* imap(u)/pop3(u): Disconnected: Logged out ... */

	MM_EV__COUNT
};

enum mm_dstatus {
	MM_DS_NONE = 0,
	MM_DS_SENT,
	MM_DS_DEFERRED,
	MM_DS_BOUNCED,
	MM_DS_EXPIRED,
	MM_DS_DEFERRED_FIRST, /* reserved */
};

/* Which grammar produced the event; also the source of `program`. */
enum mm_ev_source {
	MM_SRC_POSTFIX = 1,
	MM_SRC_MSGSRV,
	MM_SRC_DOVECOT,
	MM_SRC_EXIM,
};

struct mm_log_event {
	enum mm_ev_type type;
	enum mm_ev_source source;
	int64_t time_ms; /* wall time in ms since the epoch; 0 when unknown */

	struct mm_sv host;     /* syslog host name */
	struct mm_sv program;  /* "postfix-out/smtp", "postfix/submission/smtpd" */
	struct mm_sv instance; /* "postfix-out", "postfix" */
	struct mm_sv service;  /* "smtp", "smtpd", "qmgr", "imap-login" */
	uint32_t pid;

	struct mm_sv queue_id;
	struct mm_sv channel; /* delivering transport or MS channel; inbound: service */
	struct mm_sv addr;    /* from= / to= / user= */
	struct mm_sv orig_to;
	struct mm_sv client_name; /* smtpd client name, "unknown" allowed */
	struct mm_sv client_ip;	  /* numeric client or remote IP */
	struct mm_sv relay;	  /* relay=host[ip]:port, "none", "local" */
	struct mm_sv dsn;	  /* "2.0.0" */
	struct mm_sv reason;	  /* status text, reject reason, warning text */
	struct mm_sv message_id;
	struct mm_sv new_queue_id; /* BOUNCE_DSN: the notification's id */

	enum mm_dstatus status;
	uint64_t size;	 /* bytes, QUEUED */
	uint32_t nrcpt;	 /* QUEUED */
	uint32_t conn_count; /* auth failures "N attempts" */
	double delay;	 /* total delay= seconds */
	double delays[4]; /* a/b/c/d; negative when absent */

	/* Added by the parsers (additive; see docs/parsers.md). */
	struct mm_sv sender;	  /* envelope sender when the line also names a
				     recipient in addr: Postfix reject/hold/
				     discard from=<>, MS records */
	struct mm_sv src_channel; /* MS E record: the enqueuing channel (channel
				     is the destination) */
	struct mm_sv code;	  /* the grammar's own classifier (per type in
				     docs/parsers.md): Postfix reject/hold stage
				     (RCPT, CONNECT, header...), lost/timeout
				     stage, sasl_method, DSN notice kind; MS
				     record code with modifiers ("EEC"); Dovecot
				     login method, passdb driver, LMTP mailbox */
	uint16_t smtp_code;	  /* 3-digit SMTP reply in a reject; 0 absent */
	uint32_t flags;		  /* MM_EVF_* */
};

/* mm_log_event.flags */
#define MM_EVF_ESMTP (1u << 0)	   /* MS modifier E */
#define MM_EVF_CHUNKING (1u << 1)  /* MS modifier C */
#define MM_EVF_TLS (1u << 2)	   /* MS modifier S; Dovecot "TLS" */
#define MM_EVF_SASL (1u << 3)	   /* MS modifier A */
#define MM_EVF_LMTP (1u << 4)	   /* MS modifier L */
#define MM_EVF_INBOUND (1u << 5)   /* MS connection record "+" */
#define MM_EVF_OUTBOUND (1u << 6)  /* MS connection record "-" */
#define MM_EVF_SUSPENDED (1u << 7) /* deferred: "delivery temporarily suspended" */
#define MM_EVF_SECURED (1u << 8)   /* Dovecot "secured" (TLS, or a trusted/local net) */
#define MM_EVF_ARRIVAL (1u << 9)   /* QUEUED that is also the message's arrival
				      (Exim "<="): received and queued in one line */

struct mm_parser {
	const char *name; /* "postfix", "msgsrv", "dovecot" */
	/* Fills ev from line[0..len) (no NUL needed, no newline). year_hint
	 * completes RFC 3164 timestamps that carry no year. */
	void (*parse)(const char *line, size_t len, int year_hint, struct mm_log_event *ev);
};

#endif

/*
 * pingpong: the line-oriented request/response engine under the SMTP,
 * LMTP, IMAP, POP3 and HTTP probes (internal to src/probes).
 *
 * The engine connects (numeric address, or evdns for a name), optionally
 * wraps the connection in TLS at once (implicit) or later (pp_start_tls,
 * for STARTTLS), reads lines with caps, feeds them to the protocol's
 * end-of-reply parser and, when a reply is complete, hands it to the
 * protocol's state machine, which sends the next command or finishes.
 * Every step is timed as a stage. After the greeting the protocol is in
 * charge; the engine enforces timeouts and caps throughout.
 *
 * Finishing (pp_finish/pp_fail) only records the result and schedules
 * the callback; the probe is freed after the callback returns, so code
 * that called pp_fail may still touch the probe until it returns.
 *
 * Ownership: the engine owns struct mm_probe with its buffers, events,
 * connection and own TLS context (a CA file of its own), and frees them
 * after the callback; an LDAP worker job (ext) is abandoned to the worker
 * then. The env and its shared TLS contexts belong to whoever made it
 * (mm_probe_env_new/free) and outlive its probes.
 */
#ifndef MAILMON_PROBES_PINGPONG_H
#define MAILMON_PROBES_PINGPONG_H

#include <openssl/ssl.h>

#include "probes/probe.h"
#include "probes/reply.h"

struct bufferevent;
struct event;
struct mm_probe;

struct mm_proto_ops {
	const char *name;
	/* Classifies one line of the awaited reply (reply.h's return values). */
	int (*line)(struct mm_probe *p, const char *line, size_t len);
	/* The connection is ready (after implicit TLS): send or await. */
	void (*start)(struct mm_probe *p);
	/* The awaited reply is complete: p->rs, p->reply hold it. */
	void (*reply)(struct mm_probe *p);
	/* A STARTTLS handshake has finished. */
	void (*tls_done)(struct mm_probe *p);
	/* Raw mode (pp_raw) hit EOF or its cap. */
	void (*raw_done)(struct mm_probe *p);
};

struct mm_probe_env {
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ssl_verify, *ssl_insecure;
};

enum pp_phase { PP_CONNECT, PP_TLS, PP_REPLY, PP_RAW, PP_IDLE, PP_DONE };

struct mm_probe {
	struct mm_probe_env *env;
	struct mm_probe_params prm;
	const struct mm_proto_ops *ops;
	mm_probe_cb *cb;
	void *arg;
	struct mm_probe_result res;

	struct bufferevent *bev;
	SSL_CTX *own_ctx; /* only when params name a CA file */
	struct event *ev_total, *ev_connect, *ev_done;
	enum pp_phase phase;
	bool upgrading; /* a STARTTLS handshake, not implicit TLS */
	int64_t t_start, t_stage;
	char stage[16];

	char *line;	/* max_line + 1 bytes */
	char *reply;	/* the current reply, lines joined by '\n' */
	size_t reply_len, reply_cap;
	struct mm_reply_state rs;
	int step;	/* protocol state machine position */
	int ntag;	/* IMAP tag counter */
	bool preauth;	/* IMAP greeting was PREAUTH: no LOGIN */
	char tag[16];
	char *raw;	/* raw mode buffer (HTTP body) */
	size_t raw_len, raw_cap;

	void *ext;	/* LDAP worker job */

	struct event *ev_wait;	/* pp_wait's timer, made on first use */
	void (*wait_fn)(struct mm_probe *p);
	struct mm_box_state *box; /* mailbox task (proto_*_box.c) */
};

/* Engine services for the protocol modules. */
void pp_send(struct mm_probe *p, const char *stage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Expect a reply without sending (greetings). */
void pp_expect(struct mm_probe *p, const char *stage);
/* Upgrade the connection to TLS; ops->tls_done runs when it is up. */
void pp_start_tls(struct mm_probe *p);
/* Writes text as is, without awaiting a reply (IMAP "DONE" ends IDLE
 * while the IDLE command's reply is still being read). */
void pp_write(struct mm_probe *p, const char *text);
/* Calls fn(p) after ms unless the probe ends first or pp_wait_cancel. One
 * wait at a time; the total timeout still applies. */
void pp_wait(struct mm_probe *p, int64_t ms, void (*fn)(struct mm_probe *p));
void pp_wait_cancel(struct mm_probe *p);
/* Read everything until EOF or cap bytes into p->raw; then ops->raw_done. */
void pp_raw(struct mm_probe *p, size_t cap);
/* Ends the probe successfully after recording the running stage. */
void pp_finish(struct mm_probe *p);
void pp_fail(struct mm_probe *p, enum mm_probe_fail f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* p->reply's first line, sanitised and cut for messages. */
const char *pp_reply_text(struct mm_probe *p, char *buf, size_t cap);
void pp_stage_done(struct mm_probe *p);

extern const struct mm_proto_ops mm_proto_smtp, mm_proto_imap, mm_proto_pop3,
	mm_proto_http, mm_proto_tcp;

/* proto_imap.c: a tagged command (the reply awaits its tag); LOGOUT. */
void mm_imap_cmd(struct mm_probe *p, int step, const char *stage, const char *cmd);
void mm_imap_logout(struct mm_probe *p);
/* proto_imap_box.c: the mailbox task, steps from MM_IMAP_BOX_STEP on. */
#define MM_IMAP_BOX_STEP 100
void mm_imap_box_start(struct mm_probe *p);
int mm_imap_box_line(struct mm_probe *p, const char *line, size_t len);
void mm_imap_box_reply(struct mm_probe *p);
/* proto_pop3_box.c: the same over POP3, after STAT. */
#define MM_POP3_BOX_STEP 100
void mm_pop3_box_start(struct mm_probe *p);
void mm_pop3_box_reply(struct mm_probe *p);
/* Both: classify one probe message found in the mailbox (box_common.c). */
enum mm_box_verdict { MM_BOX_OTHER, MM_BOX_OWN, MM_BOX_CLAIM, MM_BOX_STALE };
enum mm_box_verdict mm_box_classify(struct mm_probe *p, const char *header, size_t len,
				    int64_t delivered_wall_ms);
void mm_box_note(struct mm_probe *p, enum mm_box_verdict v, uint32_t id);
void mm_box_free(struct mm_probe *p);

/* proto_ldap.c: runs outside the line engine. */
int mm_ldap_probe_start(struct mm_probe *p, struct mm_err *err);
void mm_ldap_probe_abandon(struct mm_probe *p);

/* probe.c: the env's shared context, created on first use; NULL with err
 * when OpenSSL cannot make one. */
SSL_CTX *mm_probe_env_tls(struct mm_probe_env *env, bool verify, struct mm_err *err);

/* tls.c */
SSL_CTX *mm_tls_client_ctx(bool verify, const char *ca_file, struct mm_err *err);
/* Days until the peer certificate's notAfter; false if no certificate. */
bool mm_tls_cert_days(SSL *ssl, int *days);
/* The same for a DER certificate (LDAP's GnuTLS sessions). */
bool mm_tls_der_days(const unsigned char *der, size_t len, int *days);

#endif

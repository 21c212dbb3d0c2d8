/*
 * proto_ldap: the LDAP probe, a simple bind plus a search for a
 * configured entry, with libldap.
 *
 * libldap's calls block, so the exchange runs in a detached worker thread
 * with libldap's own network and operation timeouts; the loop only waits
 * for one byte on a socketpair that says "done". The job is shared by the
 * probe and the thread through a reference count: when the probe is
 * finished early (total timeout, cancel) it drops its reference and the
 * thread frees the job when it returns. Nothing in the job points back
 * into the probe. The thread also sets an atomic "done" flag, which the
 * loop checks every 250 ms besides waiting for the byte: another part of
 * the process closing an fd while its event is still added can make
 * libevent miss the registration of the socketpair that reuses the
 * number (core/childproc.c has the same backstop), and a probe must then
 * still end within 250 ms of its result, not at its timeout.
 *
 * Bounds: libldap's network and operation timeouts, and a cap of 1 MiB
 * on one incoming message (set on each connection it opens); a larger one
 * fails the probe as a protocol violation.
 *
 * URL: ldap[s]://HOST:PORT/BASE??SCOPE?FILTER (RFC 4516). The entry is
 * BASE (scope base by default); at least one entry must be found.
 * Bind DN and password come from the credentials (anonymous without).
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/util.h>
#include <ldap.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "core/xalloc.h"
#include "probes/pingpong.h"

#define BACKSTOP_MS 250

struct ldap_job {
	atomic_int refs;
	atomic_bool done; /* set by the thread once the output is written */
	int fd[2]; /* [0] probe side (in the loop), [1] thread side */
	struct event *ev;
	/* input */
	char uri[MM_PROBE_STR + 32];
	char url[MM_PROBE_STR + 1100];
	struct mm_probe_params prm;
	/* output */
	enum mm_probe_fail fail;
	char msg[384];
	int64_t bind_us, search_us;
	uint64_t entries;
	bool have_cert;
	int cert_days;
};

static void job_unref(struct ldap_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	OPENSSL_cleanse(j->prm.pass, sizeof j->prm.pass);
	free(j);
}

static enum mm_probe_fail classify(int rc)
{
	switch (rc) {
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR: return MM_PF_REFUSED;
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED: return MM_PF_TIMEOUT;
	case LDAP_INVALID_CREDENTIALS:
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_STRONG_AUTH_REQUIRED: return MM_PF_AUTH;
	case LDAP_DECODING_ERROR:
	case LDAP_PROTOCOL_ERROR: return MM_PF_PROTOCOL;
	default: return MM_PF_REJECTED;
	}
}

/* libldap reads a whole BER element before looking at it, as long as its
 * header says, up to 4 GiB: a hostile server announcing 256 MiB made the
 * probe buffer all it sent until the timeout. A bind answer and a search
 * of at most 10 entries without attributes fit well within this cap. */
#define LDAP_MAX_INCOMING ((ber_len_t)1 << 20)

static int cap_incoming(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
			struct ldap_conncb *ctx)
{
	ber_len_t max = LDAP_MAX_INCOMING;
	return ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_MAX_INCOMING, &max) == 1 ? 0 : -1;
}

static void cap_done(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
}

/* liblber refuses an element over the cap with ERANGE, which libldap
 * reports as a lost server; errno still holds it when the call returns. */
static bool oversized(int rc, int e)
{
	return rc == LDAP_SERVER_DOWN && e == ERANGE;
}

static void tls_options(struct ldap_job *j, LDAP *ld)
{
	if (j->prm.insecure) {
		int never = LDAP_OPT_X_TLS_NEVER;
		ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &never);
	}
	if (j->prm.ca_file[0])
		ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, j->prm.ca_file);
	int zero = 0;
	ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
}

/* The peer certificate as DER: libldap on Debian uses GnuTLS, so its
 * session handle is no OpenSSL SSL*; LDAP_OPT_X_TLS_PEERCERT works with
 * any TLS package. */
static void cert_days(struct ldap_job *j, LDAP *ld)
{
	struct berval cert = {0};
	if (ldap_get_option(ld, LDAP_OPT_X_TLS_PEERCERT, &cert) != LDAP_OPT_SUCCESS || !cert.bv_val)
		return;
	j->have_cert = mm_tls_der_days((const unsigned char *)cert.bv_val, cert.bv_len, &j->cert_days);
	ber_memfree(cert.bv_val);
}

/* libldap reports a failed ldaps handshake like an unreachable server
 * (and GnuTLS leaves no diagnostic): a plain TCP connect tells the two
 * apart. Runs in the worker thread, bounded by the connect timeout. */
static bool tcp_reachable(const struct ldap_job *j)
{
	struct sockaddr_storage ss;
	int slen = sizeof ss;
	char hp[MM_PROBE_STR + 16];
	snprintf(hp, sizeof hp, strchr(j->prm.host, ':') ? "[%s]:%d" : "%s:%d", j->prm.host,
		 j->prm.port);
	if (evutil_parse_sockaddr_port(hp, (struct sockaddr *)&ss, &slen) < 0)
		return false;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = false;
	if (connect(fd, (struct sockaddr *)&ss, (socklen_t)slen) == 0) {
		ok = true;
	} else if (errno == EINPROGRESS) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int err = 0;
		socklen_t el = sizeof err;
		if (poll(&pfd, 1, (int)j->prm.connect_timeout_ms) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
			ok = true;
	}
	close(fd);
	return ok;
}

static void run_job(struct ldap_job *j)
{
	LDAPURLDesc *lud = NULL;
	LDAP *ld = NULL;
	LDAPMessage *res = NULL;
	int rc = ldap_url_parse(j->url, &lud);
	if (rc != LDAP_URL_SUCCESS) {
		j->fail = MM_PF_INTERNAL;
		snprintf(j->msg, sizeof j->msg, "ldap: bad URL %.200s (error %d)", j->url, rc);
		return;
	}
	int64_t t0 = mm_probe_now_us();
	if ((rc = ldap_initialize(&ld, j->uri)) != LDAP_SUCCESS)
		goto fail_rc;
	int v3 = LDAP_VERSION3;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	struct timeval nt = {j->prm.connect_timeout_ms / 1000, (j->prm.connect_timeout_ms % 1000) * 1000};
	struct timeval to = {j->prm.timeout_ms / 1000, (j->prm.timeout_ms % 1000) * 1000};
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &nt);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &to);
	static const struct ldap_conncb cap = {.lc_add = cap_incoming, .lc_del = cap_done};
	ldap_set_option(ld, LDAP_OPT_CONNECT_CB, &cap);
	tls_options(j, ld);
	if (j->prm.starttls && !j->prm.tls && (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		char *diag = NULL;
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		j->fail = rc == LDAP_SERVER_DOWN && !(diag && strstr(diag, "TLS")) ? MM_PF_REFUSED : MM_PF_TLS;
		snprintf(j->msg, sizeof j->msg, "starttls: %s%s%.160s", ldap_err2string(rc),
			 diag && *diag ? ": " : "", diag ? diag : "");
		ldap_memfree(diag);
		goto out;
	}
	struct berval cred = {.bv_val = j->prm.pass, .bv_len = strlen(j->prm.pass)};
	rc = ldap_sasl_bind_s(ld, j->prm.user[0] ? j->prm.user : NULL, LDAP_SASL_SIMPLE, &cred,
			      NULL, NULL, NULL);
	int bind_errno = errno;
	j->bind_us = mm_probe_now_us() - t0;
	if (rc != LDAP_SUCCESS) {
		/* A failed ldaps handshake surfaces as "can't contact"; libldap's
		 * diagnostic says whether TLS was the reason. */
		char *diag = NULL;
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		j->fail = classify(rc);
		if (j->prm.tls && j->fail == MM_PF_REFUSED && tcp_reachable(j))
			j->fail = MM_PF_TLS; /* the port answers: the handshake failed */
		if (diag && strstr(diag, "TLS") && (j->prm.tls || j->prm.starttls))
			j->fail = MM_PF_TLS;
		if (oversized(rc, bind_errno)) {
			j->fail = MM_PF_PROTOCOL;
			snprintf(j->msg, sizeof j->msg, "bind: the server sent a message over %u bytes",
				 (unsigned)LDAP_MAX_INCOMING);
			ldap_memfree(diag);
			goto out;
		}
		snprintf(j->msg, sizeof j->msg, "bind%s%.120s: %s%s%.120s", j->prm.user[0] ? " as " : " anonymously",
			 j->prm.user, ldap_err2string(rc), diag && *diag ? ": " : "", diag ? diag : "");
		ldap_memfree(diag);
		goto out;
	}
	if (j->prm.tls || j->prm.starttls)
		cert_days(j, ld);
	int64_t t1 = mm_probe_now_us();
	char *attrs[] = {LDAP_NO_ATTRS, NULL};
	int scope = lud->lud_scope == LDAP_SCOPE_DEFAULT ? LDAP_SCOPE_BASE : lud->lud_scope;
	rc = ldap_search_ext_s(ld, lud->lud_dn ? lud->lud_dn : "", scope,
			       lud->lud_filter ? lud->lud_filter : "(objectClass=*)", attrs, 1,
			       NULL, NULL, &to, 10, &res);
	int search_errno = errno;
	j->search_us = mm_probe_now_us() - t1;
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		j->fail = oversized(rc, search_errno) ? MM_PF_PROTOCOL : classify(rc);
		snprintf(j->msg, sizeof j->msg, "search %s: %s", lud->lud_dn ? lud->lud_dn : "",
			 oversized(rc, search_errno) ? "the server sent a message over the cap"
						     : ldap_err2string(rc));
		goto out;
	}
	j->entries = (uint64_t)ldap_count_entries(ld, res);
	if (j->entries == 0) {
		j->fail = MM_PF_REJECTED;
		snprintf(j->msg, sizeof j->msg, "search %s: no entry found", lud->lud_dn ? lud->lud_dn : "");
		goto out;
	}
	j->fail = MM_PF_NONE;
	snprintf(j->msg, sizeof j->msg, "LDAP OK: bound, %llu entr%s found",
		 (unsigned long long)j->entries, j->entries == 1 ? "y" : "ies");
	goto out;
fail_rc:
	j->fail = classify(rc);
	snprintf(j->msg, sizeof j->msg, "ldap: %s", ldap_err2string(rc));
out:
	if (res)
		ldap_msgfree(res);
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	ldap_free_urldesc(lud);
}

static void *worker(void *arg)
{
	struct ldap_job *j = arg;
	run_job(j);
	/* Free this thread's OpenSSL state (error queue, from reading the
	 * certificate) now: a detached thread may still be finishing when a
	 * short-lived caller such as `mailmon probe` exits. */
	OPENSSL_thread_stop();
	atomic_store(&j->done, true);
	char one = 1;
	/* MSG_NOSIGNAL: the probe may have gone (EPIPE), which is fine. */
	(void)send(j->fd[1], &one, 1, MSG_NOSIGNAL);
	close(j->fd[1]);
	job_unref(j);
	return NULL;
}

static void on_job_done(evutil_socket_t fd, short what, void *arg)
{
	struct mm_probe *p = arg;
	struct ldap_job *j = p->ext;
	if ((what & EV_TIMEOUT) && !atomic_load(&j->done))
		return; /* the backstop: still running */
	event_del(j->ev);
	char c;
	if (recv(fd, &c, 1, MSG_DONTWAIT) != 1 && !atomic_load(&j->done)) {
		pp_fail(p, MM_PF_INTERNAL, "ldap: worker ended without a result");
		return;
	}
	struct mm_probe_stage *s;
	if (p->res.nstages + 2 <= MM_PROBE_MAX_STAGES) {
		s = &p->res.stages[p->res.nstages++];
		mm_strlcpy(s->name, "bind", sizeof s->name);
		s->us = j->bind_us;
		if (j->search_us || j->entries) {
			s = &p->res.stages[p->res.nstages++];
			mm_strlcpy(s->name, "search", sizeof s->name);
			s->us = j->search_us;
		}
	}
	p->stage[0] = '\0';
	p->res.ldap_entries = j->entries;
	p->res.have_cert = j->have_cert;
	p->res.cert_days = j->cert_days;
	mm_strlcpy(p->res.stage, j->search_us ? "search" : "bind", sizeof p->res.stage);
	if (j->fail == MM_PF_NONE) {
		mm_strlcpy(p->res.msg, j->msg, sizeof p->res.msg);
		pp_finish(p);
	} else {
		pp_fail(p, j->fail, "%s", j->msg);
	}
}

int mm_ldap_probe_start(struct mm_probe *p, struct mm_err *err)
{
	struct ldap_job *j = xcalloc(1, sizeof *j);
	bool v6 = strchr(p->prm.host, ':') != NULL;
	snprintf(j->uri, sizeof j->uri, "%s://%s%s%s:%d", p->prm.tls ? "ldaps" : "ldap",
		 v6 ? "[" : "", p->prm.host, v6 ? "]" : "", p->prm.port);
	snprintf(j->url, sizeof j->url, "%s%s", j->uri, p->prm.path[0] ? p->prm.path : "/");
	j->prm = p->prm;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, j->fd) < 0) {
		free(j);
		return mm_err_sys(err, errno, "ldap: socketpair");
	}
	atomic_init(&j->refs, 2);
	atomic_init(&j->done, false);
	j->ev = event_new(p->env->base, j->fd[0], EV_READ | EV_PERSIST, on_job_done, p);
	struct timeval backstop = {0, BACKSTOP_MS * 1000};
	event_add(j->ev, &backstop);
	p->ext = j;
	pthread_attr_t attr;
	pthread_t tid;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	int rc = pthread_create(&tid, &attr, worker, j);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		close(j->fd[1]);
		atomic_fetch_sub(&j->refs, 1); /* the thread's reference */
		p->ext = NULL;
		event_free(j->ev);
		close(j->fd[0]);
		job_unref(j);
		return mm_err_sys(err, rc, "ldap: cannot start a worker thread");
	}
	return 0;
}

void mm_ldap_probe_abandon(struct mm_probe *p)
{
	struct ldap_job *j = p->ext;
	p->ext = NULL;
	event_free(j->ev);
	close(j->fd[0]);
	job_unref(j);
}

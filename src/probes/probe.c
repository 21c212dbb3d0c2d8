/*
 * probe: the probe environment, parameters from URLs and credential
 * files, and the names of protocols and failure classes (see probe.h).
 */
#include "probes/pingpong.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/parse.h"
#include "core/pct.h"
#include "core/strutil.h"
#include "core/xalloc.h"

static const char *const fail_names[MM_PF_COUNT] = {
	[MM_PF_NONE] = "ok",
	[MM_PF_REFUSED] = "refused",
	[MM_PF_TIMEOUT] = "timeout",
	[MM_PF_TLS] = "tls",
	[MM_PF_PROTOCOL] = "protocol",
	[MM_PF_REJECTED] = "rejected",
	[MM_PF_AUTH] = "auth",
	[MM_PF_MISSING] = "missing-feature",
	[MM_PF_INTERNAL] = "internal",
	[MM_PF_MONITOR] = "monitor-error",
};

const char *mm_probe_fail_name(enum mm_probe_fail f)
{
	return (unsigned)f < MM_PF_COUNT ? fail_names[f] : "?";
}

/* Schemes: one row each, so name, protocol, port and TLS cannot drift. */
static const struct scheme {
	const char *name;
	enum mm_probe_proto proto;
	int port;
	bool tls, starttls;
} schemes[] = {
	{"tcp", MM_PROTO_TCP, 0, false, false},
	{"smtp", MM_PROTO_SMTP, 25, false, false},
	{"smtps", MM_PROTO_SMTP, 465, true, false},
	{"submission", MM_PROTO_SMTP, 587, false, true},
	{"lmtp", MM_PROTO_LMTP, 24, false, false},
	{"imap", MM_PROTO_IMAP, 143, false, false},
	{"imaps", MM_PROTO_IMAP, 993, true, false},
	{"pop3", MM_PROTO_POP3, 110, false, false},
	{"pop3s", MM_PROTO_POP3, 995, true, false},
	{"http", MM_PROTO_HTTP, 80, false, false},
	{"https", MM_PROTO_HTTP, 443, true, false},
	{"ldap", MM_PROTO_LDAP, 389, false, false},
	{"ldaps", MM_PROTO_LDAP, 636, true, false},
};

const char *mm_probe_proto_name(enum mm_probe_proto proto)
{
	switch (proto) {
	case MM_PROTO_TCP: return "TCP";
	case MM_PROTO_SMTP: return "SMTP";
	case MM_PROTO_LMTP: return "LMTP";
	case MM_PROTO_IMAP: return "IMAP";
	case MM_PROTO_POP3: return "POP3";
	case MM_PROTO_HTTP: return "HTTP";
	case MM_PROTO_LDAP: return "LDAP";
	}
	return "?";
}

void mm_probe_params_init(struct mm_probe_params *p)
{
	memset(p, 0, sizeof *p);
	mm_strlcpy(p->helo, "mailmon.invalid", sizeof p->helo);
	p->connect_timeout_ms = 10000;
	p->timeout_ms = 30000;
	p->max_line = 8192;
	p->max_reply = 65536;
	p->max_bytes = 1 << 20;
}

/* Decodes %XX in [s, s+n) into out (cap); rejects control characters
 * (the credentials go into a protocol line). */
static int unescape(const char *s, size_t n, char *out, size_t cap, struct mm_err *err)
{
	if (mm_pct_decode(s, n, out, cap, MM_PCT_NO_CTL) < 0)
		return mm_err_set(err, "URL credentials: bad %%-escape, control character, or "
				       "longer than %zu bytes",
				  cap - 1);
	return 0;
}

int mm_probe_parse_url(const char *url, struct mm_probe_params *p, struct mm_err *err)
{
	const char *sep = strstr(url, "://");
	if (!sep)
		return mm_err_set(err, "%s: expected SCHEME://HOST[:PORT]", url);
	size_t sl = (size_t)(sep - url);
	const struct scheme *sc = NULL;
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (strlen(schemes[i].name) == sl && strncasecmp(url, schemes[i].name, sl) == 0)
			sc = &schemes[i];
	if (!sc)
		return mm_err_set(err, "%.*s: unknown scheme (tcp smtp smtps submission lmtp imap "
				       "imaps pop3 pop3s http https ldap ldaps)",
				  (int)sl, url);
	p->proto = sc->proto;
	mm_strlcpy(p->scheme, sc->name, sizeof p->scheme);
	p->tls = sc->tls;
	p->starttls = p->starttls || sc->starttls;
	const char *auth = sep + 3;
	if (auth[0] == '/') {
		if (p->proto == MM_PROTO_LDAP)
			return mm_err_set(err, "%s: unix sockets are not supported for LDAP", url);
		if (strlen(auth) >= sizeof p->unix_path)
			return mm_err_set(err, "%s: socket path too long", url);
		mm_strlcpy(p->unix_path, auth, sizeof p->unix_path);
		mm_strlcpy(p->host, "localhost", sizeof p->host);
		p->port = sc->port ? sc->port : 1;
		if (p->proto == MM_PROTO_HTTP)
			mm_strlcpy(p->path, "/", sizeof p->path);
		return 0;
	}
	const char *end = auth + strcspn(auth, "/?");
	const char *at = NULL;
	for (const char *q = auth; q < end; q++)
		if (*q == '@')
			at = q; /* the last '@': passwords may contain one escaped or not */
	const char *hp = auth;
	if (at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		size_t ul = colon ? (size_t)(colon - auth) : (size_t)(at - auth);
		if (unescape(auth, ul, p->user, sizeof p->user, err) < 0)
			return -1;
		if (colon && unescape(colon + 1, (size_t)(at - colon - 1), p->pass, sizeof p->pass,
				      err) < 0)
			return -1;
		hp = at + 1;
	}
	char hostport[MM_PROBE_STR + 16];
	size_t hl = (size_t)(end - hp);
	if (hl == 0 || hl >= sizeof hostport)
		return mm_err_set(err, "%s: missing or overlong host", url);
	memcpy(hostport, hp, hl);
	hostport[hl] = '\0';
	if (sc->port == 0 && !strchr(hostport, ']') && !strrchr(hostport, ':'))
		return mm_err_set(err, "%s: tcp:// needs a port", url);
	if (mm_parse_hostport(hostport, sc->port ? sc->port : 1, p->host, sizeof p->host, &p->port,
			      err) < 0)
		return -1;
	if (strcmp(p->host, "localhost") == 0) /* never worth a lookup */
		mm_strlcpy(p->host, "127.0.0.1", sizeof p->host);
	if (*end) {
		if (strlen(end) >= sizeof p->path)
			return mm_err_set(err, "%s: path too long", url);
		/* The path goes on a request line as it is: it must decode
		 * (every '%' with two hex digits) to text without control
		 * bytes, and hold no raw blank, control or 8-bit byte. */
		char scratch[sizeof p->path];
		if (mm_pct_decode(end, strlen(end), scratch, sizeof scratch,
				  MM_PCT_STRICT | MM_PCT_NO_CTL) < 0)
			return mm_err_set(err, "URL path: bad %%-escape, blank, control or 8-bit byte "
					       "(escape them as %%XX)");
		mm_strlcpy(p->path, end, sizeof p->path);
	} else if (p->proto == MM_PROTO_HTTP) {
		mm_strlcpy(p->path, "/", sizeof p->path);
	}
	return 0;
}

int mm_probe_read_credentials(const char *path, struct mm_probe_params *p, struct mm_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return mm_err_sys(err, errno, "credentials %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mm_err_set(err, "credentials %s: not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return mm_err_set(err, "credentials %s: mode %03o lets others read it; chmod 600",
				  path, (unsigned)(st.st_mode & 0777));
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		return mm_err_set(err, "credentials %s: not owned by uid %u", path,
				  (unsigned)geteuid());
	}
	FILE *f = fdopen(fd, "r");
	char line[1024];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *s = mm_trim(line);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = mm_err_set(err, "credentials %s:%d: expected key = value", path, lineno);
			break;
		}
		*eq = '\0';
		char *k = mm_trim(s), *v = mm_trim(eq + 1);
		char *dst = NULL;
		if (strcmp(k, "user") == 0 || strcmp(k, "binddn") == 0)
			dst = p->user;
		else if (strcmp(k, "password") == 0 || strcmp(k, "token") == 0)
			dst = p->pass;
		if (!dst) {
			rc = mm_err_set(err, "credentials %s:%d: unknown key \"%s\" (user, password, token)",
					path, lineno, k);
			break;
		}
		if (strlen(v) >= MM_PROBE_STR) {
			rc = mm_err_set(err, "credentials %s:%d: value too long", path, lineno);
			break;
		}
		mm_strlcpy(dst, v, MM_PROBE_STR);
	}
	OPENSSL_cleanse(line, sizeof line);
	fclose(f);
	return rc;
}

struct mm_probe_env *mm_probe_env_new(struct event_base *base, struct evdns_base *dns,
				      struct mm_err *err)
{
	struct mm_probe_env *env = xcalloc(1, sizeof *env);
	env->base = base;
	env->dns = dns;
	/* TLS contexts are made on first use (mm_probe_env_tls): loading the
	 * system CA store costs memory a plain-SMTP-only daemon never needs. */
	(void)err;
	return env;
}

SSL_CTX *mm_probe_env_tls(struct mm_probe_env *env, bool verify, struct mm_err *err)
{
	SSL_CTX **slot = verify ? &env->ssl_verify : &env->ssl_insecure;
	if (!*slot)
		*slot = mm_tls_client_ctx(verify, NULL, err);
	return *slot;
}

void mm_probe_env_set_dns(struct mm_probe_env *env, struct evdns_base *dns)
{
	env->dns = dns;
}

void mm_probe_env_free(struct mm_probe_env *env)
{
	if (!env)
		return;
	SSL_CTX_free(env->ssl_verify);
	SSL_CTX_free(env->ssl_insecure);
	free(env);
}

/* e2e_conf: see e2e_conf.h. */
#include "probes/e2e_conf.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/parse.h"
#include "core/section_check.h"
#include "core/strutil.h"

/* A required or optional URL into params, with the section's shared
 * TLS and timeout settings. */
static int url(const struct mm_config *conf, const char *sec, const char *key, bool required,
	       struct mm_probe_params *p, const struct mm_e2e_conf *c, struct mm_err *err)
{
	const char *v = mm_config_get(conf, sec, key);
	if (!v || !*v) {
		if (required)
			return mm_err_set(err, "%s.%s: required", sec, key);
		return 1;
	}
	struct mm_err e2;
	if (mm_probe_parse_url(v, p, &e2) < 0)
		return mm_err_set(err, "%s.%s: %s", sec, key, e2.msg);
	if (!p->unix_path[0] && !mm_is_numeric_ip(p->host))
		return mm_err_set(err, "%s.%s: %s: give a numeric address", sec, key, p->host);
	p->insecure = !mm_config_bool(conf, sec, "tls_verify");
	const char *ca = mm_config_get(conf, sec, "ca_file");
	if (ca && *ca)
		mm_strlcpy(p->ca_file, ca, sizeof p->ca_file);
	p->connect_timeout_ms = mm_config_duration_ms(conf, sec, "connect_timeout");
	p->timeout_ms = c->prm.timeout_ms;
	return 0;
}

static int creds(const struct mm_config *conf, const char *sec, const char *key,
		 struct mm_probe_params *p, struct mm_err *err)
{
	const char *v = mm_config_get(conf, sec, key);
	if (!v || !*v)
		return 0;
	struct mm_err e2;
	if (mm_probe_read_credentials(v, p, &e2) < 0)
		return mm_err_set(err, "%s.%s: %s", sec, key, e2.msg);
	return 0;
}

int mm_e2e_conf_load(const struct mm_config *conf, const char *name, struct mm_e2e_conf *c,
		     struct mm_err *err)
{
	char sec[128];
	snprintf(sec, sizeof sec, "e2e.%s", name);
	memset(c, 0, sizeof *c);
	if (!mm_e2e_name_ok(name))
		return mm_err_set(err, "[%s]: the name must be 1-63 of A-Z a-z 0-9 . _ -", sec);
	mm_strlcpy(c->name, name, sizeof c->name);
	mm_e2e_params_init(&c->prm);
	mm_strlcpy(c->prm.name, name, sizeof c->prm.name);
	c->prm.claim = true;
	c->prm.timeout_ms = mm_config_duration_ms(conf, sec, "timeout");
	c->prm.deadline_ms = mm_config_duration_ms(conf, sec, "deadline");
	c->prm.poll_ms = mm_config_duration_ms(conf, sec, "poll");
	c->prm.cleanup_age_ms = mm_config_duration_ms(conf, sec, "cleanup_age");
	c->interval_ms = mm_config_duration_ms(conf, sec, "interval");
	c->lost_after_ms = mm_config_duration_ms(conf, sec, "lost_after");
	if (c->lost_after_ms <= c->prm.timeout_ms)
		return mm_err_set(err, "%s.lost_after: must be longer than timeout", sec);
	int rc = url(conf, sec, "submit", true, &c->prm.submit, c, err);
	if (rc == 0)
		rc = url(conf, sec, "fetch", true, &c->prm.fetch, c, err);
	if (rc == 0) {
		rc = url(conf, sec, "ldap", false, &c->prm.ldap, c, err);
		c->prm.have_ldap = rc == 0;
		if (rc == 1)
			rc = 0;
	}
	if (rc < 0)
		goto fail;
	if (c->prm.submit.proto != MM_PROTO_SMTP) {
		rc = mm_err_set(err, "%s.submit: expected smtp://, smtps:// or submission://", sec);
		goto fail;
	}
	if (c->prm.fetch.proto != MM_PROTO_IMAP && c->prm.fetch.proto != MM_PROTO_POP3) {
		rc = mm_err_set(err, "%s.fetch: expected imap(s):// or pop3(s)://", sec);
		goto fail;
	}
	if (c->prm.have_ldap && c->prm.ldap.proto != MM_PROTO_LDAP) {
		rc = mm_err_set(err, "%s.ldap: expected ldap:// or ldaps://", sec);
		goto fail;
	}
	const char *to = mm_config_get(conf, sec, "to");
	const char *from = mm_config_get(conf, sec, "from");
	if (!to || !*to) {
		rc = mm_err_set(err, "%s.to: required", sec);
		goto fail;
	}
	mm_strlcpy(c->prm.submit.rcpt, to, sizeof c->prm.submit.rcpt);
	mm_strlcpy(c->prm.submit.mail_from, from ? from : "", sizeof c->prm.submit.mail_from);
	c->prm.submit.starttls = c->prm.submit.starttls || mm_config_bool(conf, sec, "starttls");
	c->prm.fetch.starttls = c->prm.fetch.starttls || mm_config_bool(conf, sec, "fetch_starttls");
	const char *helo = mm_config_get(conf, sec, "helo");
	if (helo && *helo)
		mm_strlcpy(c->prm.submit.helo, helo, sizeof c->prm.submit.helo);
	if (c->prm.have_ldap && !strchr(c->prm.ldap.path, '?')) {
		if (strpbrk(to, "*()\\?%,")) {
			rc = mm_err_set(err, "%s.to: characters that need escaping in an LDAP filter", sec);
			goto fail;
		}
		char path[sizeof c->prm.ldap.path];
		int n = snprintf(path, sizeof path, "%s??sub?(mail=%s)",
				 c->prm.ldap.path[0] ? c->prm.ldap.path : "/", to);
		if (n < 0 || (size_t)n >= sizeof path) {
			rc = mm_err_set(err, "%s.ldap: URL too long", sec);
			goto fail;
		}
		mm_strlcpy(c->prm.ldap.path, path, sizeof c->prm.ldap.path);
	}
	if (!mm_config_get(conf, sec, "credentials_file")) {
		rc = mm_err_set(err, "%s.credentials_file: required (the mailbox user)", sec);
		goto fail;
	}
	if (creds(conf, sec, "credentials_file", &c->prm.fetch, err) < 0 ||
	    creds(conf, sec, "submit_credentials_file", &c->prm.submit, err) < 0 ||
	    creds(conf, sec, "ldap_credentials_file", &c->prm.ldap, err) < 0) {
		rc = -1;
		goto fail;
	}
	return 0;
fail:
	OPENSSL_cleanse(c, sizeof *c);
	return -1;
}

static int check_one(const struct mm_config *conf, const char *name, struct mm_err *err)
{
	struct mm_e2e_conf c;
	int rc = mm_e2e_conf_load(conf, name, &c, err);
	OPENSSL_cleanse(&c, sizeof c);
	return rc;
}

size_t mm_e2e_check(const struct mm_config *conf, struct mm_diags *diags)
{
	return mm_sections_check(conf, "e2e", check_one, diags);
}

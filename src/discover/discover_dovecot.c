/*
 * discover_dovecot: Dovecot for `mailmon init` (see discover.h), from
 * `doveconf -n`. That prints only settings that differ from Dovecot's
 * defaults, so the defaults that matter here are in one table below
 * (Dovecot 2.3): an absent imap listener is port 143, and so on.
 */
#include "discover/discover.h"

#include <stdlib.h>
#include <string.h>

#include "core/strutil.h"
#include "discover/doveconf.h"

#define WHY_MAX 512

struct listener_default {
	const char *proto, *login, *name;
	const char *port;
	bool ssl;
};

static const struct listener_default defaults[] = {
	{"imap", "imap-login", "imap", "143", false},
	{"imap", "imap-login", "imaps", "993", true},
	{"pop3", "pop3-login", "pop3", "110", false},
	{"pop3", "pop3-login", "pop3s", "995", true},
};

static const char *setting(const struct mm_kvlist *kv, const char *name, const char *def)
{
	const char *v = mm_kvlist_get(kv, name);
	return v ? v : def;
}

static bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; *p;) {
		p += strspn(p, " ,\t");
		size_t n = strcspn(p, " ,\t");
		if (n == wl && strncmp(p, word, wl) == 0)
			return true;
		p += n;
	}
	return false;
}

/* One listener: "service imap-login/inet_listener imaps/" settings over
 * the default table. */
static void plan_listener(struct mm_disc *d, const struct mm_kvlist *kv, const char *proto,
			  const char *login, const char *name, const char *defport, bool defssl,
			  bool ssl_off, const char *unit, const char *start)
{
	char key[256], sec[128], url[160], host[80], why[WHY_MAX], addrwhy[256];
	mm_disc_fmt(key, sizeof key, "service %s/inet_listener %s/port", login, name);
	const char *port = setting(kv, key, defport);
	mm_disc_fmt(key, sizeof key, "service %s/inet_listener %s/ssl", login, name);
	bool ssl = strcmp(setting(kv, key, defssl ? "yes" : "no"), "yes") == 0;
	mm_disc_fmt(key, sizeof key, "service %s/inet_listener %s/address", login, name);
	const char *addr = setting(kv, key, setting(kv, "listen", "*, ::"));
	const char *scheme = strcmp(proto, "imap") == 0 ? (ssl ? "imaps" : "imap")
							: (ssl ? "pop3s" : "pop3");
	if (!port || !*port)
		return;
	if (strcmp(port, "0") == 0) {
		mm_plan_note(d->plan, "dovecot: %s listener %s is off (port = 0)", proto, name);
		return;
	}
	if (ssl && ssl_off) {
		mm_plan_note(d->plan, "dovecot: %s listener %s needs TLS but ssl = no; not watched",
			     proto, name);
		return;
	}
	/* [service.imaps] for the listener "imaps" with TLS, else by scheme and name */
	if (strcmp(name, scheme) == 0)
		mm_disc_fmt(sec, sizeof sec, "service.%s", name);
	else
		mm_disc_fmt(sec, sizeof sec, "service.%s-%s", scheme, name);
	if (mm_plan_has_section(d->plan, sec))
		mm_disc_fmt(sec, sizeof sec, "service.dovecot-%s", name);
	bool ok = mm_disc_probe_addr(addr, false, host, sizeof host, addrwhy, sizeof addrwhy);
	mm_disc_fmt(url, sizeof url, "%s://%s:%s", scheme, ok ? host : "ADDRESS", port);
	if (ok) {
		mm_disc_fmt(why, sizeof why, "Dovecot %s listener \"%s\", port %s%s%s; %s.", proto,
			    name, port, ssl ? " with TLS" : "",
			    mm_kvlist_get(kv, key) ? "" : " (listen)", addrwhy);
		mm_plan_set(d->plan, sec, "url", url, why);
	} else {
		mm_disc_fmt(why, sizeof why, "Not determined: Dovecot %s listener %s: %s.", proto,
			    name, addrwhy);
		mm_plan_off(d->plan, sec, "url", url, why);
	}
	mm_plan_note(d->plan, "dovecot: %s listener %s on port %s%s", proto, name, port,
		     ssl ? " (TLS)" : "");
	mm_plan_off(d->plan, sec, "credentials_file", "/etc/mailmon/imap.cred",
		    "No credentials: the probe checks the greeting (and TLS). To test a login,\n"
		    "write \"user = NAME\" and \"password = SECRET\" to a file of mode 600\n"
		    "readable by mailmond's user, and name it here.");
	if (ssl)
		mm_plan_set(d->plan, sec, "tls_verify", "no",
			    "The probe connects to a loopback address, which the server's\n"
			    "certificate rarely names; set ca_file and tls_verify = yes to check it.");
	mm_disc_commands(d, sec, unit, start, "dovecot");
}

/* The store partition from mail_location ("maildir:/var/vmail/%d/%n",
 * "mbox:~/mail:INBOX=/var/mail/%u"). */
static void plan_store(struct mm_disc *d, const char *loc)
{
	if (!loc || !*loc) {
		mm_plan_note(d->plan, "dovecot: mail_location unset (autodetected per user); "
				      "the store partition is not known");
		return;
	}
	const char *p = strchr(loc, ':');
	p = p ? p + 1 : loc;
	char path[256];
	size_t n = strcspn(p, "%:");
	if (p[0] == '~')
		mm_kvlist_add(&d->disks, "/home", "users' home directories (Dovecot mail_location)");
	else if (p[0] == '/' && n < sizeof path) {
		memcpy(path, p, n);
		path[n] = '\0';
		while (n > 1 && path[n - 1] == '/')
			path[--n] = '\0';
		mm_kvlist_add(&d->disks, path, "Dovecot mail_location");
	}
	const char *inbox = strstr(loc, "INBOX=");
	if (inbox && inbox[6] == '/') {
		n = strcspn(inbox + 6, "%:");
		if (n < sizeof path) {
			memcpy(path, inbox + 6, n);
			path[n] = '\0';
			while (n > 1 && path[n - 1] == '/')
				path[--n] = '\0';
			mm_kvlist_add(&d->disks, path, "Dovecot INBOX (mail_location)");
		}
	}
}

void mm_discover_dovecot(struct mm_disc *d)
{
	char doveconf[256];
	struct mm_err err;
	if (!mm_disc_program(d, "doveconf", doveconf, sizeof doveconf)) {
		mm_plan_note(d->plan, "dovecot: not installed (no doveconf)");
		return;
	}
	char *argv[] = {doveconf, (char *)"-n", NULL};
	char *out;
	size_t len;
	if (d->host->run(d->host->ctx, argv, &out, &len, &err) < 0) {
		mm_plan_note(d->plan, "dovecot: doveconf -n failed: %s; not watched", err.msg);
		return;
	}
	struct mm_kvlist kv = {0};
	if (mm_doveconf_parse(out, len, &kv, &err) < 0)
		mm_plan_note(d->plan, "dovecot: doveconf -n output: %s (settings before it are used)",
			     err.msg);
	free(out);
	d->found++;
	const char *protocols = setting(&kv, "protocols", "imap pop3 lmtp");
	mm_plan_note(d->plan, "dovecot: protocols %s", protocols);
	bool ssl_off = strcmp(setting(&kv, "ssl", "yes"), "no") == 0;
	char dovecot[256], start[512];
	const char *unit = "dovecot.service";
	if (mm_disc_program(d, "dovecot", dovecot, sizeof dovecot))
		mm_disc_fmt(start, sizeof start, "%s", dovecot);
	else
		start[0] = '\0';
	size_t before = d->plan->n;
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		if (has_word(protocols, defaults[i].proto))
			plan_listener(d, &kv, defaults[i].proto, defaults[i].login, defaults[i].name,
				      defaults[i].port, defaults[i].ssl, ssl_off, unit,
				      *start ? start : NULL);
	/* Listeners beyond the default names ("inet_listener imaps_alt"). */
	for (size_t i = 0; i < kv.n; i++) {
		char login[64], name[64];
		const char *k = kv.v[i].name;
		if (strncmp(k, "service ", 8) != 0)
			continue;
		const char *slash = strchr(k + 8, '/');
		if (!slash || (size_t)(slash - k - 8) >= sizeof login ||
		    strncmp(slash + 1, "inet_listener ", 14) != 0)
			continue;
		const char *nm = slash + 15, *end = strchr(nm, '/');
		if (!end || strcmp(end, "/port") != 0 || (size_t)(end - nm) >= sizeof name)
			continue;
		mm_disc_fmt(login, sizeof login, "%.*s", (int)(slash - k - 8), k + 8);
		mm_disc_fmt(name, sizeof name, "%.*s", (int)(end - nm), nm);
		const char *proto = strcmp(login, "imap-login") == 0 ? "imap"
				    : strcmp(login, "pop3-login") == 0 ? "pop3" : NULL;
		bool dflt = false;
		for (size_t j = 0; j < sizeof defaults / sizeof defaults[0]; j++)
			if (strcmp(defaults[j].login, login) == 0 && strcmp(defaults[j].name, name) == 0)
				dflt = true;
		if (proto && !dflt && has_word(protocols, proto))
			plan_listener(d, &kv, proto, login, name, NULL, false, ssl_off, unit,
				      *start ? start : NULL);
	}
	if (d->plan->n > before) {
		/* The master's pid file on the first Dovecot service. */
		char pid[512];
		mm_disc_fmt(pid, sizeof pid, "%s/master.pid", setting(&kv, "base_dir", "/run/dovecot"));
		mm_plan_set(d->plan, d->plan->secs[before].name, "pidfile", pid,
			    "Dovecot's master pid file (base_dir/master.pid).");
	}
	static const char *const logs[] = {"log_path", "info_log_path"};
	bool file_log = false;
	for (size_t i = 0; i < 2; i++) {
		const char *lp = mm_kvlist_get(&kv, logs[i]);
		if (lp && lp[0] == '/') {
			char why[128];
			mm_disc_fmt(why, sizeof why, "Dovecot %s", logs[i]);
			mm_disc_log(d, lp, why);
			file_log = true;
		}
	}
	if (!file_log)
		mm_kvlist_add(&d->syslog_idents, "dovecot", "Dovecot");
	plan_store(d, mm_kvlist_get(&kv, "mail_location"));
	mm_kvlist_free(&kv);
}

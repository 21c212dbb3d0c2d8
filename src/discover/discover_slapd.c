/*
 * discover_slapd: OpenLDAP's slapd for `mailmon init` (see discover.h).
 * Its listeners are the -h URL list, which Debian keeps as
 * SLAPD_SERVICES in /etc/default/slapd. A slapd without configuration
 * (no /etc/ldap/slapd.d, no slapd.conf) is installed but not in use.
 */
#include "discover/discover.h"

#include <stdlib.h>
#include <string.h>

#include "discover/slapd_urls.h"

#define DEFAULTS_FILE "/etc/default/slapd"

void mm_discover_slapd(struct mm_disc *d)
{
	char slapd[256];
	struct mm_err err;
	if (!mm_disc_program(d, "slapd", slapd, sizeof slapd)) {
		mm_plan_note(d->plan, "slapd: not installed");
		return;
	}
	if (!d->host->exists(d->host->ctx, "/etc/ldap/slapd.d") &&
	    !d->host->exists(d->host->ctx, "/etc/ldap/slapd.conf")) {
		mm_plan_note(d->plan, "slapd: installed but not configured (no /etc/ldap/slapd.d "
				      "or slapd.conf); not watched");
		return;
	}
	struct mm_slapd_listener ls[16];
	size_t n = 0, len;
	int eno;
	char *text = d->host->read(d->host->ctx, DEFAULTS_FILE, &len, &eno, &err);
	if (text) {
		if (mm_slapd_services(text, len, ls, 16, &n, &err) < 0) {
			mm_plan_note(d->plan, "slapd: %s: %s", DEFAULTS_FILE, err.msg);
			n = 0;
		}
		free(text);
	}
	const char *source = DEFAULTS_FILE " SLAPD_SERVICES";
	if (n == 0) {
		/* slapd's own default without -h */
		source = "slapd's default (no SLAPD_SERVICES)";
		mm_slapd_parse_urls("ldap:///", 8, ls, 16, &n, &err);
	}
	d->found++;
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ls[i].scheme, "ldapi") == 0) {
			mm_plan_note(d->plan, "slapd: ldapi (unix socket) listener is not probed");
			continue;
		}
		char sec[64], url[160], host[80], why[512], addrwhy[256];
		mm_disc_fmt(sec, sizeof sec, "service.%s", ls[i].scheme);
		if (mm_plan_has_section(d->plan, sec))
			mm_disc_fmt(sec, sizeof sec, "service.%s-%d", ls[i].scheme, ls[i].port);
		bool ok = mm_disc_probe_addr(ls[i].host, false, host, sizeof host, addrwhy,
					     sizeof addrwhy);
		mm_disc_fmt(url, sizeof url, "%s://%s:%d", ls[i].scheme, ok ? host : "ADDRESS",
			    ls[i].port);
		if (ok) {
			mm_disc_fmt(why, sizeof why, "slapd listener %s://%s:%d (%s); %s.", ls[i].scheme,
				    ls[i].host, ls[i].port, source, addrwhy);
			mm_plan_set(d->plan, sec, "url", url, why);
		} else {
			mm_disc_fmt(why, sizeof why, "Not determined: slapd listener: %s.", addrwhy);
			mm_plan_off(d->plan, sec, "url", url, why);
		}
		mm_plan_note(d->plan, "slapd: %s listener on port %d", ls[i].scheme, ls[i].port);
		mm_plan_off(d->plan, sec, "credentials_file", "/etc/mailmon/ldap.cred",
			    "No credentials: the probe binds anonymously. For a real bind, give a\n"
			    "file with \"user = BIND-DN\" and \"password = SECRET\" (mode 600).");
		if (ls[i].port == 636)
			mm_plan_set(d->plan, sec, "tls_verify", "no",
				    "The probe connects to a loopback address, which the server's\n"
				    "certificate rarely names; set ca_file and tls_verify = yes.");
		if (first) {
			mm_plan_set(d->plan, sec, "process_name", "slapd", "slapd's process name.");
			first = false;
		}
		/* No native start: slapd's own init script would listen on every
		 * address, which a monitor must not decide. */
		mm_disc_commands(d, sec, "slapd.service", NULL, NULL);
	}
}

/*
 * slapd_urls: slapd's listeners, for `mailmon init`, from the URL list
 * given to `slapd -h` (Debian keeps it as SLAPD_SERVICES in
 * /etc/default/slapd).
 *
 *   mm_slapd_services(text, len, out, cap, &n, err)  the SLAPD_SERVICES
 *       line of a /etc/default/slapd file (shell syntax, quotes removed)
 *   mm_slapd_parse_urls(list, len, out, cap, &n, err)  "ldap:/// ldaps://..."
 *
 * Each listener gets its scheme (ldap, ldaps, ldapi), host as written
 * ("" for all addresses) and port (the scheme's default when none).
 * Errors: -1 with err for a URL of another scheme, a bad port or more
 * than cap URLs; 0 with n = 0 when the file sets no SLAPD_SERVICES.
 */
#ifndef MAILMON_DISCOVER_SLAPD_URLS_H
#define MAILMON_DISCOVER_SLAPD_URLS_H

#include <stddef.h>

#include "core/err.h"

struct mm_slapd_listener {
	char scheme[8];
	char host[64];
	int port; /* 0 for ldapi */
};

int mm_slapd_parse_urls(const char *list, size_t len, struct mm_slapd_listener *out,
			size_t cap, size_t *n, struct mm_err *err);
int mm_slapd_services(const char *text, size_t len, struct mm_slapd_listener *out,
		      size_t cap, size_t *n, struct mm_err *err);

#endif

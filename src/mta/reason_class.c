/*
 * reason_class: see reason_class.h.
 */
#include "mta/reason_class.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const names[MM_RC_N] = {
	[MM_RC_NONE] = "none",	   [MM_RC_REFUSED] = "refused", [MM_RC_TIMEOUT] = "timeout",
	[MM_RC_TLS] = "tls",	   [MM_RC_DNS] = "dns",		[MM_RC_4XX] = "4xx",
	[MM_RC_SUSPENDED] = "suspended", [MM_RC_OTHER] = "other",
};

#define SUSPENDED "delivery temporarily suspended"

/* First match wins. */
static const struct {
	const char *needle;
	enum mm_rclass rclass;
} rules[] = {
	{SUSPENDED, MM_RC_SUSPENDED},
	{"connection refused", MM_RC_REFUSED},
	{"tls is required", MM_RC_TLS},
	{"cannot start tls", MM_RC_TLS},
	{"tls handshake", MM_RC_TLS},
	{"tls library problem", MM_RC_TLS},
	{"server certificate not", MM_RC_TLS},
	{"starttls", MM_RC_TLS},
	{"host or domain name not found", MM_RC_DNS},
	{"name service error", MM_RC_DNS},
	{"host not found", MM_RC_DNS},
	{"no mx host", MM_RC_DNS},
	{"dns lookup", MM_RC_DNS},
	{"timed out", MM_RC_TIMEOUT},
	{"connection timed out", MM_RC_TIMEOUT},
	{"lost connection", MM_RC_TIMEOUT},
};

static const char *ci_strstr(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

/* "host mx.example[192.0.2.1] said: 451 4.7.1 Try later" -> 451. Also a
 * reply quoted at the start of the text. */
static uint16_t reply_code(const char *reason)
{
	const char *p = ci_strstr(reason, " said: ");
	p = p ? p + 7 : reason;
	if (p[0] >= '4' && p[0] <= '5' && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && (p[3] == ' ' || p[3] == '-' || p[3] == '\0'))
		return (uint16_t)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
	return 0;
}

/* The rules from the table on; with no_suspended the suspended marker
 * is not a class (used on the text quoted after it). */
static enum mm_rclass classify(const char *reason, const char *status, bool no_suspended,
			       uint16_t *code)
{
	*code = 0;
	if (!reason || !*reason)
		return status && *status ? MM_RC_OTHER : MM_RC_NONE;
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
		if (!(no_suspended && rules[i].rclass == MM_RC_SUSPENDED) &&
		    ci_strstr(reason, rules[i].needle))
			return rules[i].rclass;
	uint16_t c = reply_code(reason);
	if (c >= 400 && c < 500) {
		*code = c;
		return MM_RC_4XX;
	}
	if (status && strncmp(status, "4.4.3", 5) == 0)
		return MM_RC_DNS;
	if (status && strncmp(status, "4.4.2", 5) == 0)
		return MM_RC_TIMEOUT;
	return MM_RC_OTHER;
}

enum mm_rclass mm_rclass_of(const char *reason, const char *status, uint16_t *code)
{
	return classify(reason, status, false, code);
}

enum mm_rclass mm_rclass_cause(const char *reason, const char *status, uint16_t *code)
{
	*code = 0;
	const char *p = reason ? ci_strstr(reason, SUSPENDED) : NULL;
	if (!p)
		return MM_RC_NONE;
	p += strlen(SUSPENDED);
	while (*p == ':' || *p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return MM_RC_NONE; /* no cause quoted: the status alone says little */
	return classify(p, status, true, code);
}

const char *mm_rclass_name(unsigned rclass)
{
	return rclass < MM_RC_N ? names[rclass] : "?";
}

void mm_rclass_label(unsigned rclass, uint16_t code, char *buf, unsigned cap)
{
	if (rclass == MM_RC_4XX && code)
		snprintf(buf, cap, "%u", (unsigned)code);
	else
		snprintf(buf, cap, "%s", mm_rclass_name(rclass));
}

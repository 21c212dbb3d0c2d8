/*
 * parse: see parse.h. Everything here is strict on purpose: a config value
 * of "10 s" or "20%" must be refused with a reason, not half-read.
 */
#include "core/parse.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int mm_parse_int(const char *s, int64_t min, int64_t max, int64_t *out,
		 struct mm_err *err)
{
	char *end;
	if (!*s || isspace((unsigned char)*s))
		return mm_err_set(err, "expected an integer, got \"%s\"", s);
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end != '\0')
		return mm_err_set(err, "expected an integer, got \"%s\"", s);
	if (errno == ERANGE || v < min || v > max)
		return mm_err_set(err,
				  "%s is out of range (%" PRId64 "..%" PRId64 ")",
				  s, min, max);
	*out = v;
	return 0;
}

/* Reads the leading unsigned number of s; returns the suffix or NULL. */
static const char *leading_number(const char *s, uint64_t *v)
{
	if (!isdigit((unsigned char)*s))
		return NULL;
	uint64_t n = 0;
	for (; isdigit((unsigned char)*s); s++) {
		if (n > (UINT64_MAX - 9) / 10)
			return NULL;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*v = n;
	return s;
}

int mm_parse_duration(const char *s, int64_t *out_ms, struct mm_err *err)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
		{"", 1000},	     {"ms", 1},		{"s", 1000},
		{"m", 60000},	     {"h", 3600000},	{"d", 86400000},
		{"w", 604800000},
	};
	uint64_t v;
	const char *suf = leading_number(s, &v);
	if (suf) {
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
			if (strcmp(suf, units[i].suffix) != 0)
				continue;
			if (v > (uint64_t)INT64_MAX / units[i].ms)
				break;
			*out_ms = (int64_t)(v * units[i].ms);
			return 0;
		}
	}
	return mm_err_set(err,
			  "expected a duration such as 30s, 5m, 2h or 1d, got \"%s\"",
			  s);
}

int mm_parse_size(const char *s, uint64_t *out, struct mm_err *err)
{
	uint64_t v, mult = 1;
	const char *suf = leading_number(s, &v);
	if (suf) {
		if (*suf && suf[1] == '\0') {
			switch (toupper((unsigned char)*suf)) {
			case 'K': mult = 1ULL << 10; break;
			case 'M': mult = 1ULL << 20; break;
			case 'G': mult = 1ULL << 30; break;
			case 'T': mult = 1ULL << 40; break;
			default: mult = 0;
			}
		} else if (*suf) {
			mult = 0;
		}
		if (mult && v <= UINT64_MAX / mult) {
			*out = v * mult;
			return 0;
		}
	}
	return mm_err_set(err,
			  "expected a size such as 4096, 64k, 10M or 1G, got \"%s\"",
			  s);
}

int mm_parse_bool(const char *s, bool *out, struct mm_err *err)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return mm_err_set(err, "expected yes or no, got \"%s\"", s);
}

bool mm_is_numeric_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int mm_sockaddr_numeric(const char *host, int port, struct sockaddr_storage *ss,
			unsigned *len, struct mm_err *err)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof *s4;
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof *s6;
	} else
		return mm_err_set(err, "%s: not a numeric address", host);
	return 0;
}

/* RFC 1123 host name syntax: labels of letters, digits and hyphens. */
static bool valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*p) || (*p == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

int mm_parse_host(const char *s, struct mm_err *err)
{
	if (mm_is_numeric_ip(s) || valid_hostname(s))
		return 0;
	return mm_err_set(err, "expected an IP address or host name, got \"%s\"", s);
}

int mm_parse_hostport(const char *s, int default_port, char *host,
		      unsigned hostcap, int *port, struct mm_err *err)
{
	const char *hstart = s, *hend, *portstr = NULL;
	if (*s == '[') {
		hstart = s + 1;
		hend = strchr(hstart, ']');
		if (!hend)
			return mm_err_set(err, "missing ']' in address \"%s\"", s);
		if (hend[1] == ':')
			portstr = hend + 2;
		else if (hend[1] != '\0')
			return mm_err_set(err, "expected ':port' after ']' in \"%s\"", s);
	} else {
		hend = strrchr(s, ':');
		if (hend && strchr(s, ':') != hend)
			return mm_err_set(err,
					  "IPv6 addresses need brackets, as in [::1]:25, got \"%s\"",
					  s);
		if (hend)
			portstr = hend + 1;
		else
			hend = s + strlen(s);
	}
	size_t hlen = (size_t)(hend - hstart);
	if (hlen == 0 || hlen >= hostcap)
		return mm_err_set(err, "expected host:port, got \"%s\"", s);
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	if (!mm_is_numeric_ip(host) && !valid_hostname(host))
		return mm_err_set(err, "\"%s\" is neither an IP address nor a host name",
				  host);
	if (!portstr) {
		if (default_port <= 0)
			return mm_err_set(err, "expected host:port, the port is missing in \"%s\"",
					  s);
		*port = default_port;
		return 0;
	}
	int64_t p;
	if (mm_parse_int(portstr, 1, 65535, &p, NULL) < 0)
		return mm_err_set(err, "expected a port 1..65535, got \"%s\"", portstr);
	*port = (int)p;
	return 0;
}

int mm_parse_mailbox(const char *s, bool allow_null, struct mm_err *err)
{
	if (allow_null && strcmp(s, "<>") == 0)
		return 0;
	const char *at = strrchr(s, '@');
	if (!at || at == s || !valid_hostname(at + 1))
		return mm_err_set(err, "expected a mail address such as postmaster@example.org, got \"%s\"",
				  s);
	for (const char *p = s; p < at; p++)
		if (isspace((unsigned char)*p) || *p == '<' || *p == '>' || *p == ',')
			return mm_err_set(err, "invalid character in mail address \"%s\"", s);
	return 0;
}

void mm_format_duration(int64_t ms, char *buf, unsigned cap)
{
	static const struct {
		const char *suffix;
		int64_t ms;
	} units[] = {{"w", 604800000}, {"d", 86400000}, {"h", 3600000},
		     {"m", 60000},     {"s", 1000}};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(buf, cap, "%" PRId64 "%s", ms / units[i].ms, units[i].suffix);
			return;
		}
	}
	snprintf(buf, cap, "%" PRId64 "ms", ms);
	if (ms == 0)
		snprintf(buf, cap, "0s");
}

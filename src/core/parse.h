/*
 * parse: strict parsers for the value types used in config files and on
 * the command line. Each accepts the whole string or fails with an error
 * that says what was expected; none allocates. Callers add file/line/key.
 *
 *   integers   "42", bounded
 *   durations  "500ms", "10s", "5m", "2h", "1d", "1w"; a bare number is seconds
 *   sizes      "512", "64k", "10M", "1G" (powers of 1024)
 *   booleans   yes/no, true/false, on/off, 1/0
 *   addresses  "127.0.0.1:25", "[::1]:25", "mail.example.org:25"
 */
#ifndef MAILMON_CORE_PARSE_H
#define MAILMON_CORE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

int mm_parse_int(const char *s, int64_t min, int64_t max, int64_t *out,
		 struct mm_err *err);
/* Result in milliseconds. */
int mm_parse_duration(const char *s, int64_t *out_ms, struct mm_err *err);
int mm_parse_size(const char *s, uint64_t *out, struct mm_err *err);
int mm_parse_bool(const char *s, bool *out, struct mm_err *err);
/* Splits "host:port" (brackets for IPv6). host gets at most hostcap-1
 * chars. With default_port > 0 a missing ":port" is allowed. */
int mm_parse_hostport(const char *s, int default_port, char *host,
		      unsigned hostcap, int *port, struct mm_err *err);
/* An IP address or a syntactically valid host name. */
int mm_parse_host(const char *s, struct mm_err *err);
/* A mailbox address local@domain, or "<>" when allow_null. */
int mm_parse_mailbox(const char *s, bool allow_null, struct mm_err *err);
/* True when s is a numeric IPv4 or IPv6 address. */
bool mm_is_numeric_ip(const char *s);
/* Fills *ss and *len with numeric IPv4/IPv6 host and port; -1 with err
 * when host is not an address literal. */
struct sockaddr_storage;
int mm_sockaddr_numeric(const char *host, int port, struct sockaddr_storage *ss,
			unsigned *len, struct mm_err *err);
/* Formats a duration in the shortest exact unit ("90s" -> "90s", "5m"). */
void mm_format_duration(int64_t ms, char *buf, unsigned cap);

#endif

/*
 * httpget: a minimal blocking HTTP/1.0 GET for the command line, used to
 * read the running daemon's JSON API.
 *
 * Only numeric addresses are accepted (no DNS lookup ever leaves the
 * machine from here). The whole exchange is bounded by timeout_ms, and
 * the response by max_bytes; exceeding either is an error, not a hang.
 * The body is returned NUL-terminated in a heap buffer the caller frees.
 */
#ifndef MAILMON_CORE_HTTPGET_H
#define MAILMON_CORE_HTTPGET_H

#include <stddef.h>

#include "core/err.h"

int mm_http_get(const char *host, int port, const char *path, int timeout_ms,
		size_t max_bytes, int *status, char **body, struct mm_err *err);

#endif

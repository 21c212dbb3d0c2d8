/*
 * httpget: the command line's blocking HTTP GET, used to read the running
 * daemon's JSON API. A thin loop around the shared client (httpc.h): only
 * numeric addresses, the whole exchange bounded by timeout_ms and the
 * body by max_bytes; exceeding either is an error, not a hang. The body
 * is returned NUL-terminated in a heap buffer the caller frees.
 */
#ifndef MAILMON_CORE_HTTPGET_H
#define MAILMON_CORE_HTTPGET_H

#include <stddef.h>

#include "core/err.h"

/* headers: extra "Name: value" lines (NULL-terminated; NULL: none), such
 * as the Authorization line from mm_api_auth_header(). */
int mm_http_get(const char *host, int port, const char *path, const char *const *headers,
		int timeout_ms, size_t max_bytes, int *status, char **body, struct mm_err *err);

#endif

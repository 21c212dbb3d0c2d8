/* httpget: see httpget.h. */
#include "core/httpget.h"

#include "core/httpc.h"

int mm_http_get(const char *host, int port, const char *path, const char *const *headers,
		int timeout_ms, size_t max_bytes, int *status, char **body, struct mm_err *err)
{
	struct mm_httpc_req req = {.host = host,
				   .port = port,
				   .path = path,
				   .headers = headers,
				   .timeout_ms = timeout_ms,
				   .max_bytes = max_bytes};
	return mm_httpc_fetch(&req, status, body, NULL, err);
}

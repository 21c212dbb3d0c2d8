/*
 * api_client: how CLI commands read the running mailmond's JSON API.
 *
 *   doc = mm_cli_api_get(cli, api, "/api/metrics?pattern=queue", "mailmon metrics", &code)
 *
 * api is "HOST:PORT" (--api) or NULL for [http] listen of the CLI's
 * config. Prints what went wrong (prefixed with prog) and returns NULL
 * when the daemon does not answer or the answer is not JSON; *http gets
 * the HTTP status (a 4xx with a JSON {"error"} body is returned as a doc).
 * The body is capped at 16 MiB and the exchange at 5 s.
 * Ownership: the caller owns (json_decref) the document.
 */
#ifndef MAILMON_CLI_API_CLIENT_H
#define MAILMON_CLI_API_CLIENT_H

#include <jansson.h>
#include <stddef.h>

struct mm_cli;
struct mm_config;

/* Where mailmond answers: *api ("HOST:PORT", from --api) or, when it is
 * NULL, [http] listen of the CLI's config, which *conf receives (the
 * caller frees it; *api then points into it). Parsed into host and port.
 * 0; -1 when the config does not load (said by mm_cli_load_config); -2
 * when the address does not parse (said on stderr, prefixed with prog). */
int mm_cli_api_addr(struct mm_cli *cli, const char **api, struct mm_config **conf, char *host,
		    size_t cap, int *port, const char *prog);
json_t *mm_cli_api_get(struct mm_cli *cli, const char *api, const char *path, const char *prog,
		       int *http);
/* The same as a POST with an empty body (the mailmond endpoints that
 * change something: /api/isolate), carrying the cross-site guard header
 * MM_HTTPD_POST_HEADER. */
json_t *mm_cli_api_post(struct mm_cli *cli, const char *api, const char *path, const char *prog,
			int *http);
/* The headers every request to mailmond carries: the Authorization line
 * made from [http] auth_file of the CLI's config (token: Bearer; user and
 * password: Basic), or NULL when none is set or readable. Read once;
 * stays valid as long as cli. */
const char *const *mm_cli_api_headers(struct mm_cli *cli);

/* path with value appended %XX-escaped as a query parameter value. */
char *mm_cli_query_escape(const char *value);

#endif

/*
 * api_client: GET a JSON document from mailmond (see api_client.h).
 */
#include "cli/api_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/httpget.h"
#include "core/parse.h"
#include "core/xalloc.h"

json_t *mm_cli_api_get(struct mm_cli *cli, const char *api, const char *path, const char *prog,
		       int *http)
{
	struct mm_config *conf = NULL;
	json_t *doc = NULL;
	char *body = NULL;
	if (!api) {
		conf = mm_cli_load_config(cli);
		if (!conf)
			return NULL;
		api = mm_config_get(conf, "http", "listen");
	}
	char host[128];
	int port;
	struct mm_err err;
	json_error_t jerr;
	*http = 0;
	if (mm_parse_hostport(api, 0, host, sizeof host, &port, &err) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		goto out;
	}
	if (mm_http_get(host, port, path, 5000, 16 << 20, http, &body, &err) < 0) {
		fprintf(stderr, "%s: mailmond is not answering at %s: %s\n", prog, api, err.msg);
		goto out;
	}
	doc = json_loads(body, 0, &jerr);
	if (!doc)
		fprintf(stderr, "%s: %s%s: not a JSON answer (HTTP %d)\n", prog, api, path, *http);
out:
	free(body);
	mm_config_free(conf);
	return doc;
}

char *mm_cli_query_escape(const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(value);
	char *out = xmalloc(3 * n + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-_.~", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

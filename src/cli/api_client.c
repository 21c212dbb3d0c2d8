/*
 * api_client: GET a JSON document from mailmond (see api_client.h).
 */
#include "cli/api_client.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/httpc.h"
#include "core/httpd.h"
#include "core/parse.h"
#include "core/pct.h"
#include "core/strbuf.h"
#include "core/xalloc.h"
#include "probes/probe.h"

static json_t *api_request(struct mm_cli *cli, bool post, const char *api, const char *path,
			   const char *prog, int *http);

int mm_cli_api_addr(struct mm_cli *cli, const char **api, struct mm_config **conf, char *host,
		    size_t cap, int *port, const char *prog)
{
	*conf = NULL;
	if (!*api) {
		*conf = mm_cli_load_config(cli);
		if (!*conf)
			return -1;
		*api = mm_config_get(*conf, "http", "listen");
	}
	struct mm_err err;
	if (mm_parse_hostport(*api, 0, host, cap, port, &err) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return -2;
	}
	return 0;
}

json_t *mm_cli_api_get(struct mm_cli *cli, const char *api, const char *path, const char *prog,
		       int *http)
{
	return api_request(cli, false, api, path, prog, http);
}

json_t *mm_cli_api_post(struct mm_cli *cli, const char *api, const char *path, const char *prog,
			int *http)
{
	return api_request(cli, true, api, path, prog, http);
}

static json_t *api_request(struct mm_cli *cli, bool post, const char *api, const char *path,
			   const char *prog, int *http)
{
	struct mm_config *conf = NULL;
	json_t *doc = NULL;
	char *body = NULL;
	char host[128];
	int port;
	struct mm_err err;
	json_error_t jerr;
	*http = 0;
	if (mm_cli_api_addr(cli, &api, &conf, host, sizeof host, &port, prog) < 0)
		goto out;
	const char *const *auth = mm_cli_api_headers(cli);
	const char *hdrs[3] = {MM_HTTPD_POST_HEADER ": mailmon", auth ? auth[0] : NULL, NULL};
	struct mm_httpc_req req = {.method = post ? "POST" : NULL,
				   .host = host,
				   .port = port,
				   .path = path,
				   .headers = post ? hdrs : auth,
				   .timeout_ms = 5000,
				   .max_bytes = 16 << 20};
	if (mm_httpc_fetch(&req, http, &body, NULL, &err) < 0) {
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

const char *const *mm_cli_api_headers(struct mm_cli *cli)
{
	if (cli->auth_done)
		return cli->auth_line ? cli->auth_headers : NULL;
	cli->auth_done = 1;
	if (!cli->config_explicit && access(cli->config_path, F_OK) != 0)
		return NULL;
	struct mm_diags diags = {0};
	struct mm_config *conf = mm_config_load(cli->config_path, &diags);
	mm_diags_free(&diags);
	const char *file = conf ? mm_config_get(conf, "http", "auth_file") : NULL;
	struct mm_probe_params cred;
	memset(&cred, 0, sizeof cred);
	struct mm_err err;
	if (file && *file) {
		if (mm_probe_read_credentials(file, &cred, &err) < 0) {
			fprintf(stderr, "mailmon: http.auth_file: %s\n", err.msg);
		} else if (cred.user[0]) {
			char plain[2 * MM_PROBE_STR + 2];
			int n = snprintf(plain, sizeof plain, "%s:%s", cred.user, cred.pass);
			char *b64 = xmalloc(4 * ((size_t)n + 2) / 3 + 4);
			EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)plain, n);
			cli->auth_line = xasprintf("Authorization: Basic %s", b64);
			OPENSSL_cleanse(plain, sizeof plain);
			OPENSSL_cleanse(b64, strlen(b64));
			free(b64);
		} else if (cred.pass[0]) {
			cli->auth_line = xasprintf("Authorization: Bearer %s", cred.pass);
		}
	}
	OPENSSL_cleanse(&cred, sizeof cred);
	mm_config_free(conf);
	cli->auth_headers[0] = cli->auth_line;
	cli->auth_headers[1] = NULL;
	return cli->auth_line ? cli->auth_headers : NULL;
}

char *mm_cli_query_escape(const char *value)
{
	struct mm_strbuf b;
	mm_strbuf_init(&b, 0);
	mm_pct_encode_query(&b, value, strlen(value));
	return mm_strbuf_steal(&b, NULL);
}

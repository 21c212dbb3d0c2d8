/*
 * mailmon metrics: the live metric families of the running mailmond, for
 * people who do not run Prometheus (GET /api/metrics).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/api_client.h"
#include "cli/cli.h"
#include "core/xalloc.h"
#include "metrics/prom_format.h"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon metrics - the metric families of the running mailmond\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon [-c FILE] metrics [--json] [--api HOST:PORT] [PATTERN]\n"
	      "    mailmon [-c FILE] metrics --values [--json] [--api HOST:PORT] SELECTOR\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    Lists every family in mailmond's metric registry, the same ones its\n"
	      "    Prometheus endpoint /metrics serves: name, type (counter, gauge,\n"
	      "    histogram, stateset), how many series it has now, and its help text.\n"
	      "    PATTERN keeps the families whose name matches it as a shell pattern\n"
	      "    (mailmon_queue_*) or, without wildcards, contains it (queue).\n"
	      "\n"
	      "    --values prints the current value of every series SELECTOR matches;\n"
	      "    a selector is a family name with optional label matchers, as in\n"
	      "    PromQL: 'mailmon_queue_messages{queue=\"deferred\"}', with =, !=,\n"
	      "    =~ and !~ (extended regular expressions).\n"
	      "\n"
	      "    --json prints the API's answer unchanged. --api asks mailmond at\n"
	      "    HOST:PORT instead of [http] listen of the config.\n"
	      "\n"
	      "    A family whose series reached its cap folds new label values into\n"
	      "    \"other\"; FOLDED counts them.\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 listed; 1 nothing matched; 2 bad usage or a bad selector; 3 mailmond\n"
	      "    did not answer.\n",
	      out);
}

static int print_families(json_t *fams)
{
	size_t i;
	json_t *f;
	if (!json_array_size(fams))
		return 1;
	printf("%-52s %-9s %6s %6s  %s\n", "FAMILY", "TYPE", "SERIES", "FOLDED", "HELP");
	json_array_foreach(fams, i, f)
	{
		printf("%-52s %-9s %6lld %6lld  %s\n", json_string_value(json_object_get(f, "name")),
		       json_string_value(json_object_get(f, "type")),
		       (long long)json_integer_value(json_object_get(f, "series")),
		       (long long)json_integer_value(json_object_get(f, "folded")),
		       json_string_value(json_object_get(f, "help")));
	}
	return 0;
}

static int print_values(json_t *series)
{
	size_t i;
	json_t *s;
	if (!json_array_size(series))
		return 1;
	json_array_foreach(series, i, s)
	{
		printf("%s{", json_string_value(json_object_get(s, "name")));
		const char *k;
		json_t *v;
		int first = 1;
		json_object_foreach(json_object_get(s, "labels"), k, v)
		{
			printf("%s%s=\"%s\"", first ? "" : ",", k, json_string_value(v));
			first = 0;
		}
		json_t *val = json_object_get(s, "value");
		char num[48];
		if (val) {
			mm_prom_value(json_number_value(val), num, sizeof num);
			printf("} %s\n", json_is_null(val) ? "NaN" : num);
		} else {
			printf("} count=%lld sum=%g\n",
			       (long long)json_integer_value(json_object_get(s, "count")),
			       json_number_value(json_object_get(s, "sum")));
		}
	}
	return 0;
}

int cmd_metrics(struct mm_cli *cli, int argc, char **argv)
{
	int json = 0, values = 0;
	const char *api = NULL, *arg = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--values") == 0)
			values = 1;
		else if (strcmp(argv[i], "--api") == 0 && i + 1 < argc)
			api = argv[++i];
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && !arg)
			arg = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (values && !arg) {
		fprintf(stderr, "mailmon metrics: --values needs a SELECTOR\n");
		return 2;
	}
	char *esc = mm_cli_query_escape(arg ? arg : "");
	char *path = xasprintf("/api/metrics?%s=%s", values ? "match" : "pattern", esc);
	free(esc);
	int http;
	json_t *doc = mm_cli_api_get(cli, api, path, "mailmon metrics", &http);
	free(path);
	if (!doc)
		return 3;
	int rc;
	if (http != 200) {
		const char *e = json_string_value(json_object_get(doc, "error"));
		fprintf(stderr, "mailmon metrics: %s\n", e ? e : "error");
		rc = http == 400 ? 2 : 3;
	} else if (json) {
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
		puts(text);
		free(text);
		rc = json_array_size(json_object_get(doc, values ? "series" : "families")) ? 0 : 1;
	} else {
		rc = values ? print_values(json_object_get(doc, "series"))
			    : print_families(json_object_get(doc, "families"));
		if (rc)
			fprintf(stderr, "mailmon metrics: nothing matches %s\n", arg ? arg : "");
	}
	json_decref(doc);
	return rc;
}

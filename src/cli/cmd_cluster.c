/*
 * mailmon cluster: a read-only view of several mailmond nodes through
 * their JSON APIs (issue 15 item 6; docs/cluster.md). For each node,
 * fetched concurrently (cluster/nodeview.h, the same rows mailmond's
 * dashboard shows): its verdict, queue sizes, inflow and outflow per
 * minute, and which node holds the backlog. It only talks to mailmond's
 * API: not a second monitoring system.
 * Nodes: the arguments (http://HOST:PORT or HOST:PORT, numeric), else
 * [cluster] nodes of the config.
 */
#include <event2/event.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/api_client.h"
#include "cli/cli.h"
#include "cluster/nodeview.h"
#include "core/config.h"
#include "core/xalloc.h"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon cluster - several mailmond nodes side by side\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon [-c FILE] cluster [--json] [--watch SECS [--count N]] [URL...]\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    Asks every node's mailmond API at once (URL: http://HOST:PORT or\n"
	      "    HOST:PORT, numeric addresses; none given: [cluster] nodes of the\n"
	      "    config) and prints one row per node: its verdict (healthy,\n"
	      "    degraded, stalled, down), incoming/active/deferred messages,\n"
	      "    inflow and outflow per minute over its stall window, and the\n"
	      "    verdict's cause when it names one (stalled, down, drained), else\n"
	      "    its first reason; under a node, one row per Postfix instance with\n"
	      "    a verdict of its own ([instance.NAME]): its name, verdict and\n"
	      "    cause; then which node holds the backlog.\n"
	      "    Read-only: it only reads the nodes' APIs.\n"
	      "    --json       one JSON document instead of the table\n"
	      "    --watch SECS redraw every SECS seconds (until Ctrl-C, or N times\n"
	      "                 with --count N)\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 every node answered and is healthy, and so is each of its\n"
	      "    instances; 1 a node or an instance is not healthy, or a node did\n"
	      "    not answer; 2 bad usage; 3 no node to ask.\n",
	      out);
}

static double num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* The verdict's named cause (stalled, down, drained), else its first reason. */
static const char *why_of(json_t *v)
{
	const char *why = json_string_value(json_object_get(v, "cause"));
	if (!why)
		why = json_string_value(json_array_get(json_object_get(v, "reasons"), 0));
	return why ? why : "";
}

static void print_table(json_t *doc)
{
	printf("%-22s %-11s %9s %7s %9s %7s %7s  %s\n", "NODE", "VERDICT", "INCOMING", "ACTIVE",
	       "DEFERRED", "IN/MIN", "OUT/MIN", "WHY");
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(doc, "nodes"), i, n)
	{
		const char *url = json_string_value(json_object_get(n, "url"));
		const char *state = json_string_value(json_object_get(n, "state"));
		json_t *err = json_object_get(n, "error");
		if (err) {
			printf("%-22s %-11s %9s %7s %9s %7s %7s  %s\n", url, "unreachable", "-", "-",
			       "-", "-", "-", json_string_value(err));
			continue;
		}
		json_t *q = json_object_get(n, "queues");
		printf("%-22s %-11s %9.0f %7.0f %9.0f %7.0f %7.0f  %s\n", url, state,
		       num(q, "incoming"), num(q, "active"), num(q, "deferred"),
		       num(n, "inflow_per_min"), num(n, "outflow_per_min"),
		       why_of(json_object_get(n, "verdict")));
		size_t k;
		json_t *e;
		json_array_foreach(json_object_get(n, "instances"), k, e)
		printf("  %-20s %-11s %9s %7s %9s %7s %7s  %s\n",
		       json_string_value(json_object_get(e, "instance")),
		       json_string_value(json_object_get(e, "state")), "-", "-", "-", "-", "-",
		       why_of(e));
	}
	double held = num(doc, "backlog_held"), total = num(doc, "backlog_total");
	const char *h = json_string_value(json_object_get(doc, "backlog_holder"));
	if (!h)
		printf("backlog: none queued\n");
	else
		printf("backlog: %s holds %.0f%% (%.0f of %.0f queued messages)\n", h,
		       total > 0 ? held * 100.0 / total : 0, held, total);
}

static void stop_loop(struct mm_nodeview *v, void *arg)
{
	event_base_loopbreak(arg);
}

/* All nodes, all paths, concurrently on a private loop. */
static json_t *fetch_all(struct mm_nodeview *v, const char *const *hdrs)
{
	struct event_base *base = event_base_new();
	mm_nodeview_fetch(v, base, hdrs, stop_loop, base);
	if (mm_nodeview_busy(v))
		event_base_dispatch(base);
	event_base_free(base);
	return mm_nodeview_json(v);
}

int cmd_cluster(struct mm_cli *cli, int argc, char **argv)
{
	int json = 0, rc = 3;
	long watch = 0, count = 0;
	struct mm_nodeview *v = mm_nodeview_new();
	struct mm_config *conf = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--watch") == 0 && i + 1 < argc) {
			watch = strtol(argv[++i], NULL, 10);
			if (watch < 1 || watch > 86400)
				goto bad;
		} else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			count = strtol(argv[++i], NULL, 10);
			if (count < 1)
				goto bad;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			rc = 0;
			goto out;
		} else if (argv[i][0] == '-') {
			goto bad;
		} else if (mm_nodeview_add(v, argv[i]) < 0) {
			fprintf(stderr, "mailmon cluster: %s: not http://HOST:PORT with a numeric "
					"address (at most %d nodes)\n",
				argv[i], MM_NODEVIEW_MAX);
			rc = 2;
			goto out;
		}
	}
	if (mm_nodeview_count(v) == 0) {
		conf = mm_cli_load_config(cli);
		const char *list = conf ? mm_config_get(conf, "cluster", "nodes") : NULL;
		char *copy = xstrdup(list ? list : "");
		for (char *save, *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
			if (mm_nodeview_add(v, t) < 0)
				fprintf(stderr, "mailmon cluster: [cluster] nodes: %s: not HOST:PORT\n", t);
		free(copy);
		if (mm_nodeview_count(v) == 0) {
			fprintf(stderr, "mailmon cluster: no nodes: give URLs or set [cluster] nodes\n");
			goto out;
		}
	}
	signal(SIGPIPE, SIG_IGN); /* httpc: evhttp writes without MSG_NOSIGNAL */
	for (long round = 0;; round++) {
		json_t *doc = fetch_all(v, mm_cli_api_headers(cli));
		rc = 0;
		size_t i;
		json_t *n;
		json_array_foreach(json_object_get(doc, "nodes"), i, n)
		{
			const char *st = json_string_value(json_object_get(n, "state"));
			if (!st || strcmp(st, "healthy") != 0)
				rc = 1;
			size_t k;
			json_t *e;
			json_array_foreach(json_object_get(n, "instances"), k, e)
			{
				st = json_string_value(json_object_get(e, "state"));
				if (!st || strcmp(st, "healthy") != 0)
					rc = 1;
			}
		}
		if (json) {
			char *text = json_dumps(doc, JSON_INDENT(2));
			puts(text);
			free(text);
		} else {
			if (watch) {
				time_t now = time(NULL);
				struct tm tm;
				char when[32];
				strftime(when, sizeof when, "%H:%M:%S", localtime_r(&now, &tm));
				printf("%s--- %s ---\n", round ? "\n" : "", when);
			}
			print_table(doc);
		}
		json_decref(doc);
		fflush(stdout);
		if (!watch || (count && round + 1 >= count))
			break;
		sleep((unsigned)watch);
	}
	goto out;
bad:
	usage(stderr);
	rc = 2;
out:
	mm_nodeview_free(v);
	mm_config_free(conf);
	return rc;
}

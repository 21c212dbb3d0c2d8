/*
 * mailmon cluster: a read-only view of several mailmond nodes through
 * their JSON APIs (issue 15 item 6; docs/cluster.md). For each node,
 * fetched concurrently on one event loop (core/httpc.h): its verdict,
 * queue sizes, inflow and outflow per minute, and which node holds the
 * backlog. It only talks to mailmond's API: not a second monitoring
 * system.
 *
 * Per node three GETs run at once: /api/v1/status (name), /api/v1/cluster
 * (verdict, window figures), /api/v1/queue (queue sizes). Each is bounded
 * (3 s, 4 MiB); a node that does not answer is a row that says why.
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
#include "core/config.h"
#include "core/httpc.h"
#include "core/parse.h"
#include "core/strutil.h"
#include "core/xalloc.h"

#define MAX_NODES 64
#define NPATHS 3

static const char *const paths[NPATHS] = {"/api/v1/status", "/api/v1/cluster", "/api/v1/queue"};

struct node {
	char url[160]; /* as given */
	char host[128];
	int port;
	json_t *doc[NPATHS];
	char error[200];
	int pending;
};

struct fetch {
	struct node *n;
	int which;
};

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
	      "    verdict's first reason; then which node holds the backlog.\n"
	      "    Read-only: it only reads the nodes' APIs.\n"
	      "    --json       one JSON document instead of the table\n"
	      "    --watch SECS redraw every SECS seconds (until Ctrl-C, or N times\n"
	      "                 with --count N)\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 every node answered and is healthy; 1 a node is not healthy or\n"
	      "    did not answer; 2 bad usage; 3 no node to ask.\n",
	      out);
}

static int parse_url(const char *u, struct node *n)
{
	const char *p = strncmp(u, "http://", 7) == 0 ? u + 7 : u;
	char hp[160];
	mm_strlcpy(hp, p, sizeof hp);
	char *slash = strchr(hp, '/');
	if (slash)
		*slash = '\0';
	struct mm_err err;
	if (mm_parse_hostport(hp, 9925, n->host, sizeof n->host, &n->port, &err) < 0 ||
	    !mm_is_numeric_ip(n->host))
		return -1;
	mm_strlcpy(n->url, u, sizeof n->url);
	return 0;
}

static void on_done(const struct mm_httpc_res *res, void *arg)
{
	struct fetch *f = arg;
	struct node *n = f->n;
	json_error_t jerr;
	if (res->error || res->status != 200) {
		if (!n->error[0])
			snprintf(n->error, sizeof n->error, "%s: %s", paths[f->which],
				 res->error ? res->error : "HTTP error");
	} else if (!(n->doc[f->which] = json_loadb(res->body, res->body_len, 0, &jerr))) {
		if (!n->error[0])
			snprintf(n->error, sizeof n->error, "%s: not JSON", paths[f->which]);
	}
	n->pending--;
	free(f);
}

/* All nodes, all paths, concurrently on one loop. */
static void fetch_all(struct node *nodes, size_t nn, const char *const *hdrs)
{
	struct event_base *base = event_base_new();
	for (size_t i = 0; i < nn; i++) {
		struct node *n = &nodes[i];
		for (int k = 0; k < NPATHS; k++) {
			json_decref(n->doc[k]);
			n->doc[k] = NULL;
		}
		n->error[0] = '\0';
		for (int k = 0; k < NPATHS; k++) {
			struct fetch *f = xcalloc(1, sizeof *f);
			f->n = n;
			f->which = k;
			struct mm_httpc_req req = {.host = n->host, .port = n->port, .path = paths[k],
						   .headers = hdrs, .timeout_ms = 3000,
						   .max_bytes = 4 << 20};
			struct mm_err err;
			if (!mm_httpc_start(base, &req, on_done, f, &err)) {
				mm_strlcpy(n->error, err.msg, sizeof n->error);
				free(f);
				continue;
			}
			n->pending++;
		}
	}
	event_base_dispatch(base);
	event_base_free(base);
}

static double qsize(const struct node *n, const char *q)
{
	json_t *t = json_object_get(json_object_get(n->doc[2], "trend"), q);
	return (double)json_integer_value(json_object_get(t, "messages"));
}

static double per_min(const struct node *n, const char *what)
{
	json_t *w = json_object_get(n->doc[1], "window");
	double ms = (double)json_integer_value(json_object_get(w, "window_ms"));
	double v = json_number_value(json_object_get(w, what));
	if (strcmp(what, "outflow") == 0)
		v = json_number_value(json_object_get(w, "attempts")) -
		    json_number_value(json_object_get(w, "deferred"));
	return ms > 0 ? v * 60000.0 / ms : 0;
}

static const char *state_of(const struct node *n)
{
	const char *s = json_string_value(
		json_object_get(json_object_get(n->doc[1], "verdict"), "state"));
	return n->error[0] ? "unreachable" : s ? s : "unknown";
}

/* The node with the largest backlog (incoming+active+deferred), and its
 * share of the whole; -1 when nothing is queued anywhere. */
static int holder(const struct node *nodes, size_t nn, double *held, double *total)
{
	int best = -1;
	*held = *total = 0;
	for (size_t i = 0; i < nn; i++) {
		if (nodes[i].error[0])
			continue;
		double b = qsize(&nodes[i], "incoming") + qsize(&nodes[i], "active") +
			   qsize(&nodes[i], "deferred");
		*total += b;
		if (b > *held) {
			*held = b;
			best = (int)i;
		}
	}
	return best;
}

static json_t *as_json(const struct node *nodes, size_t nn)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < nn; i++) {
		const struct node *n = &nodes[i];
		json_t *o = json_pack("{s:s, s:s}", "url", n->url, "state", state_of(n));
		if (n->error[0]) {
			json_object_set_new(o, "error", json_string(n->error));
		} else {
			json_t *name = json_object_get(n->doc[0], "node");
			json_object_set(o, "node", name ? name : json_null());
			json_object_set(o, "verdict", json_object_get(n->doc[1], "verdict"));
			json_object_set_new(o, "queues",
					    json_pack("{s:f, s:f, s:f}", "incoming",
						      qsize(n, "incoming"), "active", qsize(n, "active"),
						      "deferred", qsize(n, "deferred")));
			json_object_set_new(o, "inflow_per_min", json_real(per_min(n, "inflow")));
			json_object_set_new(o, "outflow_per_min", json_real(per_min(n, "outflow")));
		}
		json_array_append_new(arr, o);
	}
	double held, total;
	int h = holder(nodes, nn, &held, &total);
	return json_pack("{s:o, s:o, s:f, s:f}", "nodes", arr, "backlog_holder",
			 h >= 0 ? json_string(nodes[h].url) : json_null(), "backlog_held", held,
			 "backlog_total", total);
}

static void print_table(const struct node *nodes, size_t nn)
{
	printf("%-22s %-11s %9s %7s %9s %7s %7s  %s\n", "NODE", "VERDICT", "INCOMING", "ACTIVE",
	       "DEFERRED", "IN/MIN", "OUT/MIN", "WHY");
	for (size_t i = 0; i < nn; i++) {
		const struct node *n = &nodes[i];
		if (n->error[0]) {
			printf("%-22s %-11s %9s %7s %9s %7s %7s  %s\n", n->url, "unreachable", "-", "-",
			       "-", "-", "-", n->error);
			continue;
		}
		json_t *r = json_object_get(json_object_get(n->doc[1], "verdict"), "reasons");
		const char *why = json_string_value(json_array_get(r, 0));
		printf("%-22s %-11s %9.0f %7.0f %9.0f %7.0f %7.0f  %s\n", n->url, state_of(n),
		       qsize(n, "incoming"), qsize(n, "active"), qsize(n, "deferred"),
		       per_min(n, "inflow"), per_min(n, "outflow"), why ? why : "");
	}
	double held, total;
	int h = holder(nodes, nn, &held, &total);
	if (h < 0)
		printf("backlog: none queued\n");
	else
		printf("backlog: %s holds %.0f%% (%.0f of %.0f queued messages)\n", nodes[h].url,
		       total > 0 ? held * 100.0 / total : 0, held, total);
}

int cmd_cluster(struct mm_cli *cli, int argc, char **argv)
{
	int json = 0, rc = 3;
	long watch = 0, count = 0;
	struct node *nodes = xcalloc(MAX_NODES, sizeof *nodes);
	size_t nn = 0;
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
		} else {
			if (nn == MAX_NODES || parse_url(argv[i], &nodes[nn]) < 0) {
				fprintf(stderr, "mailmon cluster: %s: not http://HOST:PORT with a numeric "
						"address (at most %d nodes)\n",
					argv[i], MAX_NODES);
				rc = 2;
				goto out;
			}
			nn++;
		}
	}
	if (nn == 0) {
		conf = mm_cli_load_config(cli);
		const char *list = conf ? mm_config_get(conf, "cluster", "nodes") : NULL;
		char *copy = xstrdup(list ? list : "");
		for (char *save, *t = strtok_r(copy, ", ", &save); t && nn < MAX_NODES;
		     t = strtok_r(NULL, ", ", &save))
			if (parse_url(t, &nodes[nn]) == 0)
				nn++;
			else
				fprintf(stderr, "mailmon cluster: [cluster] nodes: %s: not HOST:PORT\n", t);
		free(copy);
		if (nn == 0) {
			fprintf(stderr, "mailmon cluster: no nodes: give URLs or set [cluster] nodes\n");
			goto out;
		}
	}
	signal(SIGPIPE, SIG_IGN); /* httpc: evhttp writes without MSG_NOSIGNAL */
	for (long round = 0;; round++) {
		fetch_all(nodes, nn, mm_cli_api_headers(cli));
		rc = 0;
		for (size_t i = 0; i < nn; i++)
			if (strcmp(state_of(&nodes[i]), "healthy") != 0)
				rc = 1;
		if (json) {
			json_t *doc = as_json(nodes, nn);
			char *text = json_dumps(doc, JSON_INDENT(2));
			puts(text);
			free(text);
			json_decref(doc);
		} else {
			if (watch) {
				time_t now = time(NULL);
				struct tm tm;
				char when[32];
				strftime(when, sizeof when, "%H:%M:%S", localtime_r(&now, &tm));
				printf("%s--- %s ---\n", round ? "\n" : "", when);
			}
			print_table(nodes, nn);
		}
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
	for (size_t i = 0; i < nn; i++)
		for (int k = 0; k < NPATHS; k++)
			json_decref(nodes[i].doc[k]);
	free(nodes);
	mm_config_free(conf);
	return rc;
}

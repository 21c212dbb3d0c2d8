/*
 * cmd_isolate: `mailmon isolate` — list, isolate and release flooded
 * destinations through the running mailmond's /api/isolate (the daemon
 * does the work: daemon/isolate.c). A change is queued by a POST and its
 * result read back from GET /api/isolate "results" by id.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/api_client.h"
#include "cli/cli.h"
#include "core/xalloc.h"

#define PROG "mailmon isolate"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon isolate - list, isolate and release flooded destinations\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon [-c FILE] isolate [--list] [--json] [--api HOST:PORT]\n"
	      "    mailmon [-c FILE] isolate [--api HOST:PORT] [--wait SECS] DEST\n"
	      "    mailmon [-c FILE] isolate --release [--api HOST:PORT] [--wait SECS] DEST\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    Isolation ([isolate] enable = yes) routes a destination's mail to a\n"
	      "    slow transport of its own (low concurrency, short greeting wait),\n"
	      "    so the rest of the queue keeps flowing. mailmond does it with one\n"
	      "    transport map it owns (STATE_DIRECTORY/isolate/transport) and\n"
	      "    postmap, without postfix reload (a reload restarts the queue\n"
	      "    manager and delays other mail behind the flood): new mail takes\n"
	      "    the slow route once trivial-rewrite notices the changed map and\n"
	      "    restarts (seconds on a busy node), deferred mail at its next retry.\n"
	      "    A release runs postmap and postfix reload, then moves the\n"
	      "    destination's deferred mail back with postqueue -i per message (at\n"
	      "    most 2,000), so its backlog goes out at once. It isolates a\n"
	      "    flooded destination by itself ([isolate] auto) and releases it\n"
	      "    after release_after without failures; this command does the same\n"
	      "    by hand. A manual isolation stays until --release.\n"
	      "\n"
	      "    Before isolating, mailmond checks that the map is listed first in\n"
	      "    main.cf transport_maps and that master.cf defines [isolate]\n"
	      "    transport; otherwise it refuses and names what is missing (the\n"
	      "    lines to add are in docs/cluster.md, \"Isolation\").\n"
	      "\n"
	      "    --list       (the default without DEST) the isolated destinations:\n"
	      "                 reason (flood class or manual), mode, since when, the\n"
	      "                 nexthop kept, and since when it has not been failing;\n"
	      "                 whether trivial-rewrite picked up the map of the last\n"
	      "                 isolation (waiting, picked up, reload: mailmond ran\n"
	      "                 postfix reload after [isolate] rewrite_wait, and why);\n"
	      "                 then pending changes and the last results\n"
	      "    --json       the list as mailmond's JSON (/api/isolate)\n"
	      "    DEST         isolate this domain (lower-cased)\n"
	      "    --release    release DEST: its mail goes back to its usual route\n"
	      "    --wait SECS  wait at most this long for the change (default 60)\n"
	      "    --api H:P    mailmond's API (default: [http] listen of the config)\n"
	      "\n"
	      "    It talks to mailmond only, with the token of [http] auth_file when\n"
	      "    one is set, and sends the header X-Mailmon-Request that mailmond\n"
	      "    asks of every POST.\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 done (or listed); 1 mailmond refused or the change failed (the\n"
	      "    message says why); 2 bad usage; 3 mailmond did not answer, or\n"
	      "    isolation is off.\n",
	      out);
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void when(json_int_t t, char *buf, size_t cap)
{
	if (t <= 0) {
		snprintf(buf, cap, "-");
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

static void print_list(json_t *doc)
{
	json_t *list = json_object_get(doc, "isolated");
	printf("transport %s, map %s, auto %s, at most %lld, release after %lld s\n",
	       str(doc, "transport"), str(doc, "map"),
	       json_is_true(json_object_get(doc, "auto")) ? "on" : "off",
	       (long long)json_integer_value(json_object_get(doc, "max_destinations")),
	       (long long)json_integer_value(json_object_get(doc, "release_after_ms")) / 1000);
	if (json_is_true(json_object_get(doc, "setup_missing")))
		printf("setup missing: the last isolation was refused (see the results below)\n");
	if (json_array_size(list) == 0) {
		printf("no destination isolated\n");
	} else {
		printf("%-30s %-10s %-6s %-19s %-24s %s\n", "DESTINATION", "REASON", "MODE", "SINCE",
		       "NEXTHOP", "NOT FAILING SINCE");
		size_t i;
		json_t *e;
		json_array_foreach(list, i, e)
		{
			char since[32], quiet[32];
			when(json_integer_value(json_object_get(e, "since")), since, sizeof since);
			when(json_integer_value(json_object_get(e, "quiet_since")), quiet,
			     sizeof quiet);
			const char *nh = str(e, "nexthop");
			printf("%-30s %-10s %-6s %-19s %-24s %s\n", str(e, "destination"),
			       str(e, "reason"), str(e, "mode"), since, *nh ? nh : "(default)", quiet);
		}
	}
	json_t *rw = json_object_get(doc, "rewrite");
	if (json_is_object(rw) && *str(rw, "state")) {
		char at[32];
		when(json_integer_value(json_object_get(rw, "at")), at, sizeof at);
		printf("map pickup (%s): %s: %s\n", at, str(rw, "state"), str(rw, "detail"));
	}
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(doc, "pending"), i, p)
	printf("pending: %s %s%s\n", str(p, "op"), str(p, "destination"),
	       json_is_true(json_object_get(p, "running")) ? " (running)" : "");
	json_array_foreach(json_object_get(doc, "results"), i, p)
	{
		char at[32];
		when(json_integer_value(json_object_get(p, "at")), at, sizeof at);
		printf("%s %s: %s\n", at, json_is_true(json_object_get(p, "ok")) ? "ok" : "FAILED",
		       str(p, "text"));
	}
}

/* The result of change id, polled until it appears or wait_s passes:
 * 0 ok, 1 failed, 3 no answer. */
static int await(struct mm_cli *cli, const char *api, json_int_t id, long wait_s)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int http = 0;
		json_t *doc = mm_cli_api_get(cli, api, "/api/isolate", PROG, &http);
		if (!doc)
			return 3;
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(doc, "results"), i, r)
		{
			if (json_integer_value(json_object_get(r, "id")) != id)
				continue;
			bool ok = json_is_true(json_object_get(r, "ok"));
			fprintf(ok ? stdout : stderr, "%s%s\n", ok ? "" : PROG ": ",
				str(r, "text"));
			json_decref(doc);
			return ok ? 0 : 1;
		}
		json_decref(doc);
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= wait_s) {
			fprintf(stderr, PROG ": no result after %ld s; see mailmon isolate --list\n",
				wait_s);
			return 1;
		}
		usleep(300 * 1000);
	}
}

int cmd_isolate(struct mm_cli *cli, int argc, char **argv)
{
	const char *api = NULL, *dest = NULL;
	int release = 0, json = 0, list = 0;
	long wait_s = 60;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--list") == 0) {
			list = 1;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--release") == 0) {
			release = 1;
		} else if (strcmp(argv[i], "--api") == 0 && i + 1 < argc) {
			api = argv[++i];
		} else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
			char *end;
			wait_s = strtol(argv[++i], &end, 10);
			if (*end || wait_s < 0 || wait_s > 3600)
				goto bad;
		} else if (argv[i][0] == '-' || dest) {
			goto bad;
		} else {
			dest = argv[i];
		}
	}
	if ((list || json) && (dest || release))
		goto bad;
	if (release && !dest)
		goto bad;
	int http = 0;
	if (!dest) {
		json_t *doc = mm_cli_api_get(cli, api, "/api/isolate", PROG, &http);
		if (!doc)
			return 3;
		int rc = 0;
		if (http == 404 || json_is_null(doc)) {
			fprintf(stderr, PROG ": isolation is off in mailmond ([isolate] enable = no)\n");
			rc = 3;
		} else if (json) {
			char *s = json_dumps(doc, JSON_INDENT(2));
			puts(s);
			free(s);
		} else {
			print_list(doc);
		}
		json_decref(doc);
		return rc;
	}
	char *q = mm_cli_query_escape(dest);
	char *path = xasprintf("/api/isolate?destination=%s%s", q, release ? "&release=1" : "");
	free(q);
	json_t *doc = mm_cli_api_post(cli, api, path, PROG, &http);
	free(path);
	if (!doc)
		return 3;
	int rc;
	if (http == 404) {
		fprintf(stderr, PROG ": isolation is off in mailmond ([isolate] enable = no)\n");
		rc = 3;
	} else if (http != 202) {
		fprintf(stderr, PROG ": mailmond refused (HTTP %d): %s\n", http, str(doc, "error"));
		rc = 1;
	} else {
		rc = await(cli, api, json_integer_value(json_object_get(doc, "id")), wait_s);
	}
	json_decref(doc);
	return rc;
bad:
	usage(stderr);
	return 2;
}

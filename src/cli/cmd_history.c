/*
 * mailmon history: the running mailmond's metric history for one series
 * selector, from GET /api/v1/history, as a table (plus a sparkline on a
 * terminal) or the API's JSON.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/api_client.h"
#include "cli/cli.h"
#include "core/parse.h"
#include "core/xalloc.h"

#define SPARK_MAX 72

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon history - past values of a metric, from mailmond's history\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon [-c FILE] history SELECTOR [--since DURATION] [--step DURATION]\n"
	      "                      [--json] [--api HOST:PORT]\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    SELECTOR names registry series as in PromQL, for example\n"
	      "    'mailmon_queue_messages{queue=\"deferred\"}' (=, !=, =~, !~).\n"
	      "    mailmond samples every series every 10 s and keeps 10 s data for\n"
	      "    2 days, 1 min buckets for 30 days and 1 h buckets for 2 years.\n"
	      "    For each matching series one row per step: the bucket's start,\n"
	      "    min, avg, max and last value, and for counters the rate per\n"
	      "    second since the previous row. On a terminal a sparkline of the\n"
	      "    average (counters: the rate) follows each table.\n"
	      "\n"
	      "    --since D   how far back (default 1h; 30d, 2w, ...)\n"
	      "    --step D    bucket size (default: about 500 rows); raised to the\n"
	      "                resolution kept for that age\n"
	      "    --json      print the API's answer unchanged (docs/api.md)\n"
	      "    --api A     ask mailmond at HOST:PORT instead of [http] listen\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 series found; 1 no series matches; 2 bad usage; 3 no answer.\n",
	      out);
}

static void fmt_num(json_t *v, char *buf, size_t cap)
{
	double x = json_number_value(v);
	if (!json_is_number(v))
		snprintf(buf, cap, "-");
	else if (x == floor(x) && fabs(x) < 1e12) /* counts, bytes: every digit */
		snprintf(buf, cap, "%.0f", x);
	else
		snprintf(buf, cap, "%.6g", x);
}

/* Bars from the lowest to the highest finite value of vals. */
static void sparkline(const double *vals, size_t n)
{
	static const char *const bars[] = {"\u2581", "\u2582", "\u2583", "\u2584",
					   "\u2585", "\u2586", "\u2587", "\u2588"};
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n; i++)
		if (isfinite(vals[i])) {
			lo = vals[i] < lo ? vals[i] : lo;
			hi = vals[i] > hi ? vals[i] : hi;
		}
	if (!isfinite(lo))
		return;
	fputs("  ", stdout);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(vals[i])) {
			fputs(" ", stdout);
			continue;
		}
		int k = hi > lo ? (int)((vals[i] - lo) / (hi - lo) * 7.0 + 0.5) : 0;
		fputs(bars[k], stdout);
	}
	printf("  %.6g .. %.6g\n", lo, hi);
}

static void print_series(json_t *s, json_int_t step, json_int_t res, bool tty)
{
	bool counter = strcmp(json_string_value(json_object_get(s, "type")), "counter") == 0;
	json_t *pts = json_object_get(s, "points");
	printf("%s  (%s, step %llds, resolution %llds)\n", json_string_value(json_object_get(s, "key")),
	       counter ? "counter" : "gauge", (long long)step, (long long)res);
	printf("%-19s %12s %12s %12s %12s%s\n", "TIME", "MIN", "AVG", "MAX", "LAST",
	       counter ? "       RATE/s" : "");
	size_t n = json_array_size(pts), i;
	double *spark = xcalloc(n ? n : 1, sizeof *spark);
	json_t *p;
	json_array_foreach(pts, i, p)
	{
		time_t t = (time_t)json_integer_value(json_object_get(p, "t"));
		struct tm tm;
		char when[32], mn[32], avg[32], mx[32], last[32], rate[32];
		localtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
		fmt_num(json_object_get(p, "min"), mn, sizeof mn);
		fmt_num(json_object_get(p, "avg"), avg, sizeof avg);
		fmt_num(json_object_get(p, "max"), mx, sizeof mx);
		fmt_num(json_object_get(p, "last"), last, sizeof last);
		fmt_num(json_object_get(p, "rate"), rate, sizeof rate);
		printf("%-19s %12s %12s %12s %12s", when, mn, avg, mx, last);
		if (counter)
			printf(" %12s", rate);
		putchar('\n');
		json_t *v = json_object_get(p, counter ? "rate" : "avg");
		spark[i] = json_is_number(v) ? json_number_value(v) : NAN;
	}
	if (tty && n > 1)
		sparkline(spark + (n > SPARK_MAX ? n - SPARK_MAX : 0), n > SPARK_MAX ? SPARK_MAX : n);
	free(spark);
	if (json_is_true(json_object_get(s, "truncated")))
		printf("(cut at %zu rows: give a larger --step)\n", n);
}

int cmd_history(struct mm_cli *cli, int argc, char **argv)
{
	const char *sel = NULL, *since = "1h", *step = NULL, *api = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
			since = argv[++i];
		else if (strcmp(argv[i], "--step") == 0 && i + 1 < argc)
			step = argv[++i];
		else if (strcmp(argv[i], "--api") == 0 && i + 1 < argc)
			api = argv[++i];
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] != '-' && !sel)
			sel = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	int64_t ms;
	struct mm_err err;
	if (!sel) {
		usage(stderr);
		return 2;
	}
	if (mm_parse_duration(since, &ms, &err) < 0 ||
	    (step && mm_parse_duration(step, &ms, &err) < 0)) {
		fprintf(stderr, "mailmon history: %s\n", err.msg);
		return 2;
	}
	char *esel = mm_cli_query_escape(sel);
	char *path = xasprintf("/api/v1/history?metric=%s&from=now-%s&to=now%s%s", esel, since,
			       step ? "&step=" : "", step ? step : "");
	free(esel);
	int http = 0;
	json_t *doc = mm_cli_api_get(cli, api, path, "mailmon history", &http);
	free(path);
	if (!doc)
		return 3;
	int rc = 0;
	if (http != 200) {
		const char *msg = json_string_value(json_object_get(doc, "error"));
		fprintf(stderr, "mailmon history: %s\n", msg ? msg : "unexpected answer");
		rc = http == 400 ? 2 : 3;
	} else if (json) {
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
		puts(text);
		free(text);
		rc = json_array_size(json_object_get(doc, "series")) ? 0 : 1;
	} else {
		json_t *series = json_object_get(doc, "series");
		json_int_t st = json_integer_value(json_object_get(doc, "step"));
		json_int_t res = json_integer_value(json_object_get(doc, "resolution"));
		size_t i;
		json_t *s;
		json_array_foreach(series, i, s)
		{
			if (i)
				putchar('\n');
			print_series(s, st, res, isatty(STDOUT_FILENO));
		}
		if (!json_array_size(series)) {
			fprintf(stderr, "mailmon history: no series matches %s in the last %s\n",
				sel, since);
			rc = 1;
		}
		if (json_is_true(json_object_get(doc, "truncated")))
			printf("(more series match: narrow the selector)\n");
	}
	json_decref(doc);
	return rc;
}

/*
 * mailmon status: what the running mailmond says about itself, read from
 * its JSON API (GET /api/status at [http] listen).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/api_client.h"
#include "cli/cli.h"
#include "cluster/eta.h"
#include "core/config.h"
#include "core/httpget.h"
#include "core/parse.h"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon status - state of the running mailmond\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon [-c FILE] status [--json] [--api HOST:PORT]\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    Asks mailmond's API (from [http] listen in the config, or --api)\n"
	      "    and prints the node verdict first (healthy, degraded, stalled or\n"
	      "    down, with its reasons and since when; see [cluster]) and the\n"
	      "    verdict of each Postfix instance of an [instance.NAME] section\n"
	      "    (\"instance NAME: ...\"), then its\n"
	      "    queues in words (backlog, net drain rate, time to empty: \"deferred:\n"
	      "    backlog of 2,140 messages, draining at 85/min, clear in about 25\n"
	      "    min\" or \"not draining\"), the isolated destinations when\n"
	      "    [isolate] is on (mailmon isolate), then its\n"
	      "    uptime, config, last reload (and each daemon module's\n"
	      "    part in it: applied, refused with the reason, or keys that need a\n"
	      "    restart) and periodic jobs, then each watched service\n"
	      "    ([service.NAME]): its state (up, slow, down,\n"
	      "    restarting, verifying, failed = flap limit reached, left for a\n"
	      "    human), last response time, last failure and the restarts within\n"
	      "    its flap window (see /api/services for everything), and at the\n"
	      "    end the baseline ([baseline]): per figure (queue, inflow,\n"
	      "    deferral) its value now, the range expected for this hour of the\n"
	      "    week and which fallback slot it comes from, and DEPARTED when it\n"
	      "    is outside.\n"
	      "    --json prints the API's /api/status answer unchanged.\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 the daemon answered; 1 the last reload failed, or a service is\n"
	      "    down or failed; 3 no answer.\n",
	      out);
}

/* One verdict object as "LABEL: stalled (reason; reason) since ...". */
static void print_one_verdict(const char *label, json_t *v)
{
	const char *line = json_string_value(json_object_get(v, "line"));
	if (!line)
		return;
	time_t since = (time_t)json_integer_value(json_object_get(v, "since"));
	struct tm tm;
	char when[32] = "";
	if (since > 0 && localtime_r(&since, &tm))
		strftime(when, sizeof when, " since %Y-%m-%d %H:%M:%S", &tm);
	printf("%s: %s%s\n", label, line, when);
}

/* The node verdict first, the way an operator reads it:
 * "verdict: stalled (reason; reason) since 14:02:10"; then one line per
 * [instance.NAME]: "instance postfix-out: healthy (...)". */
static void print_verdict(json_t *doc)
{
	print_one_verdict("verdict", json_object_get(doc, "verdict"));
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(doc, "instance_verdicts"), i, e) {
		char label[128];
		snprintf(label, sizeof label, "instance %s",
			 json_string_value(json_object_get(e, "instance")));
		print_one_verdict(label, e);
	}
}

/* With [isolate] on: "isolated: dead.test (refused, auto), ..." and a
 * refused setup, from /api/status "isolation". */
static void print_isolation(json_t *doc)
{
	json_t *iso = json_object_get(doc, "isolation");
	if (!json_is_object(iso))
		return;
	json_t *list = json_object_get(iso, "isolated");
	printf("isolated: ");
	if (json_array_size(list) == 0)
		printf("none");
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	printf("%s%s (%s, %s)", i ? ", " : "",
	       json_string_value(json_object_get(e, "destination")),
	       json_string_value(json_object_get(e, "reason")),
	       json_string_value(json_object_get(e, "mode")));
	printf(" [transport %s]%s\n", json_string_value(json_object_get(iso, "transport")),
	       json_is_true(json_object_get(iso, "setup_missing"))
		       ? "; setup missing: see mailmon isolate --list"
		       : "");
}

static void print_status(json_t *doc)
{
	print_verdict(doc);
	print_isolation(doc);
	json_t *reload = json_object_get(doc, "reload");
	json_int_t up = json_integer_value(json_object_get(doc, "uptime_ms")) / 1000;
	printf("mailmond %s, pid %lld, up %lldd %02lld:%02lld:%02lld\n",
	       json_string_value(json_object_get(doc, "version")),
	       (long long)json_integer_value(json_object_get(doc, "pid")), (long long)up / 86400,
	       (long long)(up / 3600) % 24, (long long)(up / 60) % 60, (long long)up % 60);
	const char *conf = json_string_value(json_object_get(doc, "config"));
	printf("config:  %s\n", conf ? conf : "(built-in defaults)");
	json_t *priv = json_object_get(doc, "privileges");
	json_t *p0 = json_array_get(json_object_get(priv, "processes"), 0);
	const char *user = json_string_value(json_object_get(p0, "user"));
	if (p0)
		printf("privileges: pid %lld runs as uid %lld (%s): %s; %s\n",
		       (long long)json_integer_value(json_object_get(doc, "pid")),
		       (long long)json_integer_value(json_object_get(p0, "euid")),
		       user ? user : "?", json_string_value(json_object_get(p0, "role")),
		       json_string_value(json_object_get(priv, "note")));
	/* The root helpers of a separated mailmond, one line each. */
	for (size_t i = 1; i < json_array_size(json_object_get(priv, "processes")); i++) {
		json_t *p = json_array_get(json_object_get(priv, "processes"), i);
		const char *pu = json_string_value(json_object_get(p, "user"));
		printf("  %s: pid %lld, %s%s, %lld requests: %s\n",
		       json_string_value(json_object_get(p, "name")),
		       (long long)json_integer_value(json_object_get(p, "pid")), pu ? pu : "?",
		       json_is_false(json_object_get(p, "alive")) ? " (GONE)" : "",
		       (long long)json_integer_value(json_object_get(p, "requests")),
		       json_string_value(json_object_get(p, "role")));
	}
	if (json_integer_value(json_object_get(reload, "count")) > 0)
		printf("reload:  %s (%s; %lld reloads, %lld failed)\n",
		       json_is_true(json_object_get(reload, "ok")) ? "ok" : "FAILED",
		       json_string_value(json_object_get(reload, "message")),
		       (long long)json_integer_value(json_object_get(reload, "count")),
		       (long long)json_integer_value(json_object_get(reload, "failures")));
	else
		printf("reload:  none since start\n");
	/* Each module's part in the last reload: applied, refused (why), or
	 * waiting for a restart for some keys. */
	json_t *mods = json_object_get(reload, "modules");
	if (json_integer_value(json_object_get(reload, "count")) > 0 && json_array_size(mods)) {
		size_t i;
		json_t *m;
		json_array_foreach(mods, i, m)
		printf("  %-10s %s\n", json_string_value(json_object_get(m, "name")),
		       json_string_value(json_object_get(m, "message")));
	}
	json_t *jobs = json_object_get(doc, "jobs");
	if (json_array_size(jobs)) {
		printf("\n%-24s %10s %10s %12s\n", "JOB", "PERIOD", "RUNS", "MAX LAG");
		size_t i;
		json_t *j;
		json_array_foreach(jobs, i, j)
		{
			char period[32];
			mm_format_duration(json_integer_value(json_object_get(j, "period_ms")),
					   period, sizeof period);
			printf("%-24s %10s %10lld %10lldms\n",
			       json_string_value(json_object_get(j, "name")), period,
			       (long long)json_integer_value(json_object_get(j, "runs")),
			       (long long)json_integer_value(json_object_get(j, "max_lag_ms")));
		}
	}
}

/* A JSON document from mailmond at path, or NULL when it does not answer
 * 200 with JSON (the section that needs it is then left out). */
static json_t *get_json(const char *host, int port, const char *const *hdrs, const char *path,
			size_t cap)
{
	int status;
	char *body = NULL;
	struct mm_err err;
	json_error_t jerr;
	json_t *doc = NULL;
	if (mm_http_get(host, port, path, hdrs, 5000, cap, &status, &body, &err) == 0 &&
	    status == 200)
		doc = json_loads(body, 0, &jerr);
	free(body);
	return doc;
}

/* The services table from /api/services; returns how many are not up
 * (down, failed, restarting), or -1 when the daemon has no such endpoint. */
static int print_services(const char *host, int port, const char *const *hdrs)
{
	json_t *doc = get_json(host, port, hdrs, "/api/services", 8 << 20);
	if (!doc)
		return -1;
	json_t *svcs = json_object_get(doc, "services");
	int bad = 0;
	if (json_array_size(svcs)) {
		printf("\n%-16s %-10s %10s %9s  %s\n", "SERVICE", "STATE", "RESPONSE", "RESTARTS",
		       "LAST FAILURE");
		size_t i;
		json_t *s;
		json_array_foreach(svcs, i, s)
		{
			const char *state = json_string_value(json_object_get(s, "state"));
			json_t *last = json_object_get(s, "last");
			json_t *lf = json_object_get(s, "last_failure");
			char resp[32] = "-", restarts[32], when[64] = "";
			if (last)
				snprintf(resp, sizeof resp, "%.1fms",
					 json_real_value(json_object_get(last, "response_ms")));
			snprintf(restarts, sizeof restarts, "%lld/%lld",
				 (long long)json_integer_value(json_object_get(s, "restarts_in_window")),
				 (long long)json_integer_value(json_object_get(s, "flap_limit")));
			if (lf) {
				time_t t = (time_t)(json_integer_value(json_object_get(lf, "at_ms")) / 1000);
				struct tm tm;
				localtime_r(&t, &tm);
				strftime(when, sizeof when, "%H:%M:%S ", &tm);
			}
			printf("%-16s %-10s %10s %9s  %s%s\n",
			       json_string_value(json_object_get(s, "name")), state ? state : "?", resp,
			       restarts, when,
			       lf ? json_string_value(json_object_get(lf, "message")) : "-");
			if (state && (strcmp(state, "down") == 0 || strcmp(state, "failed") == 0 ||
				      strcmp(state, "restarting") == 0))
				bad++;
		}
	}
	json_decref(doc);
	return bad;
}

/* The queues in words, after the verdict: backlog, net drain rate and
 * the time to empty (cluster/eta.h), from /api/v1/queue "trend". Quiet
 * when the queue is not watched or mailmond has no scan yet. */
static void print_drain(const char *host, int port, const char *const *hdrs)
{
	json_t *q = get_json(host, port, hdrs, "/api/v1/queue", 4 << 20);
	if (!q)
		return;
	json_t *trend = json_object_get(q, "trend");
	static const char *const queues[] = {"incoming", "active", "deferred"};
	for (size_t i = 0; trend && i < sizeof queues / sizeof queues[0]; i++) {
		json_t *t = json_object_get(trend, queues[i]);
		if (!t)
			continue;
		json_t *g = json_object_get(t, "growth_per_min");
		char line[256];
		mm_eta_words(queues[i], (double)json_integer_value(json_object_get(t, "messages")),
			     json_number_value(g), json_is_number(g), line, sizeof line);
		printf("%s%s\n", i == 0 ? "queues:  " : "         ", line);
	}
	json_decref(q);
}

/* The baseline (/api/v1/baseline), one line per figure: its value now,
 * the range expected for this hour and which fallback slot it comes
 * from. Quiet when the baseline is off. */
static void print_baseline(const char *host, int port, const char *const *hdrs)
{
	json_t *doc = get_json(host, port, hdrs, "/api/v1/baseline", 1 << 20);
	if (!doc)
		return;
	if (!json_is_true(json_object_get(doc, "history"))) {
		printf("\nbaseline: none (it needs the history: [history] enable)\n");
		json_decref(doc);
		return;
	}
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(doc, "metrics"), i, m)
	{
		const char *kind = json_string_value(json_object_get(m, "kind"));
		const char *state = json_string_value(json_object_get(m, "state"));
		const char *unit = json_string_value(json_object_get(m, "unit"));
		json_t *cur = json_object_get(m, "current");
		char now[64], range[256];
		if (json_is_number(cur))
			snprintf(now, sizeof now, "%.4g %s", json_number_value(cur), unit);
		else
			snprintf(now, sizeof now, "not measured yet");
		if (json_is_number(json_object_get(m, "low")))
			snprintf(range, sizeof range,
				 "expected %.4g to %.4g %s (median %.4g; slot %s, %s; %lld points "
				 "of %.1f days)",
				 json_number_value(json_object_get(m, "low")),
				 json_number_value(json_object_get(m, "high")), unit,
				 json_number_value(json_object_get(m, "median")), kind,
				 json_string_value(json_object_get(m, "slot")),
				 (long long)json_integer_value(json_object_get(m, "points")),
				 json_number_value(json_object_get(m, "history_days")));
		else
			snprintf(range, sizeof range,
				 "no baseline yet (%.1f days of history; 6 hours needed)",
				 json_number_value(json_object_get(m, "history_days")));
		bool out = state && (strcmp(state, "above") == 0 || strcmp(state, "below") == 0);
		printf("%s%s: now %s, %s%s%s\n", i == 0 ? "\nbaseline: " : "          ",
		       json_string_value(json_object_get(m, "metric")), now, range,
		       out ? ": DEPARTED " : "", out ? state : "");
	}
	json_t *e = json_object_get(doc, "error");
	if (json_is_string(e))
		printf("          (history not readable: %s)\n", json_string_value(e));
	json_decref(doc);
}

/* The watched partitions (/api/v1/disk): use and the partition lock.
 * Returns how many are locked. */
static int print_disks(const char *host, int port, const char *const *hdrs)
{
	int locked = 0;
	json_t *doc = get_json(host, port, hdrs, "/api/v1/disk", 1 << 20);
	if (!doc)
		return 0;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(doc, "diskusage"), i, p)
	{
		json_t *pct = json_object_get(p, "percentAvail");
		bool lk = json_is_true(json_object_get(p, "locked"));
		locked += lk;
		char use[64];
		if (json_is_number(pct))
			snprintf(use, sizeof use, "%.1f%% available", json_number_value(pct));
		else
			snprintf(use, sizeof use, "not measured yet");
		json_int_t to = json_integer_value(json_object_get(p, "statTimeouts"));
		printf("%s%s: %s%s", i == 0 ? "\ndisks:   " : "         ",
		       json_string_value(json_object_get(p, "mailPartitionPath")), use,
		       lk ? ", LOCKED (deliveries held by [disk] lock_command)" : "");
		if (to)
			printf(", %lld stat timeouts", (long long)to);
		putchar('\n');
	}
	json_decref(doc);
	return locked;
}

/* One line on the metric history (/api/v1/history/status), if kept:
 * state, size against its bound, and any recovery of a damaged file. */
static void print_history(const char *host, int port, const char *const *hdrs)
{
	json_t *h = get_json(host, port, hdrs, "/api/v1/history/status", 1 << 20);
	if (!h)
		return;
	json_int_t rec = json_integer_value(json_object_get(h, "recoveries"));
	printf("\nhistory: %s, %.1f MB of %.0f MB, %lld series",
	       json_string_value(json_object_get(h, "state")),
	       (double)json_integer_value(json_object_get(h, "size_bytes")) / 1e6,
	       (double)json_integer_value(json_object_get(h, "max_bytes")) / 1e6,
	       (long long)json_integer_value(json_object_get(h, "series")));
	if (rec)
		printf("; DAMAGED FILE RECREATED %lld time(s), last moved to %s (%s)", (long long)rec,
		       json_string_value(json_object_get(h, "last_moved_to")),
		       json_string_value(json_object_get(h, "last_error")));
	putchar('\n');
	json_decref(h);
}

/* Log sources that are not being read (missing, or turned into a FIFO,
 * a directory or a device), from /api/logs. Returns how many. */
static int print_log_problems(const char *host, int port, const char *const *hdrs)
{
	int bad = 0;
	json_t *doc = get_json(host, port, hdrs, "/api/logs", 8 << 20);
	if (!doc)
		return 0;
	size_t i;
	json_t *src;
	json_array_foreach (json_object_get(doc, "sources"), i, src) {
		const char *state = json_string_value(json_object_get(src, "state"));
		if (!state || strcmp(state, "reading") == 0 ||
		    strcmp(state, "finishing rotated file") == 0)
			continue;
		if (!bad++)
			printf("\nlog sources not being read:\n");
		printf("  %s: %s\n", json_string_value(json_object_get(src, "name")), state);
	}
	json_decref(doc);
	return bad;
}

int cmd_status(struct mm_cli *cli, int argc, char **argv)
{
	int json = 0;
	const char *api = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--api") == 0 && i + 1 < argc)
			api = argv[++i];
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	struct mm_config *conf;
	char host[128];
	int port, status, rc = 3;
	char *body = NULL;
	struct mm_err err;
	json_error_t jerr;
	json_t *doc = NULL;
	if (mm_cli_api_addr(cli, &api, &conf, host, sizeof host, &port, "mailmon status") < 0)
		goto out;
	if (mm_http_get(host, port, "/api/status", mm_cli_api_headers(cli), 5000, 1 << 20, &status, &body, &err) < 0) {
		fprintf(stderr, "mailmon status: mailmond is not answering at %s: %s\n", api,
			err.msg);
		goto out;
	}
	if (status != 200 || !(doc = json_loads(body, 0, &jerr))) {
		fprintf(stderr, "mailmon status: %s: unexpected answer (HTTP %d)\n", api, status);
		goto out;
	}
	int bad_services = 0;
	if (json) {
		fputs(body, stdout);
	} else {
		print_status(doc);
		print_drain(host, port, mm_cli_api_headers(cli));
		bad_services = print_services(host, port, mm_cli_api_headers(cli));
		print_log_problems(host, port, mm_cli_api_headers(cli));
		print_disks(host, port, mm_cli_api_headers(cli));
		print_history(host, port, mm_cli_api_headers(cli));
		print_baseline(host, port, mm_cli_api_headers(cli));
	}
	json_t *reload = json_object_get(doc, "reload");
	rc = (json_integer_value(json_object_get(reload, "count")) > 0 &&
	      !json_is_true(json_object_get(reload, "ok"))) ||
			     bad_services > 0
		     ? 1
		     : 0;
out:
	json_decref(doc);
	free(body);
	mm_config_free(conf);
	return rc;
}

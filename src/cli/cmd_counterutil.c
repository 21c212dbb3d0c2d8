/*
 * mailmon counterutil: the seed's counterutil (Messaging Server 27.8.3)
 * over the running mailmond's /api/counterutil: the same object and field
 * names, printed once or every -i seconds -n times.
 *
 * Values come from the daemon (probes, process checks, and the log
 * parsers when wired); a field with no source yet prints as
 * "(not yet wired)" rather than a made-up zero.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/api_client.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/httpget.h"
#include "core/parse.h"

static const struct {
	const char *name, *what;
} objects[] = {
	{"imapstat", "IMAP service: start time, connections, logins"},
	{"popstat", "POP3 service: start time, connections, logins"},
	{"httpstat", "HTTP (webmail) service: start time, connections, logins"},
	{"smtpstat", "SMTP service: start time, connections"},
	{"serverresponse", "response time and time of the last check, per service"},
	{"diskusage", "per watched partition: availSpace, totalSpace (KiB), percentAvail, lastStatTime"},
	{"alarm", "per alarm instance: the seed's alarm counters (from /api/alarms)"},
	{"e2e", "end-to-end delivery probes ([e2e.NAME]): last times, runs, late, lost"},
};

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon counterutil - the seed's counterutil objects from mailmond\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon counterutil -l\n"
	      "    mailmon counterutil -o OBJECT [-i SECS] [-n COUNT] [--json]\n"
	      "                        [--api HOST:PORT]\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    Reads the running mailmond's counters (GET /api/counterutil at\n"
	      "    [http] listen, or --api) and prints OBJECT's fields under the\n"
	      "    names Messaging Server's counterutil uses, e.g.\n"
	      "    global.numCurrentConnections. Login and connection totals come\n"
	      "    from the mail logs mailmond follows. Fields with no source (no\n"
	      "    such log, SMTP AUTH logins) print as \"(not yet wired)\"\n"
	      "    (--json: null). The alarm object (GET /api/alarms) prints, per\n"
	      "    alarm instance, ALARM.INSTANCE.countoverthreshold, countwarningsent,\n"
	      "    current, high, low, timelastset, timelastwarning, timereset,\n"
	      "    timestatechanged and warningstate. The diskusage object (GET\n"
	      "    /api/disk) prints, per watched partition, PATH.mailPartitionPath,\n"
	      "    availSpace and totalSpace (KiB), percentAvail and lastStatTime.\n"
	      "\n"
	      "    -l          list the objects\n"
	      "    -o OBJECT   the object to print\n"
	      "    -i SECS     print every SECS seconds (default: once; with -n, 5)\n"
	      "    -n COUNT    print COUNT times (default 1; with -i alone: until\n"
	      "                interrupted)\n"
	      "    --json      print the object as JSON, one document per sample\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 printed; 1 no such object; 2 bad usage; 3 mailmond not answering.\n",
	      out);
}

static void print_value(const char *name, json_t *v)
{
	if (json_is_null(v))
		printf("%s = (not yet wired)\n", name);
	else if (json_is_integer(v))
		printf("%s = %lld\n", name, (long long)json_integer_value(v));
	else if (json_is_real(v))
		printf("%s = %.6f\n", name, json_real_value(v));
	else if (json_is_string(v))
		printf("%s = %s\n", name, json_string_value(v));
	else if (json_is_boolean(v))
		printf("%s = %s\n", name, json_is_true(v) ? "yes" : "no");
}

/* The seed's alarm object: ALARM.INSTANCE.FIELD per instance. */
static void print_alarms(json_t *list)
{
	static const char *const fields[] = {
		"countoverthreshold", "countwarningsent", "current",	     "high",
		"low",		      "timelastset",	  "timelastwarning", "timereset",
		"timestatechanged",   "warningstate",
	};
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o)
	{
		for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
			char n[512];
			snprintf(n, sizeof n, "%s.%s.%s", json_string_value(json_object_get(o, "alarm")),
				 json_string_value(json_object_get(o, "instance")), fields[f]);
			json_t *v = json_object_get(o, fields[f]);
			if (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v))
				printf("%s = %lld\n", n, (long long)json_real_value(v));
			else
				print_value(n, v);
		}
	}
}

/* The seed's diskusage object: PATH.FIELD per watched partition. */
static void print_disks(json_t *list)
{
	static const char *const fields[] = {"mailPartitionPath", "availSpace", "totalSpace",
					     "percentAvail", "lastStatTime"};
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o)
	{
		const char *path = json_string_value(json_object_get(o, "mailPartitionPath"));
		for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
			char n[512];
			snprintf(n, sizeof n, "%s.%s", path ? path : "?", fields[f]);
			print_value(n, json_object_get(o, fields[f]));
		}
	}
}

static void print_object(const char *obj, json_t *o)
{
	const char *k;
	json_t *v;
	if (strcmp(obj, "alarm") == 0) {
		print_alarms(o);
		return;
	}
	if (strcmp(obj, "diskusage") == 0) {
		print_disks(o);
		return;
	}
	if (strcmp(obj, "serverresponse") == 0) {
		json_object_foreach(o, k, v)
		{
			char n[256];
			snprintf(n, sizeof n, "%s.responsetime", k);
			print_value(n, json_object_get(v, "responsetime"));
			snprintf(n, sizeof n, "%s.laststattime", k);
			print_value(n, json_object_get(v, "laststattime"));
		}
		return;
	}
	if (strcmp(obj, "e2e") == 0) {
		json_object_foreach(o, k, v)
		{
			const char *f;
			json_t *fv;
			json_object_foreach(v, f, fv)
			{
				char n[256];
				snprintf(n, sizeof n, "%s.%s", k, f);
				print_value(n, fv);
			}
		}
		return;
	}
	json_object_foreach(o, k, v)
	{
		if (strncmp(k, "global.", 7) == 0 || strcmp(obj, "diskusage") == 0)
			print_value(k, v);
	}
	json_t *src = json_object_get(o, "sources");
	if (json_is_object(src)) {
		printf("# sources:\n");
		json_object_foreach(src, k, v) printf("#   %s: %s\n", k, json_string_value(v));
	}
}

int cmd_counterutil(struct mm_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"list", no_argument, NULL, 'l'},
		{"object", required_argument, NULL, 'o'},
		{"interval", required_argument, NULL, 'i'},
		{"count", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"api", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *obj = NULL, *api = NULL;
	int64_t interval = 0, count = 0;
	bool list = false, json = false;
	struct mm_err err;
	int c;
	while ((c = getopt_long(argc, argv, "lo:i:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': list = true; break;
		case 'o': obj = optarg; break;
		case 'i':
		case 'n':
			if (mm_parse_int(optarg, 1, 1000000, c == 'i' ? &interval : &count, &err) < 0) {
				fprintf(stderr, "mailmon counterutil: -%c: %s\n", c, err.msg);
				return 2;
			}
			break;
		case 'j': json = true; break;
		case 'a': api = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (!list && !obj)) {
		usage(stderr);
		return 2;
	}
	if (list) {
		for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++)
			printf("%-16s %s\n", objects[i].name, objects[i].what);
		return 0;
	}
	bool known = false;
	for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++)
		known = known || strcmp(objects[i].name, obj) == 0;
	if (!known) {
		fprintf(stderr, "mailmon counterutil: no object \"%s\"; see -l\n", obj);
		return 1;
	}
	if (count > 1 && !interval)
		interval = 5;
	if (!count)
		count = interval ? -1 : 1;
	struct mm_config *conf;
	char host[128];
	int port, rc = 0;
	int ar = mm_cli_api_addr(cli, &api, &conf, host, sizeof host, &port, "mailmon counterutil");
	if (ar < 0) {
		mm_config_free(conf);
		return ar == -1 ? 3 : 2;
	}
	if (!json)
		printf("Monitoring counter object [%s] using interval [%lld] seconds and count [%lld]\n",
		       obj, (long long)interval, (long long)count);
	for (int64_t n = 0; count < 0 || n < count; n++) {
		if (n > 0)
			sleep((unsigned)interval);
		int status;
		char *body = NULL;
		json_error_t jerr;
		json_t *doc = NULL;
		bool alarm = strcmp(obj, "alarm") == 0, disk = strcmp(obj, "diskusage") == 0;
		const char *path = alarm ? "/api/alarms" : disk ? "/api/disk" : "/api/counterutil";
		if (mm_http_get(host, port, path, mm_cli_api_headers(cli), 5000, 8 << 20, &status, &body, &err) < 0 ||
		    status != 200 || !(doc = json_loads(body, 0, &jerr))) {
			fprintf(stderr, "mailmon counterutil: mailmond is not answering at %s%s%s\n", api,
				body ? "" : ": ", body ? "" : err.msg);
			free(body);
			rc = 3;
			break;
		}
		free(body);
		json_t *o = json_object_get(doc, alarm ? "alarms" : obj);
		if (json) {
			json_t *out = json_pack("{s:s, s:I, s:O}", "object", obj, "time",
						(json_int_t)time(NULL), "counters", o ? o : json_null());
			char *text = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
			puts(text);
			free(text);
			json_decref(out);
		} else {
			if (n > 0)
				putchar('\n');
			print_object(obj, o);
		}
		fflush(stdout);
		json_decref(doc);
	}
	mm_config_free(conf);
	return rc;
}

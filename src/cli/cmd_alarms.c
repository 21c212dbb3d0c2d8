/*
 * mailmon alarms: the alarm instances of the running mailmond (GET
 * /api/alarms), silences, and a test notice through every channel.
 *
 *   mailmon alarms [--json]                  every instance, the outbox
 *   mailmon alarms silence NAME[/INSTANCE] DURATION
 *                                            written to the state directory,
 *                                            read by mailmond within a tick
 *   mailmon alarms test                      one test notice per channel,
 *                                            sent from this process
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alarm/notify.h"
#include "alarm/silence_file.h"
#include "cli/api_client.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/parse.h"
#include "probes/probe.h"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon alarms - alarm states, silences and a test notice\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon alarms [--json] [--api HOST:PORT]\n"
	      "    mailmon alarms silence NAME[/INSTANCE] DURATION\n"
	      "    mailmon alarms test\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    Without a verb, lists every alarm instance of the running mailmond\n"
	      "    (GET /api/alarms): name, instance, state (ok, firing, silenced),\n"
	      "    since when, value, threshold and the result of the last\n"
	      "    notification; then the notices waiting in the outbox and the last\n"
	      "    delivery error. --json prints the daemon's document.\n"
	      "\n"
	      "    silence NAME[/INSTANCE] DURATION keeps alarm NAME (one instance,\n"
	      "    or all) from being notified for DURATION (30m, 2h, 1d; 0 lifts\n"
	      "    it). It is written to STATE_DIRECTORY/alarm-silences, which\n"
	      "    mailmond rereads within a second, and lasts across restarts.\n"
	      "\n"
	      "    test sends one test notice through every configured channel\n"
	      "    ([alarm] mail to noticercpt, exec) from this process, and prints\n"
	      "    each result.\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 done (test: every channel worked); 1 a test notice failed; 2 bad\n"
	      "    usage; 3 mailmond not answering or the state directory not writable.\n",
	      out);
}

static void fmt_time(int64_t t, char *buf, size_t cap)
{
	if (t <= 0) {
		snprintf(buf, cap, "-");
		return;
	}
	mm_utc_iso8601(t, buf, cap);
}

static void fmt_num(json_t *v, char *buf, size_t cap)
{
	double d = json_number_value(v);
	if (!json_is_number(v))
		snprintf(buf, cap, "-");
	else if (d == (double)(long long)d)
		snprintf(buf, cap, "%lld", (long long)d);
	else
		snprintf(buf, cap, "%.4g", d);
}

/* GET /api/alarms through the CLI's API client; NULL (said on stderr)
 * when mailmond does not answer with a 200 and JSON. */
static json_t *fetch(struct mm_cli *cli, const char *api)
{
	int status;
	json_t *doc = mm_cli_api_get(cli, api, "/api/alarms", "mailmon alarms", &status);
	if (doc && status != 200) {
		fprintf(stderr, "mailmon alarms: /api/alarms: unexpected answer (HTTP %d)\n", status);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int list(struct mm_cli *cli, const char *api, bool json)
{
	json_t *doc = fetch(cli, api);
	if (!doc)
		return 3;
	if (json) {
		char *text = json_dumps(doc, JSON_INDENT(2));
		puts(text);
		free(text);
		json_decref(doc);
		return 0;
	}
	printf("%-16s %-24s %-9s %-20s %10s %14s  %s\n", "ALARM", "INSTANCE", "STATE", "SINCE",
	       "VALUE", "THRESHOLD", "LAST NOTIFICATION");
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(doc, "alarms"), i, o)
	{
		char since[32], v[32], t[32], thr[48];
		fmt_time(json_integer_value(json_object_get(o, "since")), since, sizeof since);
		fmt_num(json_object_get(o, "value"), v, sizeof v);
		fmt_num(json_object_get(o, "threshold"), t, sizeof t);
		const char *dir = json_string_value(json_object_get(o, "direction"));
		snprintf(thr, sizeof thr, "%s %s", dir && strcmp(dir, "below") == 0 ? "<" : ">", t);
		const char *last = json_string_value(json_object_get(o, "last_notification"));
		printf("%-16s %-24s %-9s %-20s %10s %14s  %s\n",
		       json_string_value(json_object_get(o, "alarm")),
		       json_string_value(json_object_get(o, "instance")),
		       json_string_value(json_object_get(o, "state")), since, v, thr,
		       last && *last ? last : "-");
	}
	json_array_foreach(json_object_get(doc, "silences"), i, o)
	{
		char until[32];
		fmt_time(json_integer_value(json_object_get(o, "until")), until, sizeof until);
		const char *inst = json_string_value(json_object_get(o, "instance"));
		printf("silenced: %s%s%s until %s\n", json_string_value(json_object_get(o, "alarm")),
		       inst && *inst ? "/" : "", inst ? inst : "", until);
	}
	json_t *ob = json_object_get(doc, "outbox");
	char when[32];
	fmt_time(json_integer_value(json_object_get(ob, "last_error_time")), when, sizeof when);
	const char *le = json_string_value(json_object_get(ob, "last_error"));
	printf("outbox: %lld queued, %lld delivered, %lld failed attempts%s%s%s%s\n",
	       (long long)json_integer_value(json_object_get(ob, "queued")),
	       (long long)json_integer_value(json_object_get(ob, "delivered")),
	       (long long)json_integer_value(json_object_get(ob, "failures")),
	       le && *le ? "; last error " : "", le && *le ? when : "", le && *le ? ": " : "",
	       le && *le ? le : "");
	json_decref(doc);
	return 0;
}

static int silence(struct mm_cli *cli, const char *target, const char *duration)
{
	struct mm_err err;
	int64_t ms;
	if (mm_parse_duration(duration, &ms, &err) < 0) {
		fprintf(stderr, "mailmon alarms silence: %s\n", err.msg);
		return 2;
	}
	char name[MM_ALARM_NAME_MAX + MM_ALARM_TEXT_MAX];
	snprintf(name, sizeof name, "%s", target);
	char *slash = strchr(name, '/');
	const char *inst = "";
	if (slash) {
		*slash = '\0';
		inst = slash + 1;
	}
	if (!name[0] || strlen(name) >= MM_ALARM_NAME_MAX) {
		fprintf(stderr, "mailmon alarms silence: bad alarm name \"%s\"\n", target);
		return 2;
	}
	struct mm_config *conf = mm_cli_load_config(cli);
	if (!conf)
		return 3;
	char path[4096];
	snprintf(path, sizeof path, "%s/alarm-silences",
		 mm_config_get(conf, "daemon", "state_directory"));
	mm_config_free(conf);
	int64_t now = (int64_t)time(NULL);
	int64_t until = ms > 0 ? now + (ms + 999) / 1000 : now;
	if (mm_silence_file_add(path, name, inst, until, now, &err) < 0) {
		fprintf(stderr, "mailmon alarms silence: %s\n", err.msg);
		return 3;
	}
	char when[32];
	fmt_time(until, when, sizeof when);
	if (ms > 0)
		printf("silenced %s%s%s until %s\n", name, *inst ? "/" : "", inst, when);
	else
		printf("silence on %s%s%s lifted\n", name, *inst ? "/" : "", inst);
	return 0;
}

struct test_state {
	int pending, failed;
	struct event_base *base;
};

static void test_done(void *arg, const char *channel, int ok, const char *detail)
{
	struct test_state *st = arg;
	printf("%-6s %s: %s\n", channel, ok ? "ok" : "FAILED", detail);
	if (!ok)
		st->failed++;
	if (--st->pending == 0)
		event_base_loopbreak(st->base);
}

static int test(struct mm_cli *cli)
{
	struct mm_config *conf = mm_cli_load_config(cli);
	if (!conf)
		return 3;
	struct mm_err err = {{0}};
	struct mm_notify_conf nc;
	if (mm_notify_conf_load(conf, &nc, &err) < 0) {
		fprintf(stderr, "mailmon alarms test: %s\n", err.msg);
		mm_config_free(conf);
		return 2;
	}
	mm_config_free(conf);
	char dir[] = "/tmp/mailmon-alarms-test-XXXXXX";
	if (!mkdtemp(dir)) {
		fprintf(stderr, "mailmon alarms test: %s\n", strerror(errno));
		mm_notify_conf_free(&nc);
		return 3;
	}
	char outbox[64];
	snprintf(outbox, sizeof outbox, "%s/outbox", dir);
	struct event_base *base = event_base_new();
	struct mm_probe_env *penv = mm_probe_env_new(base, NULL, &err);
	struct mm_notifier *n = penv ? mm_notifier_new(base, penv, outbox, NULL, &err) : NULL;
	int rc = 3;
	if (n) {
		mm_notifier_set_conf(n, &nc);
		struct test_state st = {0, 0, base};
		st.pending = 1 << 20; /* until every channel was started */
		int tried = mm_notifier_test(n, (int64_t)time(NULL) * 1000, test_done, &st);
		st.pending -= (1 << 20) - tried;
		if (tried == 0) {
			printf("no channel configured ([alarm] mail = no, no exec)\n");
			rc = 1;
		} else {
			if (st.pending > 0)
				event_base_dispatch(base);
			rc = st.failed ? 1 : 0;
		}
		mm_notifier_free(n);
	} else {
		fprintf(stderr, "mailmon alarms test: %s\n", err.msg);
		mm_notify_conf_free(&nc);
	}
	if (penv)
		mm_probe_env_free(penv);
	event_base_free(base);
	rmdir(outbox);
	rmdir(dir);
	return rc;
}

int cmd_alarms(struct mm_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"api", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *api = NULL;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'a': api = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	int rest = argc - optind;
	if (rest == 0)
		return list(cli, api, json);
	const char *verb = argv[optind];
	if (strcmp(verb, "silence") == 0 && rest == 3)
		return silence(cli, argv[optind + 1], argv[optind + 2]);
	if (strcmp(verb, "test") == 0 && rest == 1)
		return test(cli);
	usage(stderr);
	return 2;
}

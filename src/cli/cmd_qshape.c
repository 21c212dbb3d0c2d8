/*
 * mailmon qshape: Postfix's qshape(1) table from mailmon's queue reader,
 * with delay reasons, oldest message, JSON and a watch mode.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/queue_cli.h"
#include "core/clock.h"
#include "core/parse.h"
#include "mta/qshape.h"

#define PROG "mailmon qshape"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon qshape - queue shape by domain and age, like Postfix's qshape\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon qshape [-s] [-p] [-m MIN_SUBDOMAINS] [-l] [-b BUCKET_COUNT]\n"
	      "                   [-t BUCKET_TIME] [-c CONFIG_DIR]... [--mode MODE]\n"
	      "                   [--reasons] [--oldest] [--json] [-w SECS [--count N]]\n"
	      "                   [--width COLUMNS] [QUEUE...]\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    Prints the table of qshape(1), cell for cell: one row per recipient\n"
	      "    domain (sender domain with -s) and a TOTAL row; column T is the\n"
	      "    total, the next columns count recipients by age in minutes: under\n"
	      "    BUCKET_TIME, then doubling ([5,10), [10,20), ...), the last column\n"
	      "    everything older. QUEUE is incoming, active, deferred, hold,\n"
	      "    maildrop or corrupt; the default is incoming and active.\n"
	      "\n"
	      "    The queue is read directly (root or the postfix user), or through\n"
	      "    `postqueue -j` for any other user; see --mode.\n"
	      "\n"
	      "OPTIONS (as qshape)\n"
	      "    -s         count sender domains instead of recipient domains\n"
	      "    -p         also count parent domains (\".example.com\"), shown when\n"
	      "               at least MIN_SUBDOMAINS subdomains are counted (-m, 5)\n"
	      "    -l         linear buckets: [0,T), [T,2T), [2T,3T), ...\n"
	      "    -b N       number of age buckets (default 10)\n"
	      "    -t MIN     bucket time in minutes (default 5)\n"
	      "    -c DIR     Postfix config directory (default [mta] config_directory);\n"
	      "               repeat it to add the queues of several instances\n"
	      "    -n N       at most N rows, TOTAL included (qshape applies it only on a\n"
	      "               terminal; so does this)\n"
	      "    -N N       accepted for compatibility, ignored\n"
	      "\n"
	      "OPTIONS (mailmon's)\n"
	      "    --reasons      add the delay-reason classes per row: refused, timeout,\n"
	      "                   tls, dns, suspended (destination marked dead), other,\n"
	      "                   and 4xx replies by code (\"451:3\")\n"
	      "    --oldest       add the age of the oldest message per row\n"
	      "    --json         print the table as JSON instead\n"
	      "    -w, --watch SECS\n"
	      "                   redraw every SECS seconds with each row's change since\n"
	      "                   the last draw (qshape's -w, the terminal width, is\n"
	      "                   --width here)\n"
	      "    --count N      with -w: stop after N draws\n"
	      "    --width COLS   terminal width, when more than 80\n"
	      "    --mode MODE    auto (default: [queue] mode), direct or postqueue\n"
	      "    --now EPOCH    age buckets relative to this time (seconds since the\n"
	      "                   epoch) instead of now: to compare with a qshape run\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 success; 2 bad usage; 3 the queue could not be read.\n",
	      out);
}

static volatile sig_atomic_t stop;
static void on_sigint(int sig)
{
	stop = 1;
}

static int parse_num(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out)
{
	struct mm_err err;
	if (mm_parse_int(s, min, max, out, &err) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", opt, err.msg);
		return -1;
	}
	return 0;
}

int cmd_qshape(struct mm_cli *cli, int argc, char **argv)
{
	enum { O_REASONS = 256, O_OLDEST, O_JSON, O_COUNT, O_WIDTH, O_MODE, O_NOW };
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"reasons", no_argument, NULL, O_REASONS},
		{"oldest", no_argument, NULL, O_OLDEST},
		{"json", no_argument, NULL, O_JSON},
		{"watch", required_argument, NULL, 'w'},
		{"count", required_argument, NULL, O_COUNT},
		{"width", required_argument, NULL, O_WIDTH},
		{"mode", required_argument, NULL, O_MODE},
		{"now", required_argument, NULL, O_NOW},
		{NULL, 0, NULL, 0},
	};
	struct mm_qshape_opts o;
	mm_qshape_opts_default(&o);
	struct mm_queue_cli qc = {0};
	unsigned extras = 0;
	bool json = false;
	int64_t watch = 0, count = 0, v, top = 0, fixed_now = 0;
	int c;
	while ((c = getopt_long(argc, argv, "hlpsc:b:t:m:n:N:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'l': o.linear = true; break;
		case 'p': o.parents = true; break;
		case 's': o.senders = true; break;
		case 'c':
			if (mm_queue_cli_add_dir(&qc, PROG, optarg) < 0)
				return 2;
			break;
		case 'b':
			if (parse_num("-b", optarg, 1, 1000, &v) < 0)
				return 2;
			o.nbuckets = (int)v;
			break;
		case 't':
			if (parse_num("-t", optarg, 1, 1000000, &v) < 0)
				return 2;
			o.tick = (int)v;
			break;
		case 'm':
			if (parse_num("-m", optarg, 1, 1000000, &v) < 0)
				return 2;
			o.minsub = (int)v;
			break;
		case 'n':
			if (parse_num("-n", optarg, 0, 1000000, &top) < 0)
				return 2;
			break;
		case 'N': break;
		case 'w':
			if (parse_num("-w", optarg, 1, 86400, &watch) < 0)
				return 2;
			break;
		case O_COUNT:
			if (parse_num("--count", optarg, 1, 1000000, &count) < 0)
				return 2;
			break;
		case O_WIDTH:
			if (parse_num("--width", optarg, 1, 100000, &v) < 0)
				return 2;
			if (v > 80)
				o.width = (int)v;
			break;
		case O_REASONS: extras |= MM_QSHAPE_REASONS; break;
		case O_OLDEST: extras |= MM_QSHAPE_OLDEST; break;
		case O_JSON: json = true; break;
		case O_NOW:
			if (parse_num("--now", optarg, 1, INT64_MAX / 2, &fixed_now) < 0)
				return 2;
			break;
		case O_MODE:
			if (mm_queue_cli_set_mode(&qc, PROG, optarg) < 0)
				return 2;
			break;
		default: usage(stderr); return 2;
		}
	}
	unsigned qmask = 0;
	for (int i = optind; i < argc; i++) {
		int q = mm_queue_from_name(argv[i]);
		if (q < 0) {
			fprintf(stderr, PROG ": %s: not a queue name (incoming, active, deferred, "
					"hold, maildrop, corrupt)\n", argv[i]);
			return 2;
		}
		qmask |= MM_QMASK(q);
	}
	if (!qmask)
		qmask = MM_QMASK(MM_Q_INCOMING) | MM_QMASK(MM_Q_ACTIVE);
	if (isatty(1))
		o.top = (size_t)top;
	qc.reasons = (extras & MM_QSHAPE_REASONS) != 0;
	qc.watch = watch > 0;

	struct mm_mta *m = mm_queue_cli_open(cli, &qc, PROG, NULL);
	if (!m)
		return 3;
	if (watch)
		signal(SIGINT, on_sigint);
	struct mm_qsnap snap = {0};
	struct mm_qshape prev = {0}, cur = {0};
	bool have_prev = false;
	int rc = 0;
	for (int64_t n = 0; !stop; n++) {
		struct mm_err err = {{0}};
		/* The reference time is taken before the scan, as qshape does. */
		o.now_s = fixed_now ? fixed_now : mm_wall_ms() / 1000;
		if (mm_mta_scan(m, qmask, &snap, &err) < 0) {
			fprintf(stderr, PROG ": %s\n", err.msg);
			rc = 3;
			break;
		}
		mm_queue_cli_note(PROG, &snap);
		mm_qshape_build(&snap, qmask, &o, &cur);
		if (json) {
			json_t *doc = mm_qshape_json(&cur);
			json_t *qs = json_array();
			for (unsigned q = 0; q < MM_Q_N; q++)
				if (qmask & MM_QMASK(q))
					json_array_append_new(qs, json_string(mm_queue_name(q)));
			json_object_set_new(doc, "queues", qs);
			json_object_set_new(doc, "mode", json_string(mm_mta_mode(m)));
			char *text = json_dumps(doc, JSON_COMPACT);
			puts(text);
			free(text);
			json_decref(doc);
		} else {
			if (watch) {
				if (isatty(1))
					fputs("\033[H\033[2J", stdout);
				char ts[64];
				time_t now = (time_t)o.now_s;
				strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", localtime(&now));
				printf("mailmon qshape, %s, every %llds (%s mode, scan %lld ms)\n", ts,
				       (long long)watch, mm_mta_mode(m),
				       (long long)(snap.stats.duration_us / 1000));
			}
			mm_qshape_print(stdout, &cur, extras, watch && have_prev ? &prev : NULL);
		}
		fflush(stdout);
		mm_qshape_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof cur);
		have_prev = true;
		if (!watch || (count && n + 1 >= count))
			break;
		struct timespec ts = {.tv_sec = (time_t)watch};
		while (!stop && nanosleep(&ts, &ts) < 0)
			;
	}
	mm_qshape_free(&prev);
	mm_qshape_free(&cur);
	mm_qsnap_free(&snap);
	mm_mta_close(m);
	return rc;
}

/*
 * mailmon qm: the seed's queue views (imsimta qm): a per-queue summary and
 * the per-destination active/delayed counts.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/queue_cli.h"
#include "core/clock.h"
#include "core/xalloc.h"
#include "mta/qshape.h"
#include "mta/queue_summary.h"
#include "mta/reason_class.h"

#define PROG "mailmon qm"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon qm - queue summaries after Messaging Server's imsimta qm\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon qm [-c CONFIG_DIR]... [--mode MODE] [--json] summarize\n"
	      "    mailmon qm [-c CONFIG_DIR]... [--mode MODE] [--json] messages [DEST]\n"
	      "    mailmon qm [-c CONFIG_DIR]... [--mode MODE] [--json] list [QUEUE]\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    summarize  per queue: messages, pending recipients, bytes and the\n"
	      "               age of the oldest message, then the total and the held\n"
	      "               total (messages put on hold by postsuper -h)\n"
	      "    messages   per destination domain: messages active (being\n"
	      "               delivered) and delayed (deferred), also incoming and\n"
	      "               held, the oldest age and the delay-reason classes.\n"
	      "               DEST limits it to that domain and its subdomains\n"
	      "    list       every message: id, queue, size, arrival, sender and the\n"
	      "               pending recipients with their delay reasons; with --json\n"
	      "               one object per line in the shape of `postqueue -j`, plus\n"
	      "               \"reason_class\" per recipient\n"
	      "\n"
	      "OPTIONS\n"
	      "    -c DIR       Postfix config directory (repeatable: several instances)\n"
	      "    --mode MODE  auto, direct (read the queue files: root or postfix)\n"
	      "                 or postqueue (any user); default [queue] mode\n"
	      "    --json       machine-readable output\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 success; 2 bad usage; 3 the queue could not be read.\n",
	      out);
}

static void age(int64_t oldest, int64_t now, char *buf, size_t cap)
{
	if (oldest == INT64_MAX)
		snprintf(buf, cap, "-");
	else
		mm_format_age(now - oldest, buf, cap);
}

static int summarize(const struct mm_qsnap *snap, bool json, const char *mode)
{
	struct mm_qsummary sum;
	mm_qsummary_build(snap, 0, &sum);
	int64_t now = mm_wall_ms() / 1000;
	if (json) {
		json_t *doc = json_object();
		json_t *qs = mm_qsummary_json(&sum, now);
		/* Destinations belong to `qm messages`; keep summarize small. */
		const char *k;
		json_t *v;
		json_object_foreach(qs, k, v) json_object_del(v, "destinations");
		json_object_set_new(doc, "queues", qs);
		json_object_set_new(doc, "held", json_integer((json_int_t)sum.q[MM_Q_HOLD].msgs));
		json_object_set_new(doc, "mode", json_string(mode));
		char *text = json_dumps(doc, JSON_COMPACT);
		puts(text);
		free(text);
		json_decref(doc);
	} else {
		printf("%-10s %10s %10s %14s %10s\n", "queue", "messages", "recipients", "bytes",
		       "oldest");
		uint64_t tm = 0, tr = 0, tb = 0;
		int64_t to = INT64_MAX;
		for (unsigned q = 0; q < MM_Q_N; q++) {
			const struct mm_qsum_queue *s = &sum.q[q];
			char a[32];
			age(s->oldest, now, a, sizeof a);
			printf("%-10s %10llu %10llu %14llu %10s\n", mm_queue_name(q),
			       (unsigned long long)s->msgs, (unsigned long long)s->rcpts,
			       (unsigned long long)s->bytes, a);
			tm += s->msgs;
			tr += s->rcpts;
			tb += s->bytes;
			if (s->oldest < to)
				to = s->oldest;
		}
		char a[32];
		age(to, now, a, sizeof a);
		printf("%-10s %10llu %10llu %14llu %10s\n", "total", (unsigned long long)tm,
		       (unsigned long long)tr, (unsigned long long)tb, a);
		printf("held total: %llu messages\n", (unsigned long long)sum.q[MM_Q_HOLD].msgs);
	}
	mm_qsummary_free(&sum);
	return 0;
}

/* dom is dest or a subdomain of it. */
static bool under(const char *dom, const char *dest)
{
	size_t dl = strlen(dom), el = strlen(dest);
	if (dl == el)
		return strcasecmp(dom, dest) == 0;
	return dl > el && dom[dl - el - 1] == '.' && strcasecmp(dom + dl - el, dest) == 0;
}

struct row {
	const char *name;
	uint64_t n[MM_Q_N];
	uint64_t total;
	int64_t oldest;
	uint64_t rclass[MM_RC_N];
};

static int cmp_row(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int messages(const struct mm_qsnap *snap, const char *dest, bool json)
{
	struct mm_qsummary sum;
	mm_qsummary_build(snap, 0, &sum);
	int64_t now = mm_wall_ms() / 1000;
	/* Merge the per-queue destination lists into one row per domain. */
	struct row *rows = NULL;
	size_t n = 0;
	for (unsigned q = 0; q < MM_Q_N; q++)
		for (size_t i = 0; i < sum.q[q].ndests; i++) {
			const struct mm_qsum_dest *d = &sum.q[q].dests[i];
			if (dest && !under(d->name, dest))
				continue;
			size_t k = 0;
			while (k < n && strcmp(rows[k].name, d->name) != 0)
				k++;
			if (k == n) {
				rows = xrealloc(rows, (n + 1) * sizeof *rows);
				memset(&rows[n], 0, sizeof rows[n]);
				rows[n].name = d->name;
				rows[n].oldest = INT64_MAX;
				n++;
			}
			rows[k].n[q] += d->msgs;
			rows[k].total += d->msgs;
			if (d->oldest < rows[k].oldest)
				rows[k].oldest = d->oldest;
			for (int c = 0; c < MM_RC_N; c++)
				rows[k].rclass[c] += d->rclass[c];
		}
	if (n > 1)
		qsort(rows, n, sizeof *rows, cmp_row);
	if (json) {
		json_t *arr = json_array();
		for (size_t k = 0; k < n; k++) {
			json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "destination",
					      rows[k].name, "active", (json_int_t)rows[k].n[MM_Q_ACTIVE],
					      "delayed", (json_int_t)rows[k].n[MM_Q_DEFERRED], "incoming",
					      (json_int_t)(rows[k].n[MM_Q_INCOMING] + rows[k].n[MM_Q_MAILDROP]),
					      "hold", (json_int_t)rows[k].n[MM_Q_HOLD], "total",
					      (json_int_t)rows[k].total, "oldest_age_s",
					      rows[k].oldest == INT64_MAX ? json_null()
									  : json_integer((json_int_t)(now - rows[k].oldest)),
					      "reasons", mm_rclass_mix_json(rows[k].rclass));
			json_array_append_new(arr, o);
		}
		char *text = json_dumps(arr, JSON_COMPACT);
		puts(text);
		free(text);
		json_decref(arr);
	} else {
		printf("%-32s %8s %8s %8s %8s %8s %9s  %s\n", "destination", "active", "delayed",
		       "incoming", "hold", "total", "oldest", "reasons");
		for (size_t k = 0; k < n; k++) {
			char a[32];
			age(rows[k].oldest, now, a, sizeof a);
			printf("%-32s %8llu %8llu %8llu %8llu %8llu %9s ", rows[k].name,
			       (unsigned long long)rows[k].n[MM_Q_ACTIVE],
			       (unsigned long long)rows[k].n[MM_Q_DEFERRED],
			       (unsigned long long)(rows[k].n[MM_Q_INCOMING] + rows[k].n[MM_Q_MAILDROP]),
			       (unsigned long long)rows[k].n[MM_Q_HOLD], (unsigned long long)rows[k].total,
			       a);
			for (int c = 1; c < MM_RC_N; c++)
				if (rows[k].rclass[c])
					printf(" %s:%llu", mm_rclass_name((unsigned)c),
					       (unsigned long long)rows[k].rclass[c]);
			putchar('\n');
		}
		if (n == 0 && dest)
			printf("(nothing queued for %s)\n", dest);
	}
	free(rows);
	mm_qsummary_free(&sum);
	return 0;
}

static int list(const struct mm_qsnap *snap, unsigned qmask, bool json)
{
	for (size_t i = 0; i < snap->n; i++) {
		const struct mm_qmsg *m = snap->msgs[i];
		if (!(qmask & MM_QMASK(m->queue)))
			continue;
		if (json) {
			json_t *rc = json_array();
			for (uint32_t k = 0; k < m->nrcpt; k++) {
				const struct mm_qrcpt *r = &m->rcpt[k];
				json_t *o = json_pack("{s:s, s:s}", "address", r->addr, "reason_class",
						      mm_rclass_name(r->rclass));
				if (r->reason)
					json_object_set_new(o, "delay_reason", json_string(r->reason));
				if (r->code)
					json_object_set_new(o, "reply_code", json_integer(r->code));
				json_array_append_new(rc, o);
			}
			json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:i, s:o}", "queue_name",
					      mm_queue_name(m->queue), "queue_id", m->id,
					      "arrival_time", (json_int_t)m->arrival, "message_size",
					      (json_int_t)m->size, "sender", m->sender, "instance",
					      (int)m->instance, "recipients", rc);
			char *text = json_dumps(o, JSON_COMPACT);
			puts(text);
			free(text);
			json_decref(o);
		} else {
			printf("%-14s %-9s %9llu %lld %s\n", m->id, mm_queue_name(m->queue),
			       (unsigned long long)m->size, (long long)m->arrival,
			       m->sender[0] ? m->sender : "<>");
			for (uint32_t k = 0; k < m->nrcpt; k++)
				printf("    %s%s%s%s\n", m->rcpt[k].addr, m->rcpt[k].reason ? "  (" : "",
				       m->rcpt[k].reason ? m->rcpt[k].reason : "",
				       m->rcpt[k].reason ? ")" : "");
		}
	}
	return 0;
}

int cmd_qm(struct mm_cli *cli, int argc, char **argv)
{
	enum { O_JSON = 256, O_MODE };
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, O_JSON},
		{"mode", required_argument, NULL, O_MODE},
		{NULL, 0, NULL, 0},
	};
	struct mm_queue_cli qc = {0};
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'c':
			if (mm_queue_cli_add_dir(&qc, PROG, optarg) < 0)
				return 2;
			break;
		case O_JSON: json = true; break;
		case O_MODE:
			if (mm_queue_cli_set_mode(&qc, PROG, optarg) < 0)
				return 2;
			break;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *verb = argv[optind];
	const char *dest = optind + 1 < argc ? argv[optind + 1] : NULL;
	bool is_sum = strcmp(verb, "summarize") == 0 || strcmp(verb, "sum") == 0;
	bool is_msgs = strcmp(verb, "messages") == 0;
	bool is_list = strcmp(verb, "list") == 0;
	unsigned qmask = MM_QMASK_ALL;
	if (is_list && dest) {
		int q = mm_queue_from_name(dest);
		if (q < 0) {
			fprintf(stderr, PROG ": %s: not a queue name\n", dest);
			return 2;
		}
		qmask = MM_QMASK(q);
	}
	if ((!is_sum && !is_msgs && !is_list) || (is_sum && dest) || optind + 2 < argc) {
		fprintf(stderr, PROG ": usage: mailmon qm summarize | messages [DEST] | list [QUEUE]\n");
		return 2;
	}
	qc.reasons = is_msgs || is_list;
	struct mm_mta *m = mm_queue_cli_open(cli, &qc, PROG, NULL);
	if (!m)
		return 3;
	struct mm_qsnap snap = {0};
	struct mm_err err = {{0}};
	int rc;
	if (mm_mta_scan(m, MM_QMASK_ALL, &snap, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		rc = 3;
	} else {
		mm_queue_cli_note(PROG, &snap);
		rc = is_sum    ? summarize(&snap, json, mm_mta_mode(m))
		     : is_list ? list(&snap, qmask, json)
			       : messages(&snap, dest, json);
	}
	mm_qsnap_free(&snap);
	mm_mta_close(m);
	return rc;
}

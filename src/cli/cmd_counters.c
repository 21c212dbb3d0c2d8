/*
 * mailmon counters: create, show, clear and delete the RFC 2789 channel
 * counters file that mailmond keeps current, after Messaging Server's
 * `imsimta counters`. Reading never blocks the daemon (counters_file.h).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/config.h"
#include "logs/counters_file.h"
#include "logs/counters_json.h"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon counters - show, clear, create or delete the channel counters\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon counters -show [--json] [--file PATH]\n"
	      "    mailmon counters -clear [--file PATH]\n"
	      "    mailmon counters -create [--channels N] [--file PATH]\n"
	      "    mailmon counters -delete [--file PATH]\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    mailmond counts the messages of every channel it sees in the mail log\n"
	      "    (a Postfix transport such as smtp or lmtp, a Messaging Server channel,\n"
	      "    and the inbound services smtpd, postscreen and pickup as channels of\n"
	      "    their own), after the Mail Monitoring MIB (RFC 2789 mtaGroupTable)\n"
	      "    and Messaging Server's imsimta counters. The counters live in a\n"
	      "    memory-mapped file; reading it never blocks the daemon.\n"
	      "\n"
	      "    -show     one block per channel:\n"
	      "                Received    messages enqueued to the channel (Postfix: the\n"
	      "                            first delivery attempt through it)\n"
	      "                Stored      messages in the channel's queue: Received minus\n"
	      "                            messages since removed from the queue\n"
	      "                Delivered   messages delivered; in parentheses those\n"
	      "                            delivered on the first attempt\n"
	      "                Submitted   messages enqueued by the channel (smtpd\n"
	      "                            client=, pickup)\n"
	      "                Attempted   temporary failures (deferrals)\n"
	      "                Rejected    rejected enqueue attempts (reject lines)\n"
	      "                Failed      messages that failed permanently (bounced,\n"
	      "                            expired)\n"
	      "                Queue time/count        total/count = average seconds in\n"
	      "                                        queue of the Delivered messages\n"
	      "                Queue first time/count  the same for first-attempt ones\n"
	      "              then recipients, volume, associations, last activity and\n"
	      "              the last rejection and connect-failure reasons. The Minimum\n"
	      "              column is the lowest value each counter has held since the\n"
	      "              file was created or cleared. It is negative when messages\n"
	      "              were queued at that moment and later left the queue; the\n"
	      "              absolute value of such a counter is current minus minimum.\n"
	      "    -clear    zero every counter and minimum. With mailmond running this\n"
	      "              is a request it serves at its next heartbeat (waited for\n"
	      "              up to 5 s)\n"
	      "    -create   create the file anew, empty, with room for N channels\n"
	      "              (default [counters] max_channels); also repairs a corrupt\n"
	      "              or foreign file. Refused while mailmond holds the file\n"
	      "    -delete   remove the file (refused while mailmond holds it)\n"
	      "\n"
	      "OPTIONS\n"
	      "    --json       with -show: one JSON object, counters by their names\n"
	      "    --file PATH  the counters file (default [counters] file, else\n"
	      "                 [daemon] run_directory/counters)\n"
	      "    --channels N with -create: channel slots (8..4096)\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 success; 1 the file is missing, corrupt or busy; 2 bad usage.\n",
	      out);
}

static void fmt_time(int64_t ms, char *buf, size_t cap)
{
	if (ms <= 0) {
		snprintf(buf, cap, "never");
		return;
	}
	mm_utc_iso8601(ms / 1000, buf, cap);
}

static void row(const char *label, const struct mm_cg_snapshot *s, enum mm_cg_field f)
{
	printf("  %-26s %12lld %12lld\n", label, (long long)s->v[f], (long long)s->min[f]);
}

static void qtime_row(const char *label, int64_t sum_ms, int64_t count)
{
	printf("  %-26s %.3f/%lld = %.3f s\n", label, (double)sum_ms / 1000.0, (long long)count,
	       count > 0 ? (double)sum_ms / 1000.0 / (double)count : 0.0);
}

static void show_text(const struct mm_cfile *cf, const struct mm_cg_snapshot *g, uint32_t n)
{
	char created[32], cleared[32];
	fmt_time(cf->hdr->created_ms, created, sizeof created);
	fmt_time(atomic_load(&cf->hdr->cleared_ms), cleared, sizeof cleared);
	int pid = (int)atomic_load(&cf->hdr->writer_pid);
	printf("Counters file %s (version %u), created %s, cleared %s, %s\n", cf->path,
	       cf->hdr->version, created, cleared, pid ? "updated by mailmond" : "no writer");
	if (pid)
		printf("Writer pid %d\n", pid);
	printf("Log lines %llu (%llu not understood); messages tracked %llu, evicted %llu "
	       "(table full) + %llu (idle), recipient records not kept %llu, texts cut %llu\n",
	       (unsigned long long)atomic_load(&cf->hdr->lines),
	       (unsigned long long)atomic_load(&cf->hdr->unparsed),
	       (unsigned long long)atomic_load(&cf->hdr->inflight),
	       (unsigned long long)atomic_load(&cf->hdr->evicted_full),
	       (unsigned long long)atomic_load(&cf->hdr->evicted_age),
	       (unsigned long long)atomic_load(&cf->hdr->rcpts_dropped),
	       (unsigned long long)atomic_load(&cf->hdr->truncated));
	if (n == 0)
		printf("No channel has been seen yet.\n");
	for (uint32_t i = 0; i < n; i++) {
		const struct mm_cg_snapshot *s = &g[i];
		char in[32], out[32];
		printf("\nChannel %s%*s %12s %12s\n", s->name, (int)(19 - strlen(s->name)) > 0
			       ? (int)(19 - strlen(s->name)) : 0, "", "Messages", "Minimum");
		row("Received", s, MM_CG_RECEIVED);
		row("Stored", s, MM_CG_STORED);
		printf("  %-26s %12lld %12lld  (%lld first attempt)\n", "Delivered",
		       (long long)s->v[MM_CG_DELIVERED], (long long)s->min[MM_CG_DELIVERED],
		       (long long)s->v[MM_CG_DELIVERED_FIRST]);
		row("Submitted", s, MM_CG_SUBMITTED);
		row("Attempted", s, MM_CG_ATTEMPTED);
		row("Rejected", s, MM_CG_REJECTED);
		row("Failed", s, MM_CG_FAILED);
		qtime_row("Queue time/count", s->v[MM_CG_QTIME_SUM_MS], s->v[MM_CG_QTIME_COUNT]);
		qtime_row("Queue first time/count", s->v[MM_CG_QFIRST_SUM_MS],
			  s->v[MM_CG_QFIRST_COUNT]);
		row("Recipients delivered", s, MM_CG_RCPT_DELIVERED);
		row("Recipients failed", s, MM_CG_RCPT_FAILED);
		row("Volume received (bytes)", s, MM_CG_VOLUME_RECEIVED);
		row("Volume delivered (bytes)", s, MM_CG_VOLUME_DELIVERED);
		row("Inbound assoc. open", s, MM_CG_IN_ASSOC);
		row("Inbound assoc. total", s, MM_CG_IN_ASSOC_TOTAL);
		row("Inbound assoc. rejected", s, MM_CG_IN_ASSOC_REJECTED);
		row("Outbound assoc. open", s, MM_CG_OUT_ASSOC);
		row("Outbound assoc. total", s, MM_CG_OUT_ASSOC_TOTAL);
		row("Outbound assoc. failed", s, MM_CG_OUT_ASSOC_FAILED);
		if (s->v[MM_CG_LOGIN_CONNS] || s->min[MM_CG_LOGIN_CONNS]) {
			/* Dovecot's login processes (imap, pop3 groups). */
			row("Logins", s, MM_CG_LOGINS_GOOD);
			row("Failed login attempts", s, MM_CG_LOGINS_FAILED);
			row("Login connections", s, MM_CG_LOGIN_CONNS);
		}
		/* From the queue scanner (RFC 2789 mtaGroupStored*), not the logs. */
		row("Queued now (scan)", s, MM_CG_QSTORED_MSGS);
		row("Queued recipients", s, MM_CG_QSTORED_RCPTS);
		row("Queued volume (bytes)", s, MM_CG_QSTORED_VOLUME);
		row("Oldest queued (seconds)", s, MM_CG_QOLDEST_S);
		fmt_time(s->v[MM_CG_LAST_IN_MS], in, sizeof in);
		fmt_time(s->v[MM_CG_LAST_OUT_MS], out, sizeof out);
		printf("  %-26s %s\n", "Last inbound activity", in);
		printf("  %-26s %s\n", "Last outbound activity", out);
		printf("  %-26s %s\n", "Last rejection", s->last_reject[0] ? s->last_reject : "-");
		printf("  %-26s %s\n", "Last connect failure",
		       s->last_connfail[0] ? s->last_connfail : "-");
	}
}

static int do_show(const char *path, bool json)
{
	struct mm_err err;
	struct mm_cfile *cf = mm_cfile_open(path, false, &err);
	if (!cf) {
		fprintf(stderr, "mailmon counters: %s\n", err.msg);
		return 1;
	}
	if (json) {
		json_t *doc = mm_cfile_to_json(cf, &err);
		mm_cfile_close(cf);
		if (!doc) {
			fprintf(stderr, "mailmon counters: %s\n", err.msg);
			return 1;
		}
		char *text = json_dumps(doc, JSON_INDENT(2));
		puts(text);
		free(text);
		json_decref(doc);
		return 0;
	}
	uint32_t n = mm_cfile_ngroups(cf);
	struct mm_cg_snapshot *g = calloc(n ? n : 1, sizeof *g);
	if (!g) {
		mm_cfile_close(cf);
		fprintf(stderr, "mailmon counters: out of memory\n");
		return 1;
	}
	int rc = 0;
	for (uint32_t i = 0; i < n; i++)
		if (mm_cg_read(cf, i, &g[i]) < 0) {
			fprintf(stderr, "mailmon counters: %s: channel %u stayed busy; try again\n",
				path, i);
			rc = 1;
			goto out;
		}
	show_text(cf, g, n);
out:
	free(g);
	mm_cfile_close(cf);
	return rc;
}

int cmd_counters(struct mm_cli *cli, int argc, char **argv)
{
	enum { NONE, SHOW, CLEAR, CREATE, DELETE };
	int verb = NONE;
	const char *file = NULL;
	bool json = false;
	long channels = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int v = !strcmp(a, "-show") || !strcmp(a, "--show")       ? SHOW
			: !strcmp(a, "-clear") || !strcmp(a, "--clear")   ? CLEAR
			: !strcmp(a, "-create") || !strcmp(a, "--create") ? CREATE
			: !strcmp(a, "-delete") || !strcmp(a, "--delete") ? DELETE
									  : NONE;
		if (v != NONE) {
			if (verb != NONE && verb != v) {
				fprintf(stderr, "mailmon counters: give one of -show, -clear, "
						"-create, -delete\n");
				return 2;
			}
			verb = v;
		} else if (!strcmp(a, "--json") || !strcmp(a, "-json")) {
			json = true;
		} else if ((!strcmp(a, "--file") || !strcmp(a, "-file")) && i + 1 < argc) {
			file = argv[++i];
		} else if (!strcmp(a, "--channels") && i + 1 < argc) {
			char *end;
			channels = strtol(argv[++i], &end, 10);
			if (*end || channels < 8 || channels > MM_CF_MAX_GROUPS) {
				fprintf(stderr, "mailmon counters: --channels: expected 8..%d\n",
					MM_CF_MAX_GROUPS);
				return 2;
			}
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "mailmon counters: unknown argument \"%s\"; see "
					"mailmon counters --help\n", a);
			return 2;
		}
	}
	if (verb == NONE) {
		usage(stderr);
		return 2;
	}
	struct mm_config *conf = mm_cli_load_config(cli);
	if (!conf)
		return 1;
	char *path = file ? strdup(file) : mm_cfile_path_from_config(conf);
	if (!channels)
		channels = (long)mm_config_int(conf, "counters", "max_channels");
	mm_config_free(conf);
	if (!path) {
		fprintf(stderr, "mailmon counters: out of memory\n");
		return 1;
	}

	struct mm_err err;
	int rc = 0;
	switch (verb) {
	case SHOW:
		rc = do_show(path, json);
		break;
	case CREATE:
		if (mm_cfile_create(path, (uint32_t)channels, &err) < 0) {
			fprintf(stderr, "mailmon counters: %s\n", err.msg);
			rc = 1;
		} else {
			printf("%s: created, %ld channel slots\n", path, channels);
		}
		break;
	case CLEAR: {
		struct mm_cfile *cf = mm_cfile_open(path, false, &err);
		if (!cf || mm_cfile_clear(cf, 5000, &err) < 0) {
			fprintf(stderr, "mailmon counters: %s\n", err.msg);
			rc = 1;
		} else {
			printf("%s: cleared\n", path);
		}
		mm_cfile_close(cf);
		break;
	}
	case DELETE:
		if (mm_cfile_delete(path, &err) < 0) {
			fprintf(stderr, "mailmon counters: %s\n", err.msg);
			rc = 1;
		} else {
			printf("%s: deleted\n", path);
		}
		break;
	case NONE:
		break;
	}
	free(path);
	return rc;
}

/*
 * mailmon logstat: a one-shot report over past mail logs (plain, .gz or
 * standard input, in any mix), with pflogsumm's Grand Totals under
 * pflogsumm's names. The accounting is src/logs/logstat.c; every figure
 * is defined in docs/logstat.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "logs/logstat.h"
#include "parsers/parser.h"
#include "sources/gzreader.h"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon logstat - report on past mail logs, pflogsumm-compatible totals\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon logstat [--json] [--format NAME] [--year YYYY] [--top N]\n"
	      "                    [--exact-distinct N] [--top-memory MB] FILE...\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    Reads every FILE in order as one log: plain text, gzip-compressed\n"
	      "    (recognised by its content, whatever its name) or - for standard\n"
	      "    input, in any mix, e.g. mail.log.2.gz mail.log.1 mail.log.\n"
	      "\n"
	      "    The report has: Grand Totals under pflogsumm's names (received,\n"
	      "    delivered, forwarded, deferred with its deferrals, bounced, rejected,\n"
	      "    reject warnings, held, discarded, expired, bytes received and\n"
	      "    delivered, senders, sending hosts/domains, recipients, recipient\n"
	      "    hosts/domains); per-day and per-hour traffic; delivery by destination\n"
	      "    domain (sent, bytes, deferrals, bounces, average, maximum and\n"
	      "    p50/p90/p99 delay); the top deferral and bounce reasons per\n"
	      "    destination; rejects by reason and by client; warnings; and the RFC\n"
	      "    2789 channel counters the same log would give (mailmon counters).\n"
	      "\n"
	      "    On logs pflogsumm parses correctly, received, deferred, deferrals,\n"
	      "    bounced and rejected equal pflogsumm's Grand Totals. docs/logstat.md\n"
	      "    defines every figure and where it differs from pflogsumm.\n"
	      "\n"
	      "    Memory stays bounded on any input: distinct senders and recipients\n"
	      "    are exact up to 1,000,000 and then estimated (HyperLogLog, about 1%),\n"
	      "    which the report marks; percentiles come from fixed histograms (within\n"
	      "    6.25%). Top tables (rejects by reason and by client, warnings, bounce\n"
	      "    and deferral reasons) are exact counts of every distinct key within\n"
	      "    --top-memory; past it a table switches to an approximate count\n"
	      "    (space-saving): its figures are printed as ~N with err<=E, N being an\n"
	      "    upper bound at most E above the true count, and \"exact\" and\n"
	      "    \"top_tables\" in --json say which tables are approximate.\n"
	      "\n"
	      "    A line that cannot be understood is counted (unparsed_lines, by\n"
	      "    program) and never stops the report.\n"
	      "\n"
	      "OPTIONS\n"
	      "    --json         one JSON object; its \"totals\" object has the keys\n"
	      "                   received, delivered, forwarded, deferred, deferrals,\n"
	      "                   bounced, rejected, reject_warnings, held, discarded,\n"
	      "                   expired, bytes_received, bytes_delivered, senders,\n"
	      "                   sending_hosts, recipients, recipient_hosts, lines,\n"
	      "                   unparsed_lines\n"
	      "    --format NAME  log grammar: auto (default), postfix, msgsrv, dovecot,\n"
	      "                   exim (Exim's main log, plain or through syslog; auto\n"
	      "                   recognises it too)\n"
	      "    --year YYYY    year of syslog stamps without one (default: this year)\n"
	      "    --top N        rows in each top table (default 10)\n"
	      "    --exact-distinct N\n"
	      "                   count senders, recipients and their domains exactly up\n"
	      "                   to N distinct values each (default 1000000; 16 bytes\n"
	      "                   each), then estimate (HyperLogLog, 16 KiB)\n"
	      "    --top-memory MB\n"
	      "                   memory for exact top tables, all together (default 64)\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 report written; 1 a file could not be read (named on stderr; the\n"
	      "    report is still written from what was read); 2 bad usage.\n",
	      out);
}

int cmd_logstat(struct mm_cli *cli, int argc, char **argv)
{
	struct mm_logstat_opts o = {0};
	const char *format = "auto";
	bool json = false;
	int first = argc;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--format") && i + 1 < argc) {
			format = argv[++i];
		} else if (!strcmp(a, "--year") && i + 1 < argc) {
			o.year_hint = atoi(argv[++i]);
			if (o.year_hint < 1970 || o.year_hint > 9999) {
				fprintf(stderr, "mailmon logstat: --year: expected a year\n");
				return 2;
			}
		} else if (!strcmp(a, "--exact-distinct") && i + 1 < argc) {
			long n = atol(argv[++i]);
			if (n < 16 || n > 100000000) {
				fprintf(stderr, "mailmon logstat: --exact-distinct: expected 16..100000000\n");
				return 2;
			}
			o.distinct_cap = (uint32_t)n;
		} else if (!strcmp(a, "--top-memory") && i + 1 < argc) {
			double mb = atof(argv[++i]);
			if (!(mb >= 0.001 && mb <= 65536)) {
				fprintf(stderr, "mailmon logstat: --top-memory: expected MB, 0.001..65536\n");
				return 2;
			}
			o.top_memory = (size_t)(mb * 1048576.0);
		} else if (!strcmp(a, "--top") && i + 1 < argc) {
			int n = atoi(argv[++i]);
			if (n < 1 || n > 1000) {
				fprintf(stderr, "mailmon logstat: --top: expected 1..1000\n");
				return 2;
			}
			o.top = (unsigned)n;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--")) {
			first = i + 1;
			break;
		} else if (a[0] == '-' && a[1] != 0) {
			fprintf(stderr, "mailmon logstat: unknown option \"%s\"; see mailmon "
					"logstat --help\n", a);
			return 2;
		} else {
			first = i;
			break;
		}
	}
	if (first >= argc) {
		fprintf(stderr, "mailmon logstat: no FILE given (use - for standard input)\n");
		return 2;
	}
	o.parser = mm_parser_find(format);
	if (!o.parser) {
		fprintf(stderr, "mailmon logstat: --format: unknown grammar \"%s\" (auto, "
				"postfix, msgsrv, dovecot, exim)\n", format);
		return 2;
	}
	if (o.year_hint <= 0) {
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		o.year_hint = tm.tm_year + 1900;
	}

	struct mm_logstat *ls = mm_logstat_new(&o);
	int rc = 0;
	for (int i = first; i < argc; i++) {
		struct mm_err err;
		struct mm_linereader *r = mm_linereader_open(argv[i], &err);
		if (!r) {
			fprintf(stderr, "mailmon logstat: %s\n", err.msg);
			rc = 1;
			continue;
		}
		const char *line;
		size_t len;
		int got;
		while ((got = mm_linereader_next(r, &line, &len)) > 0)
			mm_logstat_line(ls, line, len);
		if (got < 0) {
			fprintf(stderr, "mailmon logstat: %s\n", mm_linereader_error(r));
			rc = 1;
		}
		mm_logstat_note_capped(ls, mm_linereader_stats(r)->capped);
		mm_linereader_close(r);
	}
	if (json) {
		json_t *doc = mm_logstat_json(ls);
		char *text = json_dumps(doc, JSON_INDENT(2));
		if (text)
			puts(text);
		free(text);
		json_decref(doc);
	} else {
		mm_logstat_text(ls, stdout);
	}
	if (fflush(stdout) != 0) {
		perror("mailmon logstat: stdout");
		rc = 1;
	}
	mm_logstat_free(ls);
	(void)cli;
	return rc;
}

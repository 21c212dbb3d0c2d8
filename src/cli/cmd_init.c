/*
 * mailmon init: discover the mail system of this host and write a
 * complete, commented config for it (src/discover/ does the reading).
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/atomicfile.h"
#include "core/config.h"
#include "core/xalloc.h"
#include "discover/discover.h"
#include "services/service_check.h"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon init - write a config for the mail system of this host\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon init [--dry-run] [--write FILE [--force]]\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    Reads the mail system's own configuration and writes a complete,\n"
	      "    commented mailmon config for it:\n"
	      "      Postfix   every instance of postmulti -l: postconf (queue, command\n"
	      "                directory, syslog_name, maillog_file, inet_interfaces,\n"
	      "                content_filter, defer_transports) and the smtpd,\n"
	      "                submission and smtps listeners of master.cf\n"
	      "      Dovecot   doveconf -n: protocols, listeners, TLS, log_path,\n"
	      "                mail_location (the store partition)\n"
	      "      slapd     its listeners (SLAPD_SERVICES in /etc/default/slapd)\n"
	      "      logs      maillog_file, log_path, rsyslog or syslog-ng rules for the\n"
	      "                mail facility, else the journal\n"
	      "      systemd   the units of those servers, for restart commands\n"
	      "    Each value written says where it came from. A value that could not\n"
	      "    be determined is written commented out, with the reason. Probes get\n"
	      "    no credentials; the file says where to add them. The result is\n"
	      "    checked as `mailmon config check` would before it is written.\n"
	      "    Commands run without a shell, each bounded to 10 s and 4 MiB.\n"
	      "\n"
	      "OPTIONS\n"
	      "    --dry-run     print what was found and why, and the keys it would set;\n"
	      "                  write nothing\n"
	      "    --write FILE  write the config to FILE (default: standard output);\n"
	      "                  an existing FILE is kept unless --force\n"
	      "    --force       replace an existing FILE\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 written (or printed); 1 no mail system found, or the result does\n"
	      "    not pass config check, or FILE exists; 2 bad usage.\n",
	      out);
}

static void print_dry_run(const struct mm_plan *plan)
{
	printf("Found:\n");
	for (size_t i = 0; i < plan->notes.n; i++)
		printf("  %s\n", plan->notes.v[i].name);
	printf("\nWould set:\n");
	for (size_t s = 0; s < plan->n; s++) {
		const struct mm_plan_section *sec = &plan->secs[s];
		for (size_t k = 0; k < sec->n; k++) {
			const struct mm_plan_key *key = &sec->keys[k];
			printf("  %s%s.%s = %s\n", key->off ? "# " : "", sec->name, key->key,
			       key->value);
			if (key->why) {
				/* the reason, indented, one line per line */
				for (const char *p = key->why; *p;) {
					size_t n = strcspn(p, "\n");
					printf("      %.*s\n", (int)n, p);
					p += n + (p[n] == '\n');
				}
			}
		}
	}
}

/* Checks text as `mailmon config check` does; prints the problems. */
static int check_text(const char *text, const char *name)
{
	struct mm_diags diags = {0};
	struct mm_config *conf = mm_config_load_string(text, name, &diags);
	if (conf)
		mm_services_check(conf, &diags);
	for (size_t i = 0; i < diags.n; i++)
		fprintf(stderr, "mailmon init: %s\n", diags.msgs[i]);
	int bad = !conf || diags.n > 0;
	mm_config_free(conf);
	mm_diags_free(&diags);
	return bad ? -1 : 0;
}

static char *header(int found)
{
	char host[256] = "this host", stamp[64] = "";
	gethostname(host, sizeof host);
	host[sizeof host - 1] = '\0';
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M UTC", &tm);
	return xasprintf(
		"mailmon.conf for %s, written by `mailmon init` on %s\n"
		"(%d mail component%s found; `mailmon init --dry-run` says what and why).\n"
		"\n"
		"Keys set below were read from the mail system; the comment above each\n"
		"says where from. Keys commented out with \"Not determined\" need a value\n"
		"from you. All other keys are at their defaults, commented out.\n"
		"Check after editing: mailmon config check FILE",
		host, stamp, found, found == 1 ? "" : "s");
}

int cmd_init(struct mm_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, 'n'},
		{"write", required_argument, NULL, 'w'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool dry = false, force = false;
	const char *file = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "nw:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': dry = true; break;
		case 'w': file = optarg; break;
		case 'f': force = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mailmon init: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (file && !force && access(file, F_OK) == 0 && !dry) {
		fprintf(stderr, "mailmon init: %s exists; keeping it (--force replaces it)\n", file);
		return 1;
	}
	struct mm_plan plan;
	memset(&plan, 0, sizeof plan);
	int found = mm_discover(mm_host_system(), &plan);
	int rc = 0;
	char *head = header(found), *text = mm_plan_render(&plan, head);
	if (dry) {
		print_dry_run(&plan);
		goto out;
	}
	if (found == 0) {
		fprintf(stderr, "mailmon init: no mail system found (no Postfix, Dovecot or slapd "
				"configured); see mailmon init --dry-run\n");
		rc = 1;
		goto out;
	}
	if (check_text(text, file ? file : "(mailmon init)") < 0) {
		fprintf(stderr, "mailmon init: the config written would not pass config check; "
				"nothing written\n");
		rc = 1;
		goto out;
	}
	if (!file) {
		fputs(text, stdout);
		goto out;
	}
	/* The directory (/etc/mailmon) may not exist yet on a fresh host. */
	char *dircopy = xstrdup(file);
	const char *dir = dirname(dircopy);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "mailmon init: mkdir %s: %s\n", dir, strerror(errno));
		rc = 1;
	}
	free(dircopy);
	struct mm_err err;
	if (rc == 0 && mm_file_write_atomic(file, text, strlen(text), 0644, &err) < 0) {
		fprintf(stderr, "mailmon init: %s\n", err.msg);
		rc = 1;
	}
	if (rc == 0)
		fprintf(stderr, "mailmon init: wrote %s (%d mail component%s; checked OK)\n", file,
			found, found == 1 ? "" : "s");
out:
	(void)cli;
	free(head);
	free(text);
	mm_plan_free(&plan);
	return rc;
}

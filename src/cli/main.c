/*
 * mailmon: command-line entry. Handles the global options, then hands
 * argc/argv from the subcommand name on to the subcommand.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon - monitor, alarm and heal mail servers and clusters\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon [-c FILE] COMMAND [ARGS...]\n"
	      "    mailmon COMMAND --help\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    The command line of mailmon: one-shot checks and reports, and views\n"
	      "    of the running daemon, mailmond(8).\n"
	      "\n"
	      "COMMANDS\n",
	      out);
	for (const struct mm_command *c = mm_commands; c->name; c++)
		fprintf(out, "    %-12s %s\n", c->name, c->summary);
	fputs("\n"
	      "OPTIONS\n"
	      "    -c, --config FILE  configuration file (default $MAILMON_CONFIG, else\n"
	      "                       " MM_DEFAULT_CONFIG ")\n"
	      "    -h, --help         this text\n"
	      "    -V, --version      print the version\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 success; 1 what was checked is bad; 2 bad usage; 3 could not check.\n",
	      out);
}

struct mm_config *mm_cli_load_config(struct mm_cli *cli)
{
	if (!cli->config_explicit && access(cli->config_path, F_OK) != 0)
		return mm_config_defaults();
	struct mm_diags diags = {0};
	struct mm_config *conf = mm_config_load(cli->config_path, &diags);
	for (size_t i = 0; i < diags.n; i++)
		fprintf(stderr, "mailmon: %s\n", diags.msgs[i]);
	mm_diags_free(&diags);
	return conf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct mm_cli cli = {.config_path = MM_DEFAULT_CONFIG};
	const char *env = getenv("MAILMON_CONFIG");
	if (env && *env) {
		cli.config_path = env;
		cli.config_explicit = 1;
	}
	int c;
	/* "+" stops at the subcommand so its options stay its own. */
	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cli.config_path = optarg; cli.config_explicit = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("mailmon %s\n", MAILMON_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[optind];
	for (const struct mm_command *cmd = mm_commands; cmd->name; cmd++) {
		if (strcmp(cmd->name, name) == 0) {
			int first = optind;
			optind = 0; /* glibc: re-initialise getopt for the subcommand */
			int rc = cmd->run(&cli, argc - first, argv + first);
			free(cli.auth_line);
			return rc;
		}
	}
	fprintf(stderr, "mailmon: unknown command \"%s\"; see mailmon --help\n", name);
	return 2;
}

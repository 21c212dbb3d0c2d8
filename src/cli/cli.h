/*
 * cli: the `mailmon` command line. Each subcommand is one function in its
 * own cmd_*.c file, listed once in commands.c. Subcommands print their
 * own errors (this is a program edge) and return the exit status.
 *
 * Exit statuses: 0 success, 1 the thing checked is bad or failed,
 * 2 bad usage, 3 unknown / could not check (the Nagios convention, which
 * `mailmon probe` follows exactly).
 */
#ifndef MAILMON_CLI_CLI_H
#define MAILMON_CLI_CLI_H

#include <stdio.h>

#define MM_DEFAULT_CONFIG "/etc/mailmon/mailmon.conf"

struct mm_cli {
	const char *config_path; /* -c, $MAILMON_CONFIG, or the default */
	int config_explicit;	 /* given by -c or the environment */
	char *auth_line;	 /* api_client.c: "Authorization: ..." once read */
	const char *auth_headers[2];
	int auth_done;
};

struct mm_command {
	const char *name;
	int (*run)(struct mm_cli *cli, int argc, char **argv);
	const char *summary; /* one line for `mailmon --help` */
};

extern const struct mm_command mm_commands[];

int cmd_config(struct mm_cli *cli, int argc, char **argv);
int cmd_status(struct mm_cli *cli, int argc, char **argv);
int cmd_cluster(struct mm_cli *cli, int argc, char **argv);
int cmd_isolate(struct mm_cli *cli, int argc, char **argv);
int cmd_history(struct mm_cli *cli, int argc, char **argv);
int cmd_qshape(struct mm_cli *cli, int argc, char **argv);
int cmd_qm(struct mm_cli *cli, int argc, char **argv);
int cmd_counters(struct mm_cli *cli, int argc, char **argv);
int cmd_logstat(struct mm_cli *cli, int argc, char **argv);
int cmd_probe(struct mm_cli *cli, int argc, char **argv);
int cmd_init(struct mm_cli *cli, int argc, char **argv);
int cmd_e2e(struct mm_cli *cli, int argc, char **argv);
int cmd_counterutil(struct mm_cli *cli, int argc, char **argv);
int cmd_metrics(struct mm_cli *cli, int argc, char **argv);
int cmd_alarms(struct mm_cli *cli, int argc, char **argv);

/* config_man.c: mailmon.conf(5) in roff, from the config schema. */
void mm_cli_config_man(FILE *out);

/* Loads the CLI's config (the default path may be absent: defaults).
 * Prints diagnostics and returns NULL on error. */
struct mm_config *mm_cli_load_config(struct mm_cli *cli);

#endif

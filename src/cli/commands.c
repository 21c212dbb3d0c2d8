/* commands: the table of `mailmon` subcommands, in the order --help shows. */
#include "cli/cli.h"

#include <stddef.h>

const struct mm_command mm_commands[] = {
	{"status", cmd_status, "state of the running mailmond"},
	{"probe", cmd_probe, "check one mail service once (Nagios/Icinga plugin)"},
	{"qshape", cmd_qshape, "queue shape by domain and age (Postfix qshape drop-in)"},
	{"qm", cmd_qm, "queue summaries: qm summarize, qm messages [DEST]"},
	{"config", cmd_config, "check, get and set configuration keys"},
	{NULL, NULL, NULL},
};

/*
 * queue_cli: what `mailmon qshape` and `mailmon qm` share: the -c/--mode
 * options and opening the MTA backend from the config.
 */
#ifndef MAILMON_CLI_QUEUE_CLI_H
#define MAILMON_CLI_QUEUE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"
#include "mta/mta.h"

struct mm_queue_cli {
	const char *dirs[MM_MTA_MAX_INSTANCES]; /* -c DIR, repeatable */
	size_t ndirs;
	const char *mode; /* --mode, NULL: [queue] mode */
	bool reasons;	  /* read delay reasons */
	bool watch;	  /* keep the cache for rescans */
};

/* Adds one -c DIR; prints and returns -1 when there are too many. */
int mm_queue_cli_add_dir(struct mm_queue_cli *q, const char *prog, const char *dir);
/* Sets --mode (auto, direct or postqueue); prints and returns -1 for
 * anything else. */
int mm_queue_cli_set_mode(struct mm_queue_cli *q, const char *prog, const char *mode);
/* Loads the config and opens the backend; prints errors (prog: prefix) and
 * returns NULL. *conf_out (optional) receives the config, caller frees. */
struct mm_mta *mm_queue_cli_open(struct mm_cli *cli, const struct mm_queue_cli *q,
				 const char *prog, struct mm_config **conf_out);
/* Prints a one-line note on stderr when the scan skipped or could not read
 * files. */
void mm_queue_cli_note(const char *prog, const struct mm_qsnap *snap);

#endif

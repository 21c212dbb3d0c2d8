/*
 * postconf_out: parsers for what Postfix's own tools print, for
 * `mailmon init`.
 *
 *   mm_postconf_parse()  `postconf -c DIR NAME...` output ("name = value"
 *                        lines, continuation lines start with a blank)
 *   mm_postmulti_parse() `postmulti -l` output: one instance per line,
 *                        "NAME GROUP ENABLED CONFIG_DIRECTORY"
 *
 * Errors: -1 with err naming the line (1-based) of the first malformed
 * line; what was parsed before it stays in the output, which the caller
 * owns (mm_kvlist_free, free()).
 */
#ifndef MAILMON_DISCOVER_POSTCONF_OUT_H
#define MAILMON_DISCOVER_POSTCONF_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/kvlist.h"

#define MM_PF_MAX_INSTANCES 32

struct mm_pf_instance {
	char name[64];	 /* "-" for the default instance */
	char group[64];	 /* "-" when none */
	bool enabled;
	char config_dir[256];
};

int mm_postconf_parse(const char *text, size_t len, struct mm_kvlist *out,
		      struct mm_err *err);
/* Fills at most MM_PF_MAX_INSTANCES; more is an error. */
int mm_postmulti_parse(const char *text, size_t len, struct mm_pf_instance *out,
		       size_t *n, struct mm_err *err);

#endif

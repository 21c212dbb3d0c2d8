/*
 * logpipe_state: encode and restore the log pipeline's state (counters
 * file values, channel ids, in-flight messages) as versioned text; see
 * logpipe_state.c for the format and the rules.
 */
#ifndef MAILMON_LOGS_LOGPIPE_STATE_H
#define MAILMON_LOGS_LOGPIPE_STATE_H

#include "core/err.h"
#include "logs/channels.h"
#include "logs/counters_file.h"
#include "logs/lifecycle.h"

/* A heap string the caller frees. */
char *mm_logpipe_state_encode(struct mm_cfile *cf, struct mm_channels *ch,
			      const struct mm_lifecycle *lc);
/* Applies text; -1 with err when it is not a valid version-1 state. */
int mm_logpipe_state_restore(const char *text, struct mm_cfile *cf, struct mm_channels *ch,
			     struct mm_lifecycle *lc, struct mm_err *err);

#endif

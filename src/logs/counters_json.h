/*
 * counters_json: the counters file as one JSON document, shared by
 * `mailmon counters -show --json` and mailmond's /api/counters so both
 * say the same thing with the same names (mm_cg_field_names).
 *
 * Document: {"file", "version", "generation", "created_ms", "cleared_ms",
 * "writer_pid", "max_channels", "pipeline": {lines, unparsed, inflight,
 * evicted_full, evicted_age, recipients_not_kept}, "channels": [{"name",
 * every counter by name, "minimums": {...}, "last_reject",
 * "last_connect_failure"}]}.
 *
 * Returns a new reference the caller owns, or NULL with err when a group
 * stayed busy (the writer is never waited for).
 */
#ifndef MAILMON_LOGS_COUNTERS_JSON_H
#define MAILMON_LOGS_COUNTERS_JSON_H

#include <jansson.h>

#include "core/err.h"
#include "logs/counters_file.h"

json_t *mm_cfile_to_json(const struct mm_cfile *cf, struct mm_err *err);

#endif

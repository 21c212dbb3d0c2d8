/*
 * nagios: what the plugin commands (`mailmon probe`, `mailmon e2e`) share:
 * the exit codes and their names, SECS options, printing a JSON document,
 * the UNKNOWN answer (a line, or a JSON object with --json) and the
 * perfdata fields after the "|" of the status line.
 *
 * Everything prints to stdout (these are the CLI's edge); the JSON
 * printers take over the document and release it.
 */
#ifndef MAILMON_CLI_NAGIOS_H
#define MAILMON_CLI_NAGIOS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct json_t json_t;

enum { NAGIOS_OK, NAGIOS_WARNING, NAGIOS_CRITICAL, NAGIOS_UNKNOWN };
extern const char *const mm_nagios_names[4];

/* "1.5" -> 1500 ms; > 0 (>= 0 with zero_ok), at most a day. Prints
 * "mailmon CMD: OPT: ..." and returns -1 when it is not. */
int mm_nagios_secs(const char *cmd, const char *opt, const char *v, bool zero_ok, int64_t *ms);
/* Prints doc (indented, sorted keys) and releases it. */
void mm_nagios_print_json(json_t *doc);
/* Could not check: "LABEL UNKNOWN - msg", or with json an object with
 * status UNKNOWN and failure_key = "internal". Returns NAGIOS_UNKNOWN. */
int mm_nagios_unknown(bool json, const char *label, const char *failure_key, const char *msg);
/* Sets doc's "status" to rc's name, then prints and releases it. */
void mm_nagios_print_result(json_t *doc, int rc);

/* Perfdata (Nagios plugin API: 'label'=value[UOM];warn;crit;min;max).
 * mm_nagios_perf: " LABEL=S.SSSSSSs" for a time in us; nothing when us
 * is negative (not measured). mm_nagios_perf_range: the same with its
 * thresholds, ";WARN;CRIT;0;MAX" in seconds, WARN and CRIT left empty
 * when 0 (not set). */
void mm_nagios_perf(const char *label, int64_t us);
void mm_nagios_perf_range(const char *label, int64_t us, int64_t warn_ms, int64_t crit_ms,
			  int64_t max_ms);

#endif

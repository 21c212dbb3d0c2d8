/*
 * nagios: what the plugin commands (`mailmon probe`, `mailmon e2e`) share:
 * the exit codes and their names, SECS options, printing a JSON document,
 * and the UNKNOWN answer (a line, or a JSON object with --json).
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

#endif

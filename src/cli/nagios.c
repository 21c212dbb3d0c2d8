/* nagios: see nagios.h. */
#include "cli/nagios.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

const char *const mm_nagios_names[4] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

int mm_nagios_secs(const char *cmd, const char *opt, const char *v, bool zero_ok, int64_t *ms)
{
	char *end;
	double d = strtod(v, &end);
	if (end == v || *end || d < 0 || (d == 0 && !zero_ok) || d > 86400) {
		fprintf(stderr, "mailmon %s: %s: expected seconds %s, got \"%s\"\n", cmd, opt,
			zero_ok ? ">= 0" : "> 0", v);
		return -1;
	}
	*ms = (int64_t)(d * 1000 + 0.5);
	return 0;
}

void mm_nagios_print_json(json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text)
		puts(text);
	free(text);
	json_decref(doc);
}

int mm_nagios_unknown(bool json, const char *label, const char *failure_key, const char *msg)
{
	if (json)
		mm_nagios_print_json(json_pack("{s:s, s:b, s:s, s:s}", "status", "UNKNOWN", "ok", 0,
					       failure_key, "internal", "message", msg));
	else
		printf("%s UNKNOWN - %s\n", label, msg);
	return NAGIOS_UNKNOWN;
}

void mm_nagios_print_result(json_t *doc, int rc)
{
	json_object_set_new(doc, "status", json_string(mm_nagios_names[rc]));
	mm_nagios_print_json(doc);
}

void mm_nagios_perf(const char *label, int64_t us)
{
	if (us >= 0)
		printf(" %s=%.6fs", label, (double)us / 1e6);
}

void mm_nagios_perf_range(const char *label, int64_t us, int64_t warn_ms, int64_t crit_ms,
			  int64_t max_ms)
{
	printf(" %s=%.6fs;", label, (double)us / 1e6);
	if (warn_ms)
		printf("%.3f", (double)warn_ms / 1000);
	putchar(';');
	if (crit_ms)
		printf("%.3f", (double)crit_ms / 1000);
	printf(";0;%.3f", (double)max_ms / 1000);
}

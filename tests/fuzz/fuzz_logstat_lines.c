/* fuzz_logstat_lines: any bytes as log lines through the whole consumer
 * side (auto parser -> lifecycle -> channel counters -> logstat report,
 * text and JSON) with small caps, so eviction, "other" channels and
 * "(other)" destinations are reached. Must never crash, leak or overflow. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logs/logstat.h"
#include "parsers/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_logstat_opts o = {.parser = mm_parser_find("auto"), .year_hint = 2026,
				    .max_inflight = 16, .max_destinations = 4,
				    .distinct_cap = 16, .top = 2};
	struct mm_logstat *ls = mm_logstat_new(&o);
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		mm_logstat_line(ls, p, len);
		p += len + (nl != NULL);
	}
	json_t *doc = mm_logstat_json(ls);
	char *s = json_dumps(doc, 0);
	free(s);
	json_decref(doc);
	FILE *null = fopen("/dev/null", "w");
	if (null) {
		mm_logstat_text(ls, null);
		fclose(null);
	}
	mm_logstat_free(ls);
	return 0;
}

/* parser_prefixes: the check every parser test runs on its table lines:
 * each prefix of a line parses without reading past its end (run under
 * ASan: each prefix is a separate allocation of exactly that size) and
 * yields a known event type. */
#ifndef MAILMON_TEST_PARSER_PREFIXES_H
#define MAILMON_TEST_PARSER_PREFIXES_H

#include <stdlib.h>
#include <string.h>

#include "parsers/logevent.h"

typedef void parse_fn(const char *line, size_t len, int year_hint, struct mm_log_event *ev);

static inline void check_prefixes(const char *line, parse_fn *parse)
{
	size_t len = strlen(line);
	for (size_t n = 0; n <= len; n++) {
		char *copy = malloc(n ? n : 1);
		memcpy(copy, line, n);
		struct mm_log_event ev;
		parse(copy, n, 2026, &ev);
		assert_true(ev.type < MM_EV__COUNT);
		free(copy);
	}
}

#endif

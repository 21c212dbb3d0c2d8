/*
 * need: for unit tests that depend on a tool or a setting outside the
 * test (systemd-journal-remote, MAILMON_SOURCE_DIR). Missing, the test is
 * skipped on a developer's machine but fails under CI=true, where a skip
 * would hide that it never ran.
 */
#ifndef MAILMON_TESTS_NEED_H
#define MAILMON_TESTS_NEED_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline bool mm_test_in_ci(void)
{
	const char *ci = getenv("CI");
	return ci && strcmp(ci, "true") == 0;
}

/* Call as NEED(have, "what is missing"): returns from the test (skip)
 * or fails it under CI. */
#define NEED(have, what)                                                                   \
	do {                                                                               \
		if (!(have)) {                                                             \
			if (mm_test_in_ci())                                               \
				fail_msg("%s: required under CI=true", (what));            \
			skip();                                                            \
		}                                                                          \
	} while (0)

#endif

/* eta_test: the drain estimate in words (cluster/eta.h), table-driven;
 * the first row is the seed-style sentence of issue 15. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/eta.h"

static void test_words(void **state)
{
	static const struct {
		double msgs, growth;
		int known;
		const char *want;
	} t[] = {
		{2140, -85, 1, "deferred: backlog of 2,140 messages, draining at 85/min, clear in about 25 min"},
		{2140, 12, 1, "deferred: backlog of 2,140 messages, not draining (+12/min)"},
		{30, 0, 1, "deferred: backlog of 30 messages, not draining (steady)"},
		{1, -0.5, 1, "deferred: backlog of 1 message, draining at 0.5/min, clear in about 2 min"},
		{0, -3, 1, "deferred: empty"},
		{500, 0, 0, "deferred: backlog of 500 messages, rate not known yet"},
		{20, -100, 1, "deferred: backlog of 20 messages, draining at 100/min, clear in under a minute"},
		{90000, -1000, 1, "deferred: backlog of 90,000 messages, draining at 1,000/min, clear in about 1.5 h"},
		{1e6, -100, 1, "deferred: backlog of 1,000,000 messages, draining at 100/min, clear in about 7 days"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char buf[200];
		mm_eta_words("deferred", t[i].msgs, t[i].growth, t[i].known, buf, sizeof buf);
		if (strcmp(buf, t[i].want) != 0)
			fail_msg("row %zu: got \"%s\", want \"%s\"", i, buf, t[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_words)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

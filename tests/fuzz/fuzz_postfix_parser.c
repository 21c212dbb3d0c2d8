/* fuzz_postfix_parser: the postfix grammar on arbitrary input, with and without
 * a line end, then the per-program counts and the "connect to transport"
 * reading of progstat on the event. Invariants: see fuzz_event_check.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_event_check.h"
#include "logs/progstat.h"
#include "parsers/postfix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_log_event ev;
	mm_postfix_parse((const char *)data, size, 2026, &ev);
	fuzz_check_event(&ev, data, size);
	static struct mm_progstat ps; /* fills up across inputs: reaches "other" */
	mm_progstat_event(&ps, &ev);
	for (size_t i = 0; i < ps.transports.n; i++)
		if (!memchr(ps.transports.v[i].name, '\0', sizeof ps.transports.v[i].name))
			abort();
	return 0;
}

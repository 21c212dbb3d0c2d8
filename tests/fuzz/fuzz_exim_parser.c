/* fuzz_exim_parser: the Exim main-log grammar on arbitrary input, and the
 * "auto" dispatch that recognises it. Invariants: see fuzz_event_check.h. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_event_check.h"
#include "parsers/exim.h"
#include "parsers/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_log_event ev;
	mm_exim_parse((const char *)data, size, 2026, &ev);
	fuzz_check_event(&ev, data, size);
	mm_auto_parse((const char *)data, size, 2026, &ev);
	fuzz_check_event(&ev, data, size);
	(void)mm_exim_looks_like((const char *)data, size);
	return 0;
}

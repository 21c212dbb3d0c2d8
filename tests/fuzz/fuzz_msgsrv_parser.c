/* fuzz_msgsrv_parser: the msgsrv grammar on arbitrary input, with and without
 * a line end. Invariants: see fuzz_event_check.h. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_event_check.h"
#include "parsers/msgsrv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_log_event ev;
	mm_msgsrv_parse((const char *)data, size, 2026, &ev);
	fuzz_check_event(&ev, data, size);
	return 0;
}

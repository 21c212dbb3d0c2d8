/* fuzz_syslog_header: the header reader and the auto dispatcher on
 * arbitrary input. Invariants: the message offset stays inside the input,
 * the views lie inside it, and auto dispatch keeps the event invariants
 * of fuzz_event_check.h. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_event_check.h"
#include "parsers/parser.h"
#include "parsers/syslog_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_syslog_hdr h;
	if (mm_syslog_parse((const char *)data, size, 2026, &h) == 0) {
		if (h.msg_off > size)
			abort();
		fuzz_check_sv(h.host, data, size, 0);
		fuzz_check_sv(h.program, data, size, 0);
		fuzz_check_sv(h.instance, data, size, 0);
		fuzz_check_sv(h.service, data, size, 0);
	}
	struct mm_log_event ev;
	mm_auto_parse((const char *)data, size, 0, &ev);
	fuzz_check_event(&ev, data, size);
	return 0;
}

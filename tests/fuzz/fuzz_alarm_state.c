/* fuzz_alarm_state: the alarm state decoder takes whatever is in
 * STATE_DIRECTORY/alarm-state (truncated, edited, foreign). It must never
 * crash, leak or read out of bounds; a refused file adds nothing, and
 * whatever it accepts must encode to a file that decodes to the same
 * encoding again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alarm/alarm_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_err err;
	struct mm_alarm_engine *e = mm_alarm_engine_new();
	if (mm_alarm_state_parse(e, (const char *)data, size, "fuzz", &err) < 0) {
		if (e->ninst != 0 || e->nsil != 0 || err.msg[0] == '\0')
			abort();
		mm_alarm_engine_free(e);
		return 0;
	}
	struct mm_strbuf a, b;
	mm_strbuf_init(&a, MM_ALARM_STATE_MAX);
	mm_strbuf_init(&b, MM_ALARM_STATE_MAX);
	mm_alarm_state_format(e, &a);
	struct mm_alarm_engine *again = mm_alarm_engine_new();
	if (mm_alarm_state_parse(again, a.p, a.len, "again", &err) < 0)
		abort();
	mm_alarm_state_format(again, &b);
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		abort();
	mm_strbuf_free(&a);
	mm_strbuf_free(&b);
	mm_alarm_engine_free(e);
	mm_alarm_engine_free(again);
	return 0;
}

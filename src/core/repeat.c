/*
 * repeat: see repeat.h.
 */
#include "core/repeat.h"

bool mm_repeat_due(struct mm_repeat *r, int64_t now_ms, uint64_t *suppressed)
{
	int64_t window = r->window_ms > 0 ? r->window_ms : 60000;
	r->total++;
	if (r->last_ms != 0 && now_ms - r->last_ms < window) {
		r->suppressed++;
		return false;
	}
	if (suppressed)
		*suppressed = r->suppressed;
	r->suppressed = 0;
	r->last_ms = now_ms ? now_ms : 1;
	return true;
}

uint64_t mm_repeat_clear(struct mm_repeat *r)
{
	uint64_t n = r->total;
	r->total = 0;
	r->suppressed = 0;
	r->last_ms = 0;
	return n;
}

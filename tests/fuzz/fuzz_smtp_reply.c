/* fuzz_smtp_reply: the smtp end-of-reply parser on arbitrary lines.
 * The first byte picks the parser's mode; the rest is split at LF the way
 * the probe engine splits a reply (CR before LF dropped). Each line is
 * copied into an exact-size heap buffer so ASan sees any over-read. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct mm_reply_state st = {0};
	
	mm_reply_reset(&st);
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t l2 = len && p[len - 1] == '\r' ? len - 1 : len;
		char *line = malloc(l2 ? l2 : 1);
		memcpy(line, p, l2);
		int r = mm_smtp_reply_feed(&st, line, l2);
		(void)mm_reply_has_word(line, l2, "STARTTLS");
		free(line);
		if (r != MM_REPLY_MORE)
			mm_reply_reset(&st);
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

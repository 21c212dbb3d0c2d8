/* fuzz_reply_lines: the body shared by the reply-parser fuzz targets.
 * The input after its first byte (which each target uses to pick the
 * parser's mode) is split at LF the way the probe engine splits a reply
 * (CR before LF dropped); each line is copied into an exact-size heap
 * buffer so ASan sees any over-read, and fed to the parser. */
#ifndef MAILMON_FUZZ_REPLY_LINES_H
#define MAILMON_FUZZ_REPLY_LINES_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/reply.h"

typedef int reply_feed_fn(struct mm_reply_state *st, const char *line, size_t len);
/* Optional: sees each line after the parser did (r its verdict). */
typedef void reply_line_hook(const struct mm_reply_state *st, const char *line, size_t len, int r);

static inline void fuzz_reply_lines_hook(const uint8_t *data, size_t size,
					 struct mm_reply_state *st, reply_feed_fn *feed,
					 reply_line_hook *hook)
{
	mm_reply_reset(st);
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t l2 = len && p[len - 1] == '\r' ? len - 1 : len;
		char *line = malloc(l2 ? l2 : 1);
		memcpy(line, p, l2);
		st->eol = l2 < len ? 2 : 1;
		int r = feed(st, line, l2);
		if (hook)
			hook(st, line, l2, r);
		(void)mm_reply_has_word(line, l2, "STARTTLS");
		free(line);
		if (r != MM_REPLY_MORE)
			mm_reply_reset(st);
		p += len + (nl ? 1 : 0);
	}
}

static inline void fuzz_reply_lines(const uint8_t *data, size_t size, struct mm_reply_state *st,
				    reply_feed_fn *feed)
{
	fuzz_reply_lines_hook(data, size, st, feed, NULL);
}

#endif

/* fuzz_imap_fetch: FETCH and SEARCH replies on arbitrary lines: each line
 * goes through the literal-counting reply parser and then the FETCH item
 * parser, as the mailbox task feeds them (fuzz_reply_lines.h); the whole
 * input through the SEARCH UID reader. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_reply_lines.h"
#include "probes/imap_fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mm_imap_item item;

static void on_line(const struct mm_reply_state *st, const char *line, size_t len, int r)
{
	if (r == MM_REPLY_BAD) {
		memset(&item, 0, sizeof item);
		return;
	}
	(void)mm_imap_item_feed(&item, st, line, len);
	if (item.len > MM_IMAP_ITEM_TEXT || strlen(item.text) > item.len)
		abort();
	if (r == MM_REPLY_DONE)
		memset(&item, 0, sizeof item);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct mm_reply_state st = {0};
	st.tag = "m1";
	memset(&item, 0, sizeof item);
	fuzz_reply_lines_hook(data, size, &st, mm_imap_reply_feed, on_line);
	char *s = malloc(size);
	memcpy(s, data, size);
	uint32_t uids[16];
	if (mm_imap_search_uids(s, size, 0, uids, 16) > 16)
		abort();
	free(s);
	return 0;
}

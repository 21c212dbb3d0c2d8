/* fuzz_imap_reply: the imap end-of-reply parser on arbitrary lines
 * (see fuzz_reply_lines.h). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_reply_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct mm_reply_state st = {0};
	st.tag = (data[0] & 1) ? "m1" : NULL;
	fuzz_reply_lines(data, size, &st, mm_imap_reply_feed);
	return 0;
}

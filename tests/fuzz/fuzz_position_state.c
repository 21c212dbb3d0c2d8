/* fuzz_position_state: the saved-position decoder takes whatever is in
 * STATE_DIRECTORY/log-positions (truncated, edited, foreign). It must
 * never crash, leak or read out of bounds, and whatever it accepts must
 * encode back to a file it accepts again with the same contents. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/position.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_posfile pf;
	struct mm_err err;
	mm_posfile_init(&pf);
	if (mm_posfile_decode((const char *)data, size, &pf, &err) < 0) {
		if (pf.n != 0 || err.msg[0] == '\0')
			abort();
		return 0;
	}
	size_t len;
	char *text = mm_posfile_encode(&pf, &len);
	struct mm_posfile again;
	mm_posfile_init(&again);
	if (mm_posfile_decode(text, len, &again, &err) < 0 || again.n != pf.n)
		abort();
	size_t len2;
	char *text2 = mm_posfile_encode(&again, &len2);
	if (len2 != len || memcmp(text, text2, len) != 0)
		abort();
	free(text);
	free(text2);
	mm_posfile_free(&pf);
	mm_posfile_free(&again);
	return 0;
}

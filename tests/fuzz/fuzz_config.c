/* fuzz_config: the config loader and the in-place editor on arbitrary text.
 * Invariants: no crash, and an accepted config round-trips through an edit
 * of one of its keys and is still accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/config_edit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct mm_diags d = {0};
	struct mm_config *conf = mm_config_load_string(text, "fuzz.conf", &d);
	if (conf) {
		char *edited = mm_config_edit_text(text, "alarm.diskavail", "threshold", "42");
		struct mm_diags d2 = {0};
		struct mm_config *c2 = mm_config_load_string(edited, "fuzz2.conf", &d2);
		/* Setting a key in a valid config either yields a config with
		 * that value, or is refused with a diagnostic (e.g. the file
		 * had a multi-line value the line editor split). */
		if (c2 && mm_config_int(c2, "alarm.diskavail", "threshold") != 42)
			abort();
		if (!c2 && d2.n == 0)
			abort();
		mm_config_free(c2);
		mm_diags_free(&d2);
		free(edited);
	}
	mm_config_free(conf);
	mm_diags_free(&d);
	free(text);
	return 0;
}

/* fuzz_defer_log: the Postfix defer log parser and the reason classifier
 * (class and the cause behind a suspension) on arbitrary bytes. Seeds: real defer logs from the lab
 * (corpus/fuzz_defer_log). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mta/postfix/defer_log.h"
#include "mta/reason_class.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mm_pf_defer d;
	if (size > MM_PF_DEFER_MAX_BYTES)
		size = MM_PF_DEFER_MAX_BYTES;
	mm_pf_defer_parse((const char *)data, size, &d);
	for (size_t i = 0; i < d.n; i++) {
		uint16_t code;
		mm_rclass_of(d.e[i].reason, d.e[i].status, &code);
		if (mm_rclass_cause(d.e[i].reason, d.e[i].status, &code) == MM_RC_SUSPENDED)
			__builtin_trap(); /* the marker is never its own cause */
		const struct mm_pf_defer_ent *e = mm_pf_defer_find(&d, d.e[i].rcpt);
		if (!e)
			__builtin_trap(); /* every recipient parsed must be found */
	}
	return 0;
}

/* fuzz_received: a fetched header section on arbitrary bytes: the
 * Received chain, header fields, the probe tag and both date parsers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/e2etag.h"
#include "probes/maildate.h"
#include "probes/received.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1); /* exact size: ASan sees any over-read */
	memcpy(s, data, size);
	struct mm_received_hop hops[MM_RECEIVED_MAX];
	size_t n = mm_received_parse(s, size, hops, MM_RECEIVED_MAX);
	if (n > MM_RECEIVED_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (strlen(hops[i].by) >= sizeof hops[i].by || strlen(hops[i].with) >= sizeof hops[i].with)
			abort();
	char v[256];
	if (mm_header_field(s, size, MM_E2E_HEADER, v, sizeof v)) {
		int64_t sent;
		char name[MM_E2E_NAME_MAX];
		if (strlen(v) >= sizeof v)
			abort();
		(void)mm_e2e_tag_parse(v, name, sizeof name, &sent);
	}
	int64_t ms;
	(void)mm_maildate_rfc5322(s, size, &ms);
	(void)mm_maildate_imap(s, size, &ms);
	free(s);
	return 0;
}

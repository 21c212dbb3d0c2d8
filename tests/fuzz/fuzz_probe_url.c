/* fuzz_probe_url: the probe URL parser on arbitrary strings (NUL-ended
 * copies), then the parameters' invariants. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probes/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct mm_probe_params p;
	struct mm_err err;
	mm_probe_params_init(&p);
	if (mm_probe_parse_url(s, &p, &err) == 0) {
		if (!p.unix_path[0] && (p.port <= 0 || p.port > 65535 || !p.host[0]))
			abort();
		if (strlen(p.user) >= sizeof p.user || strlen(p.pass) >= sizeof p.pass)
			abort();
	}
	free(s);
	return 0;
}

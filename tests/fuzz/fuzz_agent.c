/* fuzz_agent: the HAProxy agent-check request reader (cluster/agent.c) on
 * whatever a peer sends to [cluster] agent_listen. Invariants: the name
 * fits its buffer, holds only [A-Za-z0-9._-], and appears in the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[64];
	if (size > MM_AGENT_LINE_MAX)
		size = MM_AGENT_LINE_MAX;
	mm_agent_request((const char *)data, size, name, sizeof name);
	size_t n = strlen(name);
	if (n >= sizeof name)
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			abort();
	}
	if (n && !memmem(data, size, name, n))
		abort();
	return 0;
}

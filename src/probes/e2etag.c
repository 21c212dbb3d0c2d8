/* e2etag: see e2etag.h. */
#include "probes/e2etag.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

bool mm_e2e_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= MM_E2E_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

int mm_e2e_tag_make(const char *name, int64_t sent_ms, uint64_t nonce, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s %s %" PRId64 " %016" PRIx64, MM_E2E_MAGIC, name, sent_ms, nonce);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int mm_e2e_tag_prefix(const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s %s ", MM_E2E_MAGIC, name);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

bool mm_e2e_tag_parse(const char *value, char *name, size_t name_cap, int64_t *sent_ms)
{
	size_t ml = strlen(MM_E2E_MAGIC);
	if (strncmp(value, MM_E2E_MAGIC, ml) != 0 || value[ml] != ' ')
		return false;
	const char *s = value + ml + 1, *sp = strchr(s, ' ');
	if (!sp || sp == s || (size_t)(sp - s) >= MM_E2E_NAME_MAX)
		return false;
	char nm[MM_E2E_NAME_MAX];
	memcpy(nm, s, (size_t)(sp - s));
	nm[sp - s] = '\0';
	if (!mm_e2e_name_ok(nm))
		return false;
	const char *d = sp + 1;
	int64_t ms = 0;
	int digits = 0;
	while (isdigit((unsigned char)*d) && digits < 15) {
		ms = ms * 10 + (*d++ - '0');
		digits++;
	}
	if (digits == 0 || *d != ' ')
		return false;
	d++;
	size_t hex = 0;
	while (isxdigit((unsigned char)d[hex]))
		hex++;
	if (hex != 16 || d[hex] != '\0')
		return false;
	if (name) {
		if (name_cap <= strlen(nm))
			return false;
		strcpy(name, nm);
	}
	*sent_ms = ms;
	return true;
}

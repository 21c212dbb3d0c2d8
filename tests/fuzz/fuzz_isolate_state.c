/* fuzz_isolate_state: the isolation state decoder takes whatever is in
 * STATE_DIRECTORY/isolate/state (truncated, edited, foreign), and the
 * nexthop reader whatever postmap -q printed. Neither may crash, leak or
 * read out of bounds; a refused file leaves the set empty with a message;
 * whatever is accepted encodes to a file that decodes to the same
 * encoding again, and its map lines are clean (no newline inside). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/isolate_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	char nh[MM_ISOLATE_NEXTHOP];
	if (mm_isolate_nexthop_of(text, nh, sizeof nh) == 0 && !mm_isolate_nexthop_ok(nh))
		abort();

	struct mm_isolate_set *set = malloc(sizeof *set), *again = malloc(sizeof *again);
	struct mm_err err = {{0}};
	if (mm_isolate_parse(text, size, set, &err) < 0) {
		if (set->n != 0 || err.msg[0] == '\0')
			abort();
		goto out;
	}
	struct mm_strbuf a, b;
	mm_strbuf_init(&a, 1 << 20);
	mm_strbuf_init(&b, 1 << 20);
	mm_isolate_format(set, &a);
	if (mm_isolate_parse(a.p, a.len, again, &err) < 0)
		abort();
	mm_isolate_format(again, &b);
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		abort();
	mm_strbuf_reset(&a);
	mm_isolate_map(set, "isolated", &a);
	size_t lines = 0;
	for (size_t i = 0; i < a.len; i++)
		lines += a.p[i] == '\n';
	if (lines != set->n + 2)
		abort();
	mm_strbuf_free(&a);
	mm_strbuf_free(&b);
out:
	free(set);
	free(again);
	free(text);
	return 0;
}

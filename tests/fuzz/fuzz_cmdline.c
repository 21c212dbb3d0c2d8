/* fuzz_cmdline: configured command lines (restart commands, hooks) split
 * into argv, on arbitrary strings. Invariants: a split argv has at least
 * one word, no word longer than the line, and the words quoted and joined
 * again split back to the very same words. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmdline.h"
#include "core/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Quotes every word with '...' (a ' inside becomes '"'"'), so the join
 * must split back to the very same words. */
static void join(char **argv, struct mm_strbuf *b)
{
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			mm_strbuf_addc(b, ' ');
		mm_strbuf_addc(b, '\'');
		for (const char *p = argv[i]; *p; p++) {
			if (*p == '\'')
				mm_strbuf_adds(b, "'\"'\"'");
			else
				mm_strbuf_addc(b, *p);
		}
		mm_strbuf_addc(b, '\'');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct mm_err err;
	char **argv = mm_cmdline_split(s, &err);
	if (argv) {
		if (!argv[0])
			abort();
		size_t n = 0;
		for (; argv[n]; n++)
			if (strlen(argv[n]) > strlen(s))
				abort();
		struct mm_strbuf b;
		mm_strbuf_init(&b, 0);
		join(argv, &b);
		char **again = mm_cmdline_split(b.p, &err);
		if (!again)
			abort();
		for (size_t i = 0; i <= n; i++)
			if ((again[i] == NULL) != (argv[i] == NULL) ||
			    (argv[i] && strcmp(again[i], argv[i]) != 0))
				abort();
		free(again);
		mm_strbuf_free(&b);
		free(argv);
	}
	free(s);
	return 0;
}

/* cmdline: see cmdline.h. */
#include "core/cmdline.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

char **mm_cmdline_split(const char *line, struct mm_err *err)
{
	size_t len = strlen(line);
	/* Worst case: every other byte starts a word. One block: pointers,
	 * then the words. */
	size_t maxw = len / 2 + 2;
	char **argv = xmalloc(maxw * sizeof *argv + len + 1);
	char *out = (char *)(argv + maxw);
	size_t n = 0;
	const char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		argv[n++] = out;
		char quote = 0;
		while (*p && (quote || (*p != ' ' && *p != '\t'))) {
			if (quote && *p == quote) {
				quote = 0;
				p++;
			} else if (!quote && (*p == '\'' || *p == '"')) {
				quote = *p++;
			} else if (*p == '\\' && quote != '\'' && p[1]) {
				*out++ = p[1];
				p += 2;
			} else {
				*out++ = *p++;
			}
		}
		*out++ = '\0';
		if (quote) {
			free(argv);
			mm_err_set(err, "unterminated quote in command \"%s\"", line);
			return NULL;
		}
	}
	if (n == 0) {
		free(argv);
		mm_err_set(err, "empty command");
		return NULL;
	}
	argv[n] = NULL;
	return argv;
}

char **mm_cmdline_argv(const char *line, bool shell, struct mm_err *err)
{
	if (!shell)
		return mm_cmdline_split(line, err);
	if (!*line) {
		mm_err_set(err, "empty command");
		return NULL;
	}
	char **argv = xmalloc(4 * sizeof *argv);
	argv[0] = (char *)"/bin/sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)line;
	argv[3] = NULL;
	return argv;
}

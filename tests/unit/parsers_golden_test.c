/*
 * parsers_golden_test: every tests/parsers/golden/<parser>-<name>.log is
 * run line by line through the parser named by its prefix ("postfix",
 * "dovecot", "msgsrv", "auto"), each event rendered with mm_ev_format, and
 * the result compared with <parser>-<name>.ref (one line per input line).
 *
 * Lines are split on '\n' only, so NUL bytes, '\r' and invalid UTF-8 reach
 * the parser as they are. TZ is UTC and the year hint 2026, so the refs do
 * not depend on the machine. MAILMON_GOLDEN_UPDATE=1 rewrites the .ref
 * files instead of comparing (review the diff before committing).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "parsers/event_fmt.h"
#include "parsers/parser.h"

#define YEAR_HINT 2026

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	size_t got;
	while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Renders every line of log through parser into a fresh buffer. */
static char *render(const struct mm_parser *parser, const char *log, size_t len, size_t *outlen)
{
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);
	static char line[1 << 18];
	const char *p = log, *e = log + len;
	while (out != NULL && p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		const char *le = nl ? nl : e;
		struct mm_log_event ev;
		parser->parse(p, (size_t)(le - p), YEAR_HINT, &ev);
		size_t w = mm_ev_format(&ev, line, sizeof line);
		if (w >= sizeof line)
			w = sizeof line - 1;
		while (n + w + 2 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		memcpy(out + n, line, w);
		n += w;
		out[n++] = '\n';
		p = nl ? nl + 1 : e;
	}
	*outlen = n;
	return out;
}

static int check_file(const char *dir, const char *name, int update)
{
	char parser_name[32], path[2048], ref[2048];
	const char *dash = strchr(name, '-');
	if (dash == NULL || (size_t)(dash - name) >= sizeof parser_name) {
		fprintf(stderr, "%s: name must be <parser>-<what>.log\n", name);
		return 1;
	}
	memcpy(parser_name, name, (size_t)(dash - name));
	parser_name[dash - name] = '\0';
	const struct mm_parser *parser = mm_parser_find(parser_name);
	if (parser == NULL) {
		fprintf(stderr, "%s: no parser called %s\n", name, parser_name);
		return 1;
	}
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(ref, sizeof ref, "%s/%.*s.ref", dir, (int)(strlen(name) - 4), name);
	size_t loglen, outlen, reflen;
	char *log = slurp(path, &loglen);
	assert_non_null(log);
	char *out = render(parser, log, loglen, &outlen);
	int bad = 0;
	if (update) {
		FILE *f = fopen(ref, "wb");
		assert_non_null(f);
		fwrite(out, 1, outlen, f);
		fclose(f);
	} else {
		char *want = slurp(ref, &reflen);
		if (want == NULL) {
			fprintf(stderr, "%s: missing %s\n", name, ref);
			bad = 1;
		} else if (reflen != outlen || memcmp(want, out, outlen) != 0) {
			/* report the first differing line */
			size_t i = 0, lineno = 1, start = 0;
			while (i < outlen && i < reflen && out[i] == want[i]) {
				if (out[i] == '\n') {
					lineno++;
					start = i + 1;
				}
				i++;
			}
			const char *ge = memchr(out + start, '\n', outlen - start);
			const char *we = start < reflen ? memchr(want + start, '\n', reflen - start) : NULL;
			fprintf(stderr, "%s: line %zu differs\n  want: %.*s\n  got:  %.*s\n", name,
				lineno, we ? (int)(we - want - (ptrdiff_t)start) : 0,
				start < reflen ? want + start : "",
				ge ? (int)(ge - out - (ptrdiff_t)start) : 0, out + start);
			bad = 1;
		}
		free(want);
	}
	free(out);
	free(log);
	return bad;
}

static void test_golden(void **state)
{
	(void)state;
	const char *src = getenv("MAILMON_SOURCE_DIR");
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/tests/parsers/golden", src ? src : ".");
	int update = getenv("MAILMON_GOLDEN_UPDATE") != NULL &&
		     strcmp(getenv("MAILMON_GOLDEN_UPDATE"), "1") == 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	int files = 0, bad = 0;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".log") != 0)
			continue;
		files++;
		bad += check_file(dir, de->d_name, update);
	}
	closedir(d);
	assert_true(files >= 6);
	assert_int_equal(bad, 0);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

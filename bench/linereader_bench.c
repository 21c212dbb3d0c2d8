/*
 * linereader_bench: lines/s of the one-shot line reader (src/sources/
 * gzreader.c) on plain and gzip files: open, read every line, close. The
 * loop touches each line (length sum and first byte) so nothing is
 * optimised away; that is all a consumer costs here.
 *
 *   linereader_bench FILE...      ("-" reads stdin)
 *
 * Prints one line per file: lines, bytes, wall s, CPU s, lines/s (CPU),
 * MB/s of uncompressed text (CPU), capped and unterminated lines.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sources/gzreader.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	int status = 0;
	for (int i = 1; i < argc; i++) {
		struct mm_err err;
		double w0 = now_s(), c0 = cpu_s();
		struct mm_linereader *r = mm_linereader_open(argv[i], &err);
		if (!r) {
			fprintf(stderr, "linereader_bench: %s\n", err.msg);
			status = 1;
			continue;
		}
		const char *line;
		size_t len;
		uint64_t n = 0, sum = 0, first = 0;
		int rc;
		while ((rc = mm_linereader_next(r, &line, &len)) > 0) {
			n++;
			sum += len;
			first += len ? (unsigned char)line[0] : 0;
		}
		if (rc < 0) {
			fprintf(stderr, "linereader_bench: %s\n", mm_linereader_error(r));
			status = 1;
		}
		const struct mm_line_stats *st = mm_linereader_stats(r);
		double w = now_s() - w0, c = cpu_s() - c0;
		printf("%s%s: %llu lines, %.1f MB, wall %.3f s, cpu %.3f s, %.2f M lines/s (cpu), "
		       "%.0f MB/s, capped %llu, unterminated %llu (check %llu)\n",
		       argv[i], mm_linereader_is_gzip(r) ? " [gzip]" : "", (unsigned long long)n,
		       (double)st->bytes / 1e6, w, c, (double)n / c / 1e6, (double)st->bytes / c / 1e6,
		       (unsigned long long)st->capped, (unsigned long long)st->unterminated,
		       (unsigned long long)(sum + first));
		mm_linereader_close(r);
	}
	return status;
}

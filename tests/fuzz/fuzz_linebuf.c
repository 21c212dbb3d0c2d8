/* fuzz_linebuf: the line splitter shared by every log source gets
 * arbitrary bytes in arbitrary pieces (the first byte picks the piece
 * size and a small line_max). Invariants: every input byte is accounted
 * for in `consumed`, no line is longer than line_max, the lines equal
 * those of a one-piece run, and each delivered line is the prefix of its
 * raw bytes that mm_line_normalize() computes (the tailer's saved-line
 * check relies on that). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/linebuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the splitter; returns the concatenation "len:bytes" of all lines. */
static char *split(const uint8_t *in, size_t n, size_t piece, size_t line_max, size_t *outlen)
{
	struct mm_linebuf lb;
	mm_linebuf_init(&lb, 4096, line_max);
	char *out = malloc(2 * n + 64 * (n + 1) + 1);
	size_t used = 0, pos = 0;
	const char *line;
	size_t len;
	uint64_t raw_sum = 0;
	for (;;) {
		while (mm_linebuf_next(&lb, &line, &len)) {
			if (len > line_max)
				abort();
			/* The raw line is in[raw_sum .. raw_sum + last_raw). */
			size_t want;
			mm_line_normalize((const char *)in + raw_sum, (size_t)lb.last_raw, line_max,
					  &want);
			if (want != len || memcmp(line, in + raw_sum, len) != 0)
				abort();
			raw_sum += lb.last_raw;
			used += (size_t)sprintf(out + used, "%zu:", len);
			memcpy(out + used, line, len);
			used += len;
		}
		if (pos == n)
			break;
		char *p;
		size_t room;
		mm_linebuf_space(&lb, &p, &room);
		size_t take = n - pos < piece ? n - pos : piece;
		if (take > room)
			take = room;
		memcpy(p, in + pos, take);
		mm_linebuf_commit(&lb, take);
		pos += take;
	}
	if (mm_linebuf_flush(&lb, &line, &len)) {
		raw_sum += lb.last_raw;
		used += (size_t)sprintf(out + used, "%zu!", len);
		memcpy(out + used, line, len);
		used += len;
	}
	if (lb.consumed != n || raw_sum != n || lb.st.bytes != n)
		abort();
	mm_linebuf_free(&lb);
	*outlen = used;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)(data[0] & 0x1f) + 1;
	size_t line_max = 16 + (size_t)(data[0] >> 5) * 8;
	data++;
	size--;
	size_t a_len, b_len;
	char *a = split(data, size, piece, line_max, &a_len);
	char *b = split(data, size, size ? size : 1, line_max, &b_len);
	if (a_len != b_len || memcmp(a, b, a_len) != 0)
		abort();
	free(a);
	free(b);
	return 0;
}

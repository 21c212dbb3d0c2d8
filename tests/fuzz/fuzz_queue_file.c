/* fuzz_queue_file: the Postfix queue file record parser on arbitrary
 * bytes, read through the memory source. Seeds: real queue files from the
 * lab (corpus/fuzz_queue_file). */
#include <stddef.h>
#include <stdint.h>

#include "mta/postfix/queue_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mm_pf_qfile q;
	struct mm_pf_mem mem = {data, size};
	struct mm_pf_src src = {mm_pf_mem_read_at, &mem};
	if (mm_pf_qfile_parse(&src, &q) == MM_PF_OK) {
		/* Touch every string the parser returned. */
		volatile size_t n = 0;
		for (const char *s = mm_pf_qfile_sender(&q); *s; s++)
			n++;
		for (size_t i = 0; i < q.nrcpt; i++)
			for (const char *s = mm_pf_qfile_rcpt(&q, i); *s; s++)
				n++;
	}
	return 0;
}

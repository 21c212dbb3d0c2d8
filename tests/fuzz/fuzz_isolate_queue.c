/* fuzz_isolate_queue: the postqueue -j reader of a release takes whatever
 * postqueue printed (whole, and streamed in two pieces), and the daemon
 * the root helper's answer text. Neither may crash or read out of bounds,
 * and an ID handed back is always one postqueue -i accepts (so nothing
 * else ever reaches its command line). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/isolate_queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[MM_ISOLATE_QID];
	for (size_t cap = 4; cap <= sizeof id; cap += sizeof id - 4) {
		memset(id, 0, sizeof id);
		int rc = mm_isolate_pq_match((const char *)data, size, "dead.test", id, cap);
		if (rc < -1 || rc > 1)
			abort();
		if (rc == 1 && (!mm_isolate_qid_ok(id) || strlen(id) >= cap))
			abort();
	}
	struct mm_isolate_pq pq;
	mm_isolate_pq_init(&pq, "dead.test");
	mm_isolate_pq_feed(&pq, (const char *)data, size / 2);
	mm_isolate_pq_feed(&pq, (const char *)data + size / 2, size - size / 2);
	mm_isolate_pq_end(&pq);
	for (size_t i = 0; i < pq.nids; i++)
		if (!mm_isolate_qid_ok(pq.ids[i]))
			abort();
	mm_isolate_pq_free(&pq);

	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	size_t moved, left, failed;
	uint64_t over, bad;
	char err[64];
	if (mm_isolate_move_parse(text, &moved, &left, &failed, &over, &bad, err, sizeof err) ==
		    0 &&
	    strlen(err) >= sizeof err)
		abort();
	free(text);
	return 0;
}

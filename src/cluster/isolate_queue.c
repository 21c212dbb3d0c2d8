/* isolate_queue: see isolate_queue.h. */
#include "cluster/isolate_queue.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/strutil.h"
#include "core/xalloc.h"

bool mm_isolate_qid_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n >= MM_ISOLATE_QID)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return false;
	}
	return true;
}

/* The domain after the last '@' of addr is dest (ASCII, no case). */
static bool at_dest(const char *addr, const char *dest)
{
	const char *at = strrchr(addr, '@');
	return at && strcasecmp(at + 1, dest) == 0;
}

int mm_isolate_pq_match(const char *line, size_t len, const char *dest, char *id, size_t cap)
{
	json_error_t jerr;
	json_t *doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *qname = json_string_value(json_object_get(doc, "queue_name"));
	const char *qid = json_string_value(json_object_get(doc, "queue_id"));
	json_t *rcpts = json_object_get(doc, "recipients");
	int rc = -1;
	if (!json_is_object(doc) || !qname || !qid || !json_is_array(rcpts) ||
	    !mm_isolate_qid_ok(qid) || strlen(qid) >= cap)
		goto out;
	rc = 0;
	if (strcmp(qname, "deferred") != 0)
		goto out;
	size_t i;
	json_t *r;
	json_array_foreach(rcpts, i, r)
	{
		const char *addr = json_string_value(json_object_get(r, "address"));
		if (addr && at_dest(addr, dest)) {
			mm_strlcpy(id, qid, cap);
			rc = 1;
			break;
		}
	}
out:
	json_decref(doc);
	return rc;
}

void mm_isolate_pq_init(struct mm_isolate_pq *pq, const char *dest)
{
	memset(pq, 0, sizeof *pq);
	mm_strlcpy(pq->dest, dest, sizeof pq->dest);
}

static void one_line(struct mm_isolate_pq *pq)
{
	if (pq->skipping || pq->llen == 0)
		return;
	char id[MM_ISOLATE_QID];
	int rc = mm_isolate_pq_match(pq->line, pq->llen, pq->dest, id, sizeof id);
	if (rc < 0) {
		pq->bad++;
	} else if (rc == 1 && pq->nids < MM_ISOLATE_MOVE_MAX) {
		if (!pq->ids)
			pq->ids = xcalloc(MM_ISOLATE_MOVE_MAX, sizeof pq->ids[0]);
		memcpy(pq->ids[pq->nids++], id, sizeof id);
	} else if (rc == 1) {
		pq->over++;
	}
}

int mm_isolate_pq_feed(void *arg, const char *buf, size_t len)
{
	struct mm_isolate_pq *pq = arg;
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t take = nl ? (size_t)(nl - buf) : len;
		if (!pq->skipping && pq->llen + take > MM_ISOLATE_PQ_LINE_MAX) {
			pq->long_lines++;
			pq->skipping = true;
		}
		if (!pq->skipping) {
			if (!pq->line)
				pq->line = xmalloc(MM_ISOLATE_PQ_LINE_MAX);
			memcpy(pq->line + pq->llen, buf, take);
			pq->llen += take;
		}
		if (!nl)
			break;
		one_line(pq);
		pq->llen = 0;
		pq->skipping = false;
		buf = nl + 1;
		len -= take + 1;
	}
	return 0;
}

void mm_isolate_pq_end(struct mm_isolate_pq *pq)
{
	one_line(pq);
	pq->llen = 0;
	pq->skipping = false;
}

void mm_isolate_pq_free(struct mm_isolate_pq *pq)
{
	free(pq->ids);
	free(pq->line);
	pq->ids = NULL;
	pq->line = NULL;
	pq->nids = pq->llen = 0;
}

void mm_isolate_move_format(char *buf, size_t cap, size_t moved, size_t left, size_t failed,
			    uint64_t over, uint64_t bad, const char *err)
{
	snprintf(buf, cap, "moved %zu left %zu failed %zu over %" PRIu64 " bad %" PRIu64 "%s%s",
		 moved, left, failed, over, bad, err && *err ? ": " : "", err ? err : "");
}

int mm_isolate_move_parse(const char *text, size_t *moved, size_t *left, size_t *failed,
			  uint64_t *over, uint64_t *bad, char *err, size_t cap)
{
	int used = 0;
	if (sscanf(text, "moved %zu left %zu failed %zu over %" SCNu64 " bad %" SCNu64 "%n", moved,
		   left, failed, over, bad, &used) != 5 || used <= 0)
		return -1;
	const char *rest = text + used;
	if (*rest && strncmp(rest, ": ", 2) != 0)
		return -1;
	mm_strlcpy(err, *rest ? rest + 2 : "", cap);
	return 0;
}

void mm_isolate_pq_params(const struct mm_config *conf, char *const *argv,
			  struct mm_isolate_pq *pq, struct mm_child_params *p)
{
	*p = (struct mm_child_params){
		.argv = argv,
		.timeout_ms = mm_config_duration_ms(conf, "queue", "command_timeout"),
		.max_output = mm_config_size(conf, "queue", "command_max_bytes"),
		.keep_stderr = true,
		.on_data = mm_isolate_pq_feed,
		.data_arg = pq,
	};
}

/*
 * isolate_queue: which queued messages belong to a released destination,
 * read from Postfix's `postqueue -j` output, so that mailmond can move
 * only those with `postqueue -i QUEUE_ID` (daemon/isolate.c). Pure: no
 * I/O.
 *
 *   mm_isolate_pq_match(line, len, dest, id, cap)
 *       one JSON line of postqueue -j: 1 when it is a message of the
 *       deferred queue with a recipient whose domain is dest (compared
 *       without case; dest lower-case, as mm_isolate_dest_ok wants it),
 *       its queue ID copied to id; 0 when it is a message that does not
 *       qualify; -1 when the line is not a message (not JSON, fields
 *       missing, a queue ID that is not [0-9A-Za-z]{1,cap-1}).
 *   mm_isolate_qid_ok(id)
 *       a Postfix queue ID as postqueue -i takes it (short or long form).
 *   mm_isolate_pq_init(pq, dest) / _feed(pq, buf, len) / _end(pq) / _free(pq)
 *       the same over postqueue -j's stdout as it streams (feed is an
 *       mm_child_data_fn): lines of at most MM_ISOLATE_PQ_LINE_MAX bytes
 *       (a longer one is skipped and counted), the IDs of the matching
 *       messages kept, at most MM_ISOLATE_MOVE_MAX (the rest counted in
 *       over). end takes a last line without newline. pq owns ids and its
 *       line buffer until _free.
 *   mm_isolate_pq_params(conf, argv, pq, p)
 *       the child parameters of postqueue -j (argv) streamed into pq,
 *       bounded by [queue] command_timeout and command_max_bytes.
 *   mm_isolate_move_format(buf, cap, moved, left, failed, over, bad, err)
 *   mm_isolate_move_parse(text, &moved, &left, &failed, &over, &bad, err, cap)
 *       the root helper's answer to a move (separated mailmond):
 *       "moved N left N failed N over N bad N[: last error]"; parse is -1
 *       when text is not that.
 *
 * A recipient's domain is what follows its last '@' (as Postfix's
 * transport lookup uses it); an address without '@' has none.
 */
#ifndef MAILMON_CLUSTER_ISOLATE_QUEUE_H
#define MAILMON_CLUSTER_ISOLATE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/isolate_state.h"
#include "core/childproc.h"
#include "core/config.h"

#define MM_ISOLATE_QID 32
#define MM_ISOLATE_MOVE_MAX 2000 /* messages moved per release */
#define MM_ISOLATE_MOVE_MS 60000 /* no postqueue -i started after this */
#define MM_ISOLATE_PQ_LINE_MAX (1024 * 1024)

struct mm_isolate_pq {
	char dest[MM_ISOLATE_DEST];
	char (*ids)[MM_ISOLATE_QID];
	size_t nids;
	uint64_t over, bad, long_lines; /* beyond the cap; not messages; too long */
	char *line;
	size_t llen;
	bool skipping;
};

bool mm_isolate_qid_ok(const char *id);
int mm_isolate_pq_match(const char *line, size_t len, const char *dest, char *id, size_t cap);
void mm_isolate_pq_init(struct mm_isolate_pq *pq, const char *dest);
int mm_isolate_pq_feed(void *pq, const char *buf, size_t len);
void mm_isolate_pq_end(struct mm_isolate_pq *pq);
void mm_isolate_pq_free(struct mm_isolate_pq *pq);
void mm_isolate_pq_params(const struct mm_config *conf, char *const *argv,
			  struct mm_isolate_pq *pq, struct mm_child_params *p);
void mm_isolate_move_format(char *buf, size_t cap, size_t moved, size_t left, size_t failed,
			    uint64_t over, uint64_t bad, const char *err);
int mm_isolate_move_parse(const char *text, size_t *moved, size_t *left, size_t *failed,
			  uint64_t *over, uint64_t *bad, char *err, size_t cap);

#endif

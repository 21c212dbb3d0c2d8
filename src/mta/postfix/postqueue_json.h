/*
 * postqueue_json: the unprivileged queue reader. Runs Postfix's own
 * `postqueue -c CONFIG_DIR -j` (setgid postdrop, so any user may) and
 * turns its JSON Lines into struct mm_qmsg values.
 *
 *   mm_pf_postqueue_read(cmd_dir, conf_dir, instance, timeout_ms, max_bytes, pq, err)
 *       runs the program (argv, no shell) bounded in time and bytes and
 *       appends every message to pq; -1 with err when it cannot run, times
 *       out, is cut at max_bytes or exits non-zero
 *   mm_pf_postqueue_line(pq, line, len, instance)
 *       one JSON line; -1 (and pq->bad_lines++) when it is not a message
 *
 * Each line: {"queue_name", "queue_id", "arrival_time", "message_size",
 * "sender", "recipients": [{"address", "delay_reason"?}]}. showq prints
 * the null sender as MAILER-DAEMON; it becomes "" as in direct mode.
 * Lines over MM_PF_PQ_MAX_LINE are skipped and counted in pq->oversize.
 *
 * Ownership: pq owns its messages and interned reasons until
 * mm_pf_pq_clear() or mm_pf_pq_free().
 */
#ifndef MAILMON_MTA_POSTFIX_POSTQUEUE_JSON_H
#define MAILMON_MTA_POSTFIX_POSTQUEUE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/strpool.h"
#include "mta/mta.h"

#define MM_PF_PQ_MAX_LINE (4 * 1024 * 1024)

struct mm_pf_pq {
	struct mm_qmsg **msgs;
	size_t n, cap;
	struct mm_strpool pool;
	uint64_t bad_lines, oversize;
	/* line assembly while reading */
	char *line;
	size_t llen, lcap;
	bool skipping;
	unsigned instance;
};

int mm_pf_postqueue_read(const char *cmd_dir, const char *conf_dir, unsigned instance,
			 int64_t timeout_ms, uint64_t max_bytes, struct mm_pf_pq *pq,
			 struct mm_err *err);
int mm_pf_postqueue_line(struct mm_pf_pq *pq, const char *line, size_t len, unsigned instance);
void mm_pf_pq_clear(struct mm_pf_pq *pq);
void mm_pf_pq_free(struct mm_pf_pq *pq);

#endif

/*
 * postqueue_json: see postqueue_json.h. Output is parsed as it streams, a
 * line at a time, so memory is bounded by the messages kept, not by the
 * size of the output.
 */
#include "mta/postfix/postqueue_json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/childproc.h"
#include "core/xalloc.h"
#include "mta/qmsg.h"
#include "mta/reason_class.h"

int mm_pf_postqueue_line(struct mm_pf_pq *pq, const char *line, size_t len, unsigned instance)
{
	json_error_t jerr;
	json_t *doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *rcpts = doc ? json_object_get(doc, "recipients") : NULL;
	const char *qname = json_string_value(json_object_get(doc, "queue_name"));
	const char *id = json_string_value(json_object_get(doc, "queue_id"));
	const char *sender = json_string_value(json_object_get(doc, "sender"));
	int q = qname ? mm_queue_from_name(qname) : -1;
	if (!doc || !json_is_object(doc) || !json_is_array(rcpts) || q < 0 || !id || !sender ||
	    json_array_size(rcpts) > 1000000) {
		pq->bad_lines++;
		json_decref(doc);
		return -1;
	}
	size_t n = json_array_size(rcpts);
	struct mm_qrcpt *r = xcalloc(n ? n : 1, sizeof *r);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(rcpts, i);
		const char *addr = json_string_value(json_object_get(o, "address"));
		const char *why = json_string_value(json_object_get(o, "delay_reason"));
		if (!addr)
			continue;
		r[k].addr = addr;
		if (why) {
			r[k].reason = mm_strpool_get(&pq->pool, why, strlen(why));
			r[k].rclass = (uint8_t)mm_rclass_of(why, NULL, &r[k].code);
			uint16_t ccode;
			r[k].cause = (uint8_t)mm_rclass_cause(why, NULL, &ccode);
		}
		k++;
	}
	json_int_t arrival = json_integer_value(json_object_get(doc, "arrival_time"));
	json_int_t size = json_integer_value(json_object_get(doc, "message_size"));
	struct mm_qmsg tmpl = {
		.id = id,
		.sender = strcmp(sender, "MAILER-DAEMON") == 0 ? "" : sender,
		.arrival = (int64_t)arrival,
		.size = size > 0 ? (uint64_t)size : 0,
		.queue = (uint8_t)q,
		.instance = (uint8_t)instance,
		.nrcpt = (uint32_t)k,
		.rcpt = r,
	};
	pq->msgs = xgrow(pq->msgs, &pq->cap, pq->n + 1, sizeof *pq->msgs);
	pq->msgs[pq->n++] = mm_qmsg_new(&tmpl);
	free(r);
	json_decref(doc);
	return 0;
}

static void end_line(struct mm_pf_pq *pq)
{
	if (!pq->skipping && pq->llen > 0)
		mm_pf_postqueue_line(pq, pq->line, pq->llen, pq->instance);
	pq->llen = 0;
	pq->skipping = false;
}

static int on_data(void *arg, const char *buf, size_t len)
{
	struct mm_pf_pq *pq = arg;
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t take = nl ? (size_t)(nl - buf) : len;
		if (!pq->skipping) {
			if (pq->llen + take > MM_PF_PQ_MAX_LINE) {
				pq->oversize++;
				pq->skipping = true;
			} else {
				pq->line = xgrow(pq->line, &pq->lcap, pq->llen + take + 1, 1);
				memcpy(pq->line + pq->llen, buf, take);
				pq->llen += take;
			}
		}
		if (!nl)
			break;
		end_line(pq);
		buf = nl + 1;
		len -= take + 1;
	}
	return 0;
}

int mm_pf_postqueue_read(const char *cmd_dir, const char *conf_dir, unsigned instance,
			 int64_t timeout_ms, uint64_t max_bytes, struct mm_pf_pq *pq,
			 struct mm_err *err)
{
	char prog[4096];
	snprintf(prog, sizeof prog, "%s/postqueue", cmd_dir);
	char *argv[] = {prog, (char *)"-c", (char *)conf_dir, (char *)"-j", NULL};
	struct mm_child_params cp = {.argv = argv, .timeout_ms = timeout_ms, .max_output = max_bytes,
				     .keep_stderr = true, .on_data = on_data, .data_arg = pq};
	struct mm_child_result res;
	pq->instance = instance;
	pq->llen = 0;
	pq->skipping = false;
	int rc = mm_child_run(&cp, &res, err);
	if (rc == 0)
		end_line(pq); /* a last line without newline */
	return rc;
}

void mm_pf_pq_clear(struct mm_pf_pq *pq)
{
	for (size_t i = 0; i < pq->n; i++)
		mm_qmsg_free(pq->msgs[i], &pq->pool);
	pq->n = 0;
	pq->bad_lines = pq->oversize = 0;
}

void mm_pf_pq_free(struct mm_pf_pq *pq)
{
	mm_pf_pq_clear(pq);
	free(pq->msgs);
	free(pq->line);
	mm_strpool_free(&pq->pool);
	memset(pq, 0, sizeof *pq);
}

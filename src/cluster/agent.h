/*
 * agent: the answer of HAProxy's agent-check protocol for a node verdict.
 *
 * HAProxy connects to the agent port, sends its `agent-send` string if
 * one is configured, and reads one line (see HAProxy's configuration
 * manual, "agent-check"). The answers used here, tested against HAProxy
 * 2.6 (only `ready` undoes a drain or maint; `up` alone undoes only
 * down; a drain stays while the agent is silent):
 *
 *   healthy, degraded  "up ready N%"  N falls from 100 with queue pressure
 *   stalled            "drain #stalled: REASON"
 *   a partition locked "drain #partition PATH is locked (N% available)"
 *   down               "down #REASON"
 * REASON is the verdict's cause (mm_verdict.cause).
 *
 *   mm_agent_weight(conf, backlog)        N for a backlog (messages)
 *   mm_agent_answer(conf, verdict, buf)   the line, with "\n"
 *   mm_agent_request(line, len, name)     the agent-send text of a request
 *
 * Pressure: below conf.low_backlog the weight is 100%; it falls linearly
 * to conf.min_weight at conf.full_backlog and stays there.
 */
#ifndef MAILMON_CLUSTER_AGENT_H
#define MAILMON_CLUSTER_AGENT_H

#include <stddef.h>

#include "cluster/verdict.h"

#define MM_AGENT_LINE_MAX 256 /* an answer, and the longest request read */

struct mm_agent_conf {
	double low_backlog, full_backlog; /* messages */
	int min_weight;			  /* percent, 1..100 */
};

int mm_agent_weight(const struct mm_agent_conf *conf, double backlog);
/* Writes the answer line (ending in "\n") into buf[cap]; returns its length. */
size_t mm_agent_answer(const struct mm_agent_conf *conf, const struct mm_verdict *v, char *buf,
		       size_t cap);
/* The name an agent-send request carries: the text up to the first CR or
 * LF, spaces trimmed, cut to cap-1 bytes; only [A-Za-z0-9._-] are kept
 * (anything else makes the name empty: an unknown instance). */
void mm_agent_request(const char *line, size_t len, char *name, size_t cap);

#endif

/*
 * eta: a queue's drain estimate in words, the way the seed's operators
 * wrote it: "deferred: backlog of 2,140 messages, draining at 85/min,
 * clear in about 25 min", or "... not draining (+12/min)".
 *
 *   mm_eta_words(queue, messages, growth_per_min, known, buf, cap)
 *
 * growth_per_min is the queue's net change (negative while it drains);
 * known false: one sample so far, no rate yet. The time to empty is
 * messages / net drain rate, rounded for reading: under a minute, whole
 * minutes below 10, to 5 minutes below 90, to half hours below 48 h,
 * days beyond.
 */
#ifndef MAILMON_CLUSTER_ETA_H
#define MAILMON_CLUSTER_ETA_H

#include <stdbool.h>
#include <stddef.h>

void mm_eta_words(const char *queue, double messages, double growth_per_min, bool known,
		  char *buf, size_t cap);
/* The rounded time alone: "about 25 min", "under a minute". */
void mm_eta_duration(double seconds, char *buf, size_t cap);

#endif

/*
 * hist_json: the JSON answer of GET /api/v1/history (shape in docs/api.md):
 *
 *   {"metric": SELECTOR, "from": T, "to": T, "step": S, "resolution": S,
 *    "truncated": false,
 *    "series": [{"key": "name{l=\"v\"}", "name": "...", "labels": {...},
 *                "type": "counter"|"gauge", "truncated": false,
 *                "points": [{"t": T, "n": N, "min": x, "avg": x, "max": x,
 *                            "last": x, "rate": x|null}, ...]}, ...]}
 *
 * Times are unix seconds; a point's t is the start of its bucket. rate is
 * per second, for counters only (null for gauges and the first point).
 * The caller owns the returned document.
 */
#ifndef MAILMON_HISTORY_HIST_JSON_H
#define MAILMON_HISTORY_HIST_JSON_H

#include <jansson.h>

#include "history/hist_store.h"

json_t *mm_hist_result_json(const struct mm_hist_result *r, const char *selector);

#endif

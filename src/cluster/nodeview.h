/*
 * nodeview: several mailmond nodes side by side, read through their JSON
 * APIs, for `mailmon cluster` and the dashboard (mailmond fetches the
 * nodes of [cluster] nodes). Read-only: it only reads the nodes' APIs.
 *
 *   v = mm_nodeview_new(); mm_nodeview_add(v, "http://127.0.0.1:9925")...
 *   mm_nodeview_fetch(v, base, headers, done, arg)
 *       per node three GETs at once on base (core/httpc.h): /api/v1/status
 *       (its name), /api/v1/cluster (verdict, window figures), /api/v1/queue
 *       (queue sizes); each bounded (3 s, 4 MiB). done(v, arg) runs once,
 *       from the loop, when every answer is in. A node that does not
 *       answer is a row that says why.
 *   mm_nodeview_json(v)
 *       {"nodes": [{url, state, error | node, verdict, queues {incoming,
 *        active, deferred}, inflow_per_min, outflow_per_min, instances (the
 *        node's /api/v1/cluster "instances": its Postfix instances' verdicts)}],
 *        "backlog_holder": url|null, "backlog_held": n, "backlog_total": n}
 *
 * Nodes are http://HOST:PORT or HOST:PORT with a numeric address (no name
 * is ever resolved). At most MM_NODEVIEW_MAX.
 * Ownership: the view owns its nodes and their answers; json is new.
 * Not thread-safe; one fetch at a time (mm_nodeview_busy).
 */
#ifndef MAILMON_CLUSTER_NODEVIEW_H
#define MAILMON_CLUSTER_NODEVIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MM_NODEVIEW_MAX 64

struct event_base;
struct mm_nodeview;

typedef void mm_nodeview_done_fn(struct mm_nodeview *v, void *arg);

struct mm_nodeview *mm_nodeview_new(void);
void mm_nodeview_free(struct mm_nodeview *v);
/* -1 when url is not http://HOST:PORT with a numeric host, or full. */
int mm_nodeview_add(struct mm_nodeview *v, const char *url);
size_t mm_nodeview_count(const struct mm_nodeview *v);
void mm_nodeview_fetch(struct mm_nodeview *v, struct event_base *base,
		       const char *const *headers, mm_nodeview_done_fn *done, void *arg);
bool mm_nodeview_busy(const struct mm_nodeview *v);
json_t *mm_nodeview_json(const struct mm_nodeview *v);

#endif

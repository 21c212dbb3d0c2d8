/*
 * isolate_impl: the isolate module's private state, shared by isolate.c
 * (the operations, the runs, the module row), isolate_move.c (a release
 * moves the destination's deferred mail) and isolate_api.c (metrics,
 * GET/POST /api/isolate). Nothing else includes it. Everything runs on
 * the event loop. struct mm_isolate (d->isolate) owns its children, its
 * move state and its config copies.
 */
#ifndef MAILMON_DAEMON_ISOLATE_IMPL_H
#define MAILMON_DAEMON_ISOLATE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/isolate_queue.h"
#include "cluster/isolate_state.h"
#include "core/childproc.h"
#include "core/err.h"

#include <jansson.h>

struct evhttp_request;
struct mm_daemon;
struct mm_metric;

#define MAX_PENDING 16
#define MAX_RESULTS 16
#define MAX_MAPS 16
#define CMD_TIMEOUT_MS 60000
#define SETUP_RETRY_MS 60000 /* auto isolation waits this long after a refusal */
#define MOVE_PARALLEL 4 /* postqueue -i children at once */

enum { F_ISO, F_SETUP, F_CHANGES, F_N };
enum { C_ISOLATED, C_RELEASED, C_REFUSED, C_FAILED };

enum op_kind { OP_ISOLATE, OP_RELEASE, OP_SYNC, OP_RELOAD };
enum step { S_MAPS, S_MASTER, S_NEXTHOP, S_POSTMAP, S_RELOAD, S_LIST, S_MOVE };

struct op {
	uint32_t id;
	enum op_kind kind;
	char dest[MM_ISOLATE_DEST];
	char reason[MM_ISOLATE_REASON];
	bool manual;
	bool reload; /* isolate: postfix reload after postmap (no answer) */
};

struct result {
	uint32_t id;
	bool ok;
	int64_t at_s;
	char dest[MM_ISOLATE_DEST];
	char text[400];
};

struct mm_isolate;

/* One postqueue -i child of a release. */
struct mover {
	struct mm_isolate *x;
	struct mm_child *child;
};

/* A release's move of the destination's deferred mail: the IDs from
 * postqueue -j, then postqueue -i for each (or all of it done by the root
 * helper when separated, which answers with the counts). */
struct moving {
	struct mm_isolate_pq pq;
	size_t next, done, failed, left; /* left: by the helper's count */
	int64_t deadline_ms;		  /* mono */
	char last_err[200];
	struct mover movers[MOVE_PARALLEL];
};

struct mm_isolate {
	struct mm_daemon *d;
	struct mm_metric *f[F_N];
	struct mm_isolate_set set;
	char dir[512], map_path[600], state_path[600];
	/* in effect (reloadable) */
	char transport[40];
	bool autoiso;
	char **classes;
	int64_t max_dest, release_after_ms, rewrite_wait_ms;
	char qdir[512]; /* [mta] queue_directory, else postconf's (S_MAPS) */
	/* Has trivial-rewrite picked up the map of the last isolation? */
	struct {
		bool pending;
		uint64_t since;		       /* boot ticks: when postmap finished */
		int64_t start_ms, deadline_ms; /* mono */
		char dest[MM_ISOLATE_DEST];
		char state[16]; /* waiting, picked up, reload, not checked */
		char detail[400];
		int64_t at_s;
		bool err_logged;
	} rw;
	/* operations */
	struct op pending[MAX_PENDING];
	size_t npending;
	struct op cur;
	bool busy;
	enum step step;
	char *maps[MAX_MAPS]; /* transport_maps as postconf -x -h gave them */
	size_t nmaps, map_i;
	char nexthop[MM_ISOLATE_NEXTHOP];
	struct mm_isolate_set before; /* rolled back to when isolate fails */
	struct mm_child *child;
	struct moving mv;
	uint32_t ps_id, next_id;
	struct result results[MAX_RESULTS];
	size_t nresults;
	struct {
		char dest[MM_ISOLATE_DEST];
		int64_t until_ms; /* mono */
	} held[MAX_RESULTS]; /* released by hand: not isolated again automatically before */
	struct {
		char dest[MM_ISOLATE_DEST], reason[MM_ISOLATE_REASON];
		int64_t until_ms; /* mono */
	} gone[MAX_RESULTS]; /* released lately: published as 0, so the alarm clears at once */
	bool need_sync; /* the map is rewritten from the set at the next run */
	bool setup_missing;
	int64_t setup_retry_ms;
	uint64_t changes[4];
};

/* isolate.c */
void mm_iso_finish(struct mm_isolate *x, bool ok, int change, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Starts the next pending operation when none runs. */
void mm_iso_kick(struct mm_isolate *x);
/* Queues an operation; its id (0: the queue is full). reload: an
 * isolation that ends with postfix reload (a destination that does not
 * answer, see isolate.c). */
uint32_t mm_iso_enqueue(struct mm_isolate *x, enum op_kind kind, const char *dest,
			const char *reason, bool manual, bool reload);
void mm_iso_hold(struct mm_isolate *x, const char *dest);
void mm_iso_remember_release(struct mm_isolate *x);
const char *mm_iso_confdir(const struct mm_isolate *x);
char *mm_iso_cmd(const struct mm_isolate *x, const char *name, char *buf, size_t cap);
const char *mm_iso_op_name(enum op_kind k);
const char *mm_iso_verb(const struct mm_isolate *x);
bool mm_iso_pending_or_running(const struct mm_isolate *x, const char *dest);

/* isolate_move.c: after a release's reload. */
void mm_iso_released(struct mm_isolate *x);
void mm_iso_move_more(struct mm_isolate *x);
void mm_iso_helper_moved(struct mm_isolate *x, const struct mm_child_result *res,
			 const char *desc);

/* isolate_api.c */
int mm_iso_publish_add(struct mm_isolate *x, struct mm_err *err);
void mm_iso_status(struct mm_daemon *d, json_t *out);
void mm_iso_on_api(struct evhttp_request *req, void *arg);

#endif

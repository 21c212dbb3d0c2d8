/*
 * logwatch_impl: the logs module's private state, shared by logwatch.c
 * (sources, reading, positions, reload, the module row), logwatch_api.c
 * (GET /api/logs and the in_effect hook) and logwatch_metrics.c (the
 * registry families). Nothing else includes it.
 *
 * Ownership: struct mm_logwatch (d->logwatch) owns its sources, their
 * tailers and journals, the consumer and the saved-state snapshot; the
 * readers only read it, on the loop's thread.
 */
#ifndef MAILMON_DAEMON_LOGWATCH_IMPL_H
#define MAILMON_DAEMON_LOGWATCH_IMPL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/repeat.h"
#include "sources/consumer.h"
#include "sources/position.h"

struct event;
struct evhttp_request;
struct mm_daemon;
struct mm_journal;
struct mm_logpipe;
struct mm_metric;
struct mm_tailer;

struct lw_source {
	struct mm_logwatch *lw;
	unsigned index;
	enum mm_srckind kind;
	char *name;
	struct mm_tailer *tailer;
	struct mm_journal *journal;
	struct event *ev_journal;
	char *base; /* file name within its directory, for inotify */
	int wd;
	uint64_t lines_base, lines_run;
	uint64_t unparsed_run; /* lines the parser did not understand, this run */
	uint64_t errors;
	char error[MM_ERR_MAX];
};

struct mm_logwatch {
	struct mm_daemon *d;
	struct lw_source *src;
	size_t n;
	struct mm_line_consumer consumer;
	struct mm_logpipe *lp; /* the consumer's pipeline, NULL when counters are off */
	char *state_path;
	struct mm_posfile snap; /* last loaded or saved state */
	char *saved_text;	/* its encoding, to skip identical saves */
	char *conf_sig;		/* [log] settings the sources were built from */
	int ifd;
	struct event *ev_inotify, *ev_batch, *ev_more;
	bool batch_armed, rotation_hint;
	int64_t save_ms, last_save_mono;
	uint64_t saves, save_errors;
	struct mm_repeat save_rep; /* "positions not saved": once a minute, counted */
	int64_t last_save_wall;
	char last_error[MM_ERR_MAX * 2];
	bool dirty;
	struct mm_metric *f[44]; /* registry families, see defs[] */
};

/* logwatch_api.c: GET /api/logs; arg is the struct mm_logwatch. */
void mm_logwatch_api(struct evhttp_request *req, void *arg);
/* logwatch_api.c: the module's in_effect hook (module.h). */
void mm_logwatch_in_effect(struct mm_daemon *d, json_t *out);

/* logwatch_metrics.c: registers the families in d->metrics and the
 * collector reading lw; 0, or -1 with err set. The caller removes the
 * collector (mm_registry_remove_collector) before freeing lw. */
int mm_logwatch_metrics_add(struct mm_logwatch *lw, struct mm_err *err);

#endif

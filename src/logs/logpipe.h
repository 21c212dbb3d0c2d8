/*
 * logpipe: the consumer side of the log pipeline, one call per log line:
 * parse -> message lifecycle -> channel counters (-> counters file).
 *
 * mailmond makes one with mm_logpipe_new() from its config: the counters
 * file is [counters] file (default [daemon] run_directory/counters),
 * created when missing, and the in-flight bounds are [log] max_inflight,
 * inflight_max_age and max_recipients. The log tailer hands every line to
 * mm_logpipe_line() and calls mm_logpipe_flush() periodically (each
 * heartbeat): that serves `mailmon counters -clear` requests and reopens
 * the file when `-create`/`-delete` replaced it.
 *
 * `mailmon logstat` makes an anonymous one (mm_logpipe_new_anon: same
 * counters layout in process memory) and calls mm_logpipe_event() to see
 * what each event changed.
 *
 * Errors: mm_logpipe_new() fails (NULL + err) when the counters file is
 * corrupt, foreign or held by another mailmond; a line never fails.
 * Ownership: the logpipe owns its lifecycle, channels and counters file;
 * the parser table entry is static. Not thread-safe: one caller thread.
 */
#ifndef MAILMON_LOGS_LOGPIPE_H
#define MAILMON_LOGS_LOGPIPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "logs/channels.h"
#include "logs/counters_file.h"
#include "logs/lifecycle.h"
#include "parsers/logevent.h"

struct mm_config;

struct mm_logpipe_stats {
	uint64_t lines, unparsed, reopen_failures;
	uint64_t filter_hops; /* deliveries to a content filter that re-injected
				 the message (daemon pipes only; filterhop.h) */
	uint64_t cfile_recreated; /* damaged counters files set aside */
	struct mm_lc_stats lc;
};

struct mm_logpipe;

struct mm_logpipe *mm_logpipe_new(const struct mm_config *conf, struct mm_err *err);
/* What happened to the counters file since the last call ("set aside as
 * X (why); a fresh one was made"), for the daemon to log; NULL when
 * nothing. The text stays valid until the next flush. */
const char *mm_logpipe_take_notice(struct mm_logpipe *lp);
/* parser NULL: the auto grammar. */
struct mm_logpipe *mm_logpipe_new_anon(const struct mm_lc_limits *lim, uint32_t max_channels,
				       const struct mm_parser *parser);
void mm_logpipe_free(struct mm_logpipe *lp);

/* One line, without its newline (a trailing '\r' or '\n' is ignored). */
void mm_logpipe_line(struct mm_logpipe *lp, const char *line, size_t len);
/* One parsed event; out (may be NULL) receives what the lifecycle made
 * of it, valid until the next call. */
void mm_logpipe_event(struct mm_logpipe *lp, const struct mm_log_event *ev,
		      struct mm_lc_change *out);
/* Periodic housekeeping: clear requests, file replaced, idle expiry. */
void mm_logpipe_flush(struct mm_logpipe *lp);

/* Fills c with this pipe as the log watcher's consumer
 * (sources/consumer.h): line, flush, checkpoint/restore of the pipeline
 * state (logpipe_state.h) so counters stay exact across a kill -9, and
 * free (mm_logpipe_free). The consumer owns lp from then on. */
struct mm_line_consumer;
void mm_logpipe_consumer(struct mm_logpipe *lp, struct mm_line_consumer *c);

void mm_logpipe_get_stats(const struct mm_logpipe *lp, struct mm_logpipe_stats *out);
/* Lines not understood so far (cheap: read per line by the log watcher). */
uint64_t mm_logpipe_unparsed(const struct mm_logpipe *lp);
/* Switches the grammar (a reload changed [log] format); NULL: auto. */
void mm_logpipe_set_parser(struct mm_logpipe *lp, const struct mm_parser *p);
const char *mm_logpipe_parser_name(const struct mm_logpipe *lp);
struct mm_cfile *mm_logpipe_cfile(struct mm_logpipe *lp);
/* Queue-scan gauges per channel: see mm_channels_set_stored(). */
void mm_logpipe_set_stored(struct mm_logpipe *lp, const struct mm_stored_msg *msgs, size_t n,
			   int64_t now_s);
const struct mm_lifecycle *mm_logpipe_lifecycle(const struct mm_logpipe *lp);
/* Lines per program and the transports seen unavailable (progstat.h),
 * counted since the pipe was made. */
struct mm_progstat;
const struct mm_progstat *mm_logpipe_progstat(const struct mm_logpipe *lp);

#endif

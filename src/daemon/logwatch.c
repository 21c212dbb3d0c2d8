/*
 * logwatch: the daemon's log sources (see logwatch.h).
 *
 * Wakeups: a change in a watched directory (inotify) or in the journal
 * arms a one-shot batch timer (BATCH_MS) and stops listening to inotify
 * until it fires, so a log growing by thousands of lines a second costs
 * about 1000/BATCH_MS reads a second. The periodic job reads too, checks
 * for rotation, notices a reloaded [log] section and saves positions.
 * A source that hit read_limit is read again at once through a zero
 * timer, so other events interleave with a big backlog.
 *
 * The consumer is chosen in consumer_setup(): the parser -> lifecycle ->
 * counters pipeline (src/logs/logpipe.h), or, when the counters file
 * cannot be opened, a null consumer; either way logwatch keeps its own
 * per-source line counts, saved with the positions.
 *
 * This file: sources, reading, positions, reload and the module row.
 * The readers live beside it behind the private logwatch_impl.h:
 * logwatch_api.c (/api/logs, in_effect) and logwatch_metrics.c (the
 * registry families).
 */
#include "daemon/logwatch.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "core/clock.h"
#include "core/repeat.h"
#include "core/strutil.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/logwatch_impl.h"
#include "daemon/module.h"
#include "metrics/registry.h"
#include "parsers/parser.h"
#include "logs/logpipe.h"
#include "sources/consumer.h"
#include "sources/journal.h"
#include "sources/position.h"
#include "sources/tailer.h"

#define BATCH_MS 50
#define STATE_FILE "log-positions"
#define ROTATE_GRACE_MS 1000

/* ---- consumer ---- */

static void null_line(void *arg, unsigned src, const char *line, size_t len)
{
}

/* A damaged counters file was set aside and replaced: mailmond's own
 * error (the built-in alarm.selferrors sees it), logged once per event. */
static void report_counters_notice(struct mm_logwatch *lw)
{
	const char *n = lw->lp ? mm_logpipe_take_notice(lw->lp) : NULL;
	if (n) {
		mm_log_err(&lw->d->log, "%s", n);
		lw->d->self_errors[MM_SE_FILES]++;
	}
}

/* The consumer of the lines: the parser -> lifecycle -> counters
 * pipeline (one struct mm_line_consumer). Without a usable counters file
 * the lines are only counted per source by logwatch itself. */
static void consumer_setup(struct mm_logwatch *lw)
{
	/* parser -> lifecycle -> channel counters file (src/logs/logpipe.h) */
	struct mm_err err;
	struct mm_logpipe *lp = mm_logpipe_new(lw->d->conf, &err);
	if (lp) {
		mm_logpipe_consumer(lp, &lw->consumer);
		lw->lp = lp;
		report_counters_notice(lw);
		return;
	}
	mm_log_err(&lw->d->log, "channel counters off: %s", err.msg);
	lw->consumer = (struct mm_line_consumer){.name = "count", .line = null_line};
}

/* ---- helpers ---- */

static void lw_notice(void *arg, int level, const char *msg)
{
	struct lw_source *s = arg;
	mm_log(&s->lw->d->log, level, "log source: %s", msg);
}

static void on_line(const char *line, size_t len, void *arg)
{
	struct lw_source *s = arg;
	s->lines_run++;
	s->lw->dirty = true;
	struct mm_logpipe *lp = s->lw->lp;
	uint64_t before = lp ? mm_logpipe_unparsed(lp) : 0;
	s->lw->consumer.line(s->lw->consumer.arg, s->index, line, len);
	if (lp && mm_logpipe_unparsed(lp) != before)
		s->unparsed_run++;
}

static void set_source_error(struct lw_source *s, const char *msg)
{
	s->errors++;
	if (strcmp(s->error, msg) != 0) {
		mm_log_err(&s->lw->d->log, "log source %s: %s", s->name, msg);
		mm_strlcpy(s->error, msg, sizeof s->error);
	}
}

/* Splits a comma-separated list into trimmed, non-empty heap strings. */
static const char *conf(struct mm_logwatch *lw, const char *key)
{
	return mm_config_get(lw->d->conf, "log", key);
}

/* Every [log] setting that shapes the sources, as one string. */
static char *conf_signature(struct mm_logwatch *lw)
{
	static const char *const keys[] = {"sources",	"journal_match", "journal_directory",
					   "read_limit", "start_at",	  "poll_interval",
					   "position_save_interval"};
	char *sig = xstrdup("");
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *v = conf(lw, keys[i]);
		char *next = xasprintf("%s%s=%s\n", sig, keys[i], v ? v : "");
		free(sig);
		sig = next;
	}
	return sig;
}

/* ---- sources ---- */

static void on_journal_fd(evutil_socket_t fd, short what, void *arg);
static void arm_batch(struct mm_logwatch *lw);

static void add_inotify(struct mm_logwatch *lw, struct lw_source *s)
{
	if (lw->ifd < 0)
		return;
	char *copy = xstrdup(s->name);
	char *dir = dirname(copy);
	s->wd = inotify_add_watch(lw->ifd, dir,
				  IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
					  IN_CLOSE_WRITE);
	if (s->wd < 0)
		mm_log_warn(&lw->d->log, "log source %s: no inotify watch on %s (%s); polling only",
			    s->name, dir, strerror(errno));
	free(copy);
	copy = xstrdup(s->name);
	s->base = xstrdup(basename(copy));
	free(copy);
}

/* Opens the journal of source s; on failure the source shows the error
 * and the periodic job tries again. */
static void open_journal(struct mm_logwatch *lw, struct lw_source *s)
{
	char **match = mm_config_list(lw->d->conf, "log", "journal_match");
	/* A saved record without a cursor: nothing had been read yet, so
	 * everything since is new (start_at is for first runs only). */
	const struct mm_srcstate *rec = mm_posfile_find(&lw->snap, s->kind, s->name);
	struct mm_journal_opts o = {
		.directory = conf(lw, "journal_directory"),
		.match = (const char *const *)match,
		.read_limit = (size_t)mm_config_size(lw->d->conf, "log", "read_limit"),
		.start_at_end = !rec && strcmp(conf(lw, "start_at"), "end") == 0,
	};
	struct mm_err err;
	s->journal = mm_journal_open(&o, &err);
	mm_config_list_free(match);
	if (!s->journal) {
		set_source_error(s, err.msg);
		return;
	}
	if (s->error[0]) {
		mm_log_notice(&lw->d->log, "log source %s: open now", s->name);
		s->error[0] = '\0';
	}
	if (mm_journal_start(s->journal, rec ? rec->cursor : NULL, &err) < 0)
		set_source_error(s, err.msg);
	int fd = mm_journal_fd(s->journal);
	if (fd >= 0) {
		s->ev_journal = event_new(lw->d->base, fd, EV_READ | EV_PERSIST, on_journal_fd, s);
		event_add(s->ev_journal, NULL);
	}
}

static void open_source(struct mm_logwatch *lw, struct lw_source *s, const char *name)
{
	const struct mm_config *c = lw->d->conf;
	size_t read_limit = (size_t)mm_config_size(c, "log", "read_limit");
	bool at_end = strcmp(conf(lw, "start_at"), "end") == 0;
	s->lw = lw;
	s->name = xstrdup(name);
	s->wd = -1;
	if (strcmp(name, "journal") == 0) {
		s->kind = MM_SRCKIND_JOURNAL;
		const struct mm_srcstate *rec = mm_posfile_find(&lw->snap, s->kind, name);
		if (rec)
			s->lines_base = rec->lines;
		open_journal(lw, s);
		return;
	}
	s->kind = MM_SRCKIND_FILE;
	struct mm_tailer_opts o = {
		.read_limit = read_limit,
		.start_at_end = at_end,
		.rotate_grace_ms = ROTATE_GRACE_MS,
		.notice = {lw_notice, s},
	};
	s->tailer = mm_tailer_new(name, &o);
	const struct mm_srcstate *rec = mm_posfile_find(&lw->snap, s->kind, name);
	if (rec)
		s->lines_base = rec->lines;
	mm_tailer_start(s->tailer, rec ? &rec->pos : NULL);
	add_inotify(lw, s);
}

static void close_source(struct mm_logwatch *lw, struct lw_source *s)
{
	if (s->ev_journal)
		event_free(s->ev_journal);
	mm_journal_free(s->journal);
	mm_tailer_free(s->tailer);
	if (s->wd >= 0 && lw->ifd >= 0) {
		/* Another source may share the directory's watch. */
		bool shared = false;
		for (size_t i = 0; i < lw->n; i++)
			if (&lw->src[i] != s && lw->src[i].wd == s->wd)
				shared = true;
		if (!shared)
			inotify_rm_watch(lw->ifd, s->wd);
		s->wd = -1;
	}
	free(s->base);
	free(s->name);
}

static void open_sources(struct mm_logwatch *lw)
{
	char **names = mm_config_list(lw->d->conf, "log", "sources");
	size_t n = 0;
	while (names[n])
		n++;
	lw->src = xcalloc(n ? n : 1, sizeof *lw->src);
	lw->n = 0;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t k = 0; k < i; k++)
			dup |= strcmp(names[k], names[i]) == 0;
		if (dup)
			continue;
		struct lw_source *s = &lw->src[lw->n];
		s->index = (unsigned)lw->n;
		lw->n++;
		open_source(lw, s, names[i]);
	}
	mm_config_list_free(names);
	lw->save_ms = mm_config_duration_ms(lw->d->conf, "log", "position_save_interval");
	free(lw->conf_sig);
	lw->conf_sig = conf_signature(lw);
}

static void close_sources(struct mm_logwatch *lw)
{
	for (size_t i = 0; i < lw->n; i++)
		close_source(lw, &lw->src[i]);
	free(lw->src);
	lw->src = NULL;
	lw->n = 0;
}

/* ---- saving ---- */

static void build_state(struct mm_logwatch *lw, struct mm_posfile *pf)
{
	mm_posfile_init(pf);
	for (size_t i = 0; i < lw->n; i++) {
		struct lw_source *s = &lw->src[i];
		struct mm_srcstate *r = mm_posfile_add(pf, s->kind, s->name);
		r->lines = s->lines_base + s->lines_run;
		if (s->tailer)
			mm_tailer_position(s->tailer, &r->pos);
		if (s->journal && mm_journal_cursor(s->journal))
			r->cursor = xstrdup(mm_journal_cursor(s->journal));
		if (!s->tailer && !s->journal) {
			/* Failed to open: keep what was saved, lose nothing. */
			const struct mm_srcstate *old = mm_posfile_find(&lw->snap, s->kind, s->name);
			if (old) {
				r->pos = old->pos;
				r->lines = old->lines;
				r->cursor = old->cursor ? xstrdup(old->cursor) : NULL;
			}
		}
	}
	if (lw->consumer.checkpoint)
		pf->consumer = lw->consumer.checkpoint(lw->consumer.arg);
}

/* A save failed (lw->last_error says why). It is retried every cycle;
 * the log hears of it once a minute, with the count in between. */
static void save_failed(struct mm_logwatch *lw)
{
	uint64_t suppressed = 0;
	lw->save_errors++;
	if (mm_repeat_due(&lw->save_rep, mm_mono_ms(), &suppressed))
		mm_log_err(&lw->d->log, "log positions not saved: %s (%llu more failure%s since the last report)",
			   lw->last_error, (unsigned long long)suppressed, suppressed == 1 ? "" : "s");
}

/* Consumer flush first, then the positions: see sources/consumer.h.
 * Without new lines nothing is saved (unless final): a rotation alone
 * needs no save, the saved old position leads to the same place. */
static void save_positions(struct mm_logwatch *lw, bool final)
{
	struct mm_err err;
	if (!lw->dirty && !final)
		return;
	if (lw->consumer.flush && lw->consumer.flush(lw->consumer.arg, &err) < 0) {
		snprintf(lw->last_error, sizeof lw->last_error, "consumer flush: %s", err.msg);
		save_failed(lw);
		return;
	}
	struct mm_posfile pf;
	build_state(lw, &pf);
	size_t len;
	char *text = mm_posfile_encode(&pf, &len);
	if (lw->saved_text && strcmp(text, lw->saved_text) == 0) {
		free(text);
		mm_posfile_free(&pf);
		lw->dirty = false;
		return;
	}
	if (mm_file_write_atomic(lw->state_path, text, len, 0640, &err) < 0) {
		mm_strlcpy(lw->last_error, err.msg, sizeof lw->last_error);
		save_failed(lw);
		free(text);
		mm_posfile_free(&pf);
		return;
	}
	lw->saves++;
	uint64_t failed = mm_repeat_clear(&lw->save_rep);
	if (failed)
		mm_log_notice(&lw->d->log, "log positions saved again after %llu failed attempt%s",
			      (unsigned long long)failed, failed == 1 ? "" : "s");
	lw->last_save_wall = mm_wall_ms();
	lw->dirty = false;
	free(lw->saved_text);
	lw->saved_text = text;
	mm_posfile_free(&lw->snap);
	lw->snap = pf;
}

/* ---- reading ---- */

static void read_all(struct mm_logwatch *lw, bool check)
{
	bool more = false;
	for (size_t i = 0; i < lw->n; i++) {
		struct lw_source *s = &lw->src[i];
		if (s->tailer) {
			more |= mm_tailer_poll(s->tailer, check, on_line, s) == 1;
			const struct mm_tailer_stats *st = mm_tailer_stats(s->tailer);
			s->errors = st->open_errors + st->read_errors;
		} else if (s->journal) {
			struct mm_err err;
			int r = mm_journal_read(s->journal, on_line, s, &err);
			if (r < 0)
				set_source_error(s, err.msg);
			more |= r == 1;
		} else if (s->kind == MM_SRCKIND_JOURNAL && check) {
			open_journal(lw, s); /* failed before: retry each poll */
		}
	}
	if (more) {
		struct timeval now = {0, 0};
		evtimer_add(lw->ev_more, &now);
	}
}

static void on_more(evutil_socket_t fd, short what, void *arg)
{
	read_all(arg, false);
}

static void on_batch(evutil_socket_t fd, short what, void *arg)
{
	struct mm_logwatch *lw = arg;
	lw->batch_armed = false;
	bool check = lw->rotation_hint;
	lw->rotation_hint = false;
	read_all(lw, check);
	if (lw->ev_inotify)
		event_add(lw->ev_inotify, NULL);
}

static void arm_batch(struct mm_logwatch *lw)
{
	if (lw->batch_armed)
		return;
	struct timeval tv = {0, BATCH_MS * 1000};
	evtimer_add(lw->ev_batch, &tv);
	lw->batch_armed = true;
}

static void on_journal_fd(evutil_socket_t fd, short what, void *arg)
{
	struct lw_source *s = arg;
	mm_journal_process(s->journal);
	arm_batch(s->lw);
}

/* Is this inotify event about one of our files (or its .1)? */
static bool relevant(struct mm_logwatch *lw, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW)
		return true;
	if (!ev->len)
		return false;
	for (size_t i = 0; i < lw->n; i++) {
		const struct lw_source *s = &lw->src[i];
		if (s->wd != ev->wd || !s->base)
			continue;
		size_t bl = strlen(s->base);
		if (strncmp(ev->name, s->base, bl) == 0 &&
		    (ev->name[bl] == '\0' || strcmp(ev->name + bl, ".1") == 0))
			return true;
	}
	return false;
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct mm_logwatch *lw = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool wake = false;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (relevant(lw, ev)) {
				wake = true;
				if (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
						IN_Q_OVERFLOW))
					lw->rotation_hint = true;
			}
			p += sizeof *ev + ev->len;
		}
	}
	if (wake) {
		/* Quiet until the batch has been read: one wakeup per batch. */
		event_del(lw->ev_inotify);
		arm_batch(lw);
	}
}

/* Reload: sources reopened at once when their [log] settings changed
 * (kept sources resume where they were), the grammar switched. */
static void logwatch_apply(struct mm_daemon *d, const struct mm_config *old)
{
	struct mm_logwatch *lw = d->logwatch;
	if (!lw)
		return;
	char *sig = conf_signature(lw);
	if (strcmp(sig, lw->conf_sig) != 0) {
		mm_log_notice(&lw->d->log, "log sources: [log] changed, reopening");
		save_positions(lw, true);
		close_sources(lw);
		open_sources(lw);
		mm_schedule_set_period(&lw->d->sched, "logwatch",
				       mm_config_duration_ms(lw->d->conf, "log", "poll_interval"));
		lw->save_ms = mm_config_duration_ms(lw->d->conf, "log", "position_save_interval");
	}
	free(sig);
	if (lw->lp) {
		const char *fmt = mm_config_get(d->conf, "log", "format");
		mm_logpipe_set_parser(lw->lp, mm_parser_find(fmt ? fmt : "auto"));
	}
}

/* The periodic job: read with rotation check, save. */
static void on_job(void *arg, int64_t now_ms)
{
	struct mm_logwatch *lw = arg;
	read_all(lw, true);
	if (lw->dirty && now_ms - lw->last_save_mono >= lw->save_ms) {
		lw->last_save_mono = now_ms;
		save_positions(lw, false); /* flushes the consumer first */
	} else if (lw->consumer.flush) {
		/* Housekeeping (e.g. `mailmon counters -clear` requests) runs
		 * every poll, also on a quiet log. */
		struct mm_err err;
		lw->consumer.flush(lw->consumer.arg, &err);
	}
	report_counters_notice(lw);
}
/* ---- init / free ---- */

/* Loads the saved state; a corrupt file is set aside (".corrupt") and
 * every source starts as on a first run (start_at), never twice over. */
static void load_state(struct mm_logwatch *lw)
{
	struct mm_err err;
	mm_posfile_init(&lw->snap);
	int rc = mm_posfile_load(lw->state_path, &lw->snap, &err);
	if (rc < 0) {
		char *aside = xasprintf("%s.corrupt", lw->state_path);
		rename(lw->state_path, aside);
		snprintf(lw->last_error, sizeof lw->last_error,
			 "%s; moved to %s, sources start as on a first run", err.msg, aside);
		mm_log_err(&lw->d->log, "log positions: %s", lw->last_error);
		free(aside);
		mm_posfile_init(&lw->snap);
		return;
	}
	if (rc == 0 && lw->snap.consumer && lw->consumer.restore &&
	    lw->consumer.restore(lw->consumer.arg, lw->snap.consumer, &err) < 0) {
		snprintf(lw->last_error, sizeof lw->last_error, "consumer restore: %s", err.msg);
		mm_log_err(&lw->d->log, "log positions: %s", lw->last_error);
	}
	if (rc == 0) {
		size_t len;
		lw->saved_text = mm_posfile_encode(&lw->snap, &len);
	}
}
static int logwatch_init(struct mm_daemon *d, struct mm_err *err)
{
	struct mm_logwatch *lw = xcalloc(1, sizeof *lw);
	lw->d = d;
	d->logwatch = lw;
	const char *dir = mm_config_get(d->conf, "daemon", "state_directory");
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		mm_log_err(&d->log, "log positions: cannot create %s: %s", dir, strerror(errno));
	lw->state_path = xasprintf("%s/%s", dir, STATE_FILE);
	consumer_setup(lw);
	load_state(lw);
	if (mm_logwatch_metrics_add(lw, err) < 0)
		return -1;

	lw->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (lw->ifd >= 0) {
		lw->ev_inotify = event_new(d->base, lw->ifd, EV_READ | EV_PERSIST, on_inotify, lw);
		event_add(lw->ev_inotify, NULL);
	}
	lw->ev_batch = evtimer_new(d->base, on_batch, lw);
	lw->ev_more = evtimer_new(d->base, on_more, lw);
	open_sources(lw);
	/* Save the starting positions soon even if no line comes: a first
	 * run at the end of a log must not start at the end again (and skip
	 * what was written meanwhile) after a crash. */
	lw->dirty = true;
	int64_t now = mm_mono_ms();
	lw->last_save_mono = now;
	mm_schedule_add(&d->sched, "logwatch",
			mm_config_duration_ms(d->conf, "log", "poll_interval"), 0, now, on_job, lw);
	if (d->httpd)
		mm_http_route(d, "/api/logs", mm_logwatch_api, lw);
	arm_batch(lw); /* first read as soon as the loop runs */
	return 0;
}

static void logwatch_free(struct mm_daemon *d)
{
	struct mm_logwatch *lw = d->logwatch;
	if (!lw)
		return;
	mm_registry_remove_collector(d->metrics, lw);
	if (d->httpd)
		mm_http_unroute(d, "/api/logs");
	save_positions(lw, true);
	close_sources(lw);
	if (lw->consumer.free)
		lw->consumer.free(lw->consumer.arg);
	lw->lp = NULL;
	struct event *evs[] = {lw->ev_inotify, lw->ev_batch, lw->ev_more};
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (evs[i])
			event_free(evs[i]);
	if (lw->ifd >= 0)
		close(lw->ifd);
	mm_posfile_free(&lw->snap);
	free(lw->saved_text);
	free(lw->conf_sig);
	free(lw->state_path);
	free(lw);
	d->logwatch = NULL;
}

struct mm_logpipe *mm_logwatch_logpipe(struct mm_daemon *d)
{
	return d->logwatch ? d->logwatch->lp : NULL;
}
const struct mm_module mm_module_logs = {
	.name = "logs",
	.conf = {&mm_conf_table_logs},
	.init = logwatch_init,
	.apply = logwatch_apply,
	.in_effect = mm_logwatch_in_effect,
	.free = logwatch_free,
};

/*
 * logwatch_api: the logs module's readers: GET /api/logs (per source its
 * kind, state, position, line counts and errors; the saves of the state
 * file; the consumer) and the module's in_effect hook (the [log] values
 * the open sources were built from).
 *
 * /api/logs returns {"sources": [...], "state_file", "saves",
 * "save_errors", "last_save_ms", "last_error", "consumer", "lines"}; each
 * source has name, kind, state, dev, inode, offset (files) or cursor
 * (journal), lines (ever, across restarts), lines_this_run, capped,
 * unterminated, bytes, rotations, truncations, replaced, errors,
 * last_read_ms and last_error.
 *
 * Reads struct mm_logwatch (logwatch_impl.h) on the loop's thread and
 * owns nothing beyond the JSON it builds, which the reply or the caller
 * takes.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/logwatch.h"
#include "daemon/logwatch_impl.h"
#include "logs/logpipe.h"
#include "sources/journal.h"
#include "sources/tailer.h"

static json_t *source_json(const struct lw_source *s)
{
	json_t *o = json_pack("{s:o, s:s, s:I, s:I, s:I}", "name", mm_json_text(s->name), "kind",
			      s->kind == MM_SRCKIND_FILE ? "file" : "journal", "lines",
			      (json_int_t)(s->lines_base + s->lines_run), "lines_this_run",
			      (json_int_t)s->lines_run, "errors", (json_int_t)s->errors);
	json_object_set_new(o, "last_error", mm_json_text(s->error));
	if (s->tailer) {
		const struct mm_tailer_stats *st = mm_tailer_stats(s->tailer);
		struct mm_filepos pos;
		mm_tailer_position(s->tailer, &pos);
		json_object_update_new(
			o, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "state",
				     mm_tailer_state(s->tailer), "dev", (json_int_t)pos.dev, "inode",
				     (json_int_t)pos.ino, "offset", (json_int_t)pos.offset, "capped",
				     (json_int_t)st->lines.capped, "unterminated",
				     (json_int_t)st->lines.unterminated, "bytes",
				     (json_int_t)st->lines.bytes, "rotations",
				     (json_int_t)st->rotations, "truncations",
				     (json_int_t)st->truncations, "replaced", (json_int_t)st->replaced,
				     "last_read_ms", (json_int_t)st->last_read_ms));
	} else if (s->journal) {
		const struct mm_journal_stats *st = mm_journal_stats(s->journal);
		json_object_update_new(
			o, json_pack("{s:s, s:o, s:I, s:I, s:I, s:I}", "state", "reading", "cursor",
				     mm_json_text(mm_journal_cursor(s->journal)), "entries", (json_int_t)st->entries,
				     "skipped", (json_int_t)st->skipped, "capped",
				     (json_int_t)st->capped, "last_read_ms",
				     (json_int_t)st->last_read_ms));
	} else {
		json_object_set_new(o, "state", json_string("error"));
	}
	return o;
}

void mm_logwatch_api(struct evhttp_request *req, void *arg)
{
	struct mm_logwatch *lw = arg;
	json_t *arr = json_array();
	uint64_t total = 0;
	for (size_t i = 0; i < lw->n; i++) {
		json_array_append_new(arr, source_json(&lw->src[i]));
		total += lw->src[i].lines_base + lw->src[i].lines_run;
	}
	json_t *doc = json_pack("{s:o, s:o, s:I, s:I, s:I, s:o, s:s, s:I}", "sources", arr,
				"state_file", mm_json_text(lw->state_path), "saves", (json_int_t)lw->saves,
				"save_errors", (json_int_t)lw->save_errors, "last_save_ms",
				(json_int_t)lw->last_save_wall, "last_error", mm_json_text(lw->last_error),
				"consumer", lw->consumer.name, "lines", (json_int_t)total);
	mm_http_reply_json(req, 200, doc);
}

/* The [log] values the open sources were built from (their signature),
 * the poll and save periods in use, and the grammar of the pipeline. */
void mm_logwatch_in_effect(struct mm_daemon *d, json_t *out)
{
	struct mm_logwatch *lw = d->logwatch;
	if (!lw || !lw->conf_sig)
		return;
	char *sig = xstrdup(lw->conf_sig), *save = NULL;
	for (char *line = strtok_r(sig, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char key[64];
		snprintf(key, sizeof key, "log.%s", line);
		json_object_set_new(out, key, json_string(eq + 1));
	}
	free(sig);
	for (size_t i = 0; i < d->sched.n; i++)
		if (strcmp(d->sched.jobs[i].name, "logwatch") == 0)
			json_object_set_new(out, "log.poll_interval",
					    json_integer((json_int_t)d->sched.jobs[i].period_ms));
	json_object_set_new(out, "log.position_save_interval", json_integer((json_int_t)lw->save_ms));
	if (lw->lp)
		json_object_set_new(out, "log.format", json_string(mm_logpipe_parser_name(lw->lp)));
}

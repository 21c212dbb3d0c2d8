/*
 * queuewatch_api: the queue module's readers: GET /api/queue (mode, scan
 * statistics, per queue and per destination figures, growth and drain
 * estimate per queue and for the backlog, RFC 2789 stored gauges per
 * destination group; or, with no queue watched, why) and the module's
 * in_effect hook (the [queue] and [mta] values the scanner uses).
 *
 * Runs on the loop thread: reads the loop-only fields of struct
 * mm_queuewatch (queuewatch_impl.h) freely and the worker's under w->mu.
 * Owns nothing beyond the JSON it builds, which the reply or the caller
 * takes.
 */
#include <string.h>

#include "core/bgwork.h"
#include "core/clock.h"
#include "core/utf8.h"
#include "daemon/daemon.h"
#include "daemon/queuewatch_impl.h"

static json_t *trend_json(const struct mm_queuewatch *w, unsigned mask, int64_t window_s)
{
	struct mm_qtrend_out t;
	mm_qtrend_get(&w->trend, mask, window_s, &t);
	if (!t.known)
		return json_pack("{s:I, s:n, s:n, s:s}", "messages", (json_int_t)t.size,
				 "growth_per_min", "drain_eta_s", "drain", "unknown (one sample)");
	return json_pack("{s:I, s:f, s:I, s:o, s:s}", "messages", (json_int_t)t.size,
			 "growth_per_min", t.growth_per_min, "window_s", (json_int_t)t.span_s,
			 "drain_eta_s", t.draining ? json_integer((json_int_t)t.drain_eta_s) : json_null(),
			 "drain", t.draining ? "draining" : "not draining");
}

/* RFC 2789 mtaGroupStored* per channel group. Postfix queue files do not
 * name the transport, so the groups are the queue's destination domains
 * plus "other". */
static json_t *rfc2789_json(const struct mm_queuewatch *w, int64_t now_s)
{
	json_t *groups = json_array();
	for (int pass = 0; pass < 2; pass++) {
		unsigned qi = pass == 0 ? MM_Q_ACTIVE : MM_Q_DEFERRED;
		const struct mm_qsum_queue *q = &w->cur.q[qi];
		for (size_t i = 0; i < q->ndests; i++) {
			const struct mm_qsum_dest *dd = &q->dests[i];
			json_array_append_new(
				groups, json_pack("{s:o, s:s, s:I, s:I, s:I, s:I}", "group", mm_json_text(dd->name),
						  "queue", mm_queue_name(qi), "mtaGroupStoredMessages",
						  (json_int_t)dd->msgs, "mtaGroupStoredVolume",
						  (json_int_t)((dd->bytes + 1023) / 1024),
						  "mtaGroupStoredRecipients", (json_int_t)dd->rcpts,
						  "mtaGroupOldestMessageStored",
						  (json_int_t)(dd->oldest == INT64_MAX ? 0 : now_s - dd->oldest)));
		}
	}
	return groups;
}

static json_t *queue_json(struct mm_queuewatch *w)
{
	int64_t now_s = mm_wall_ms() / 1000;
	int64_t window = mm_config_duration_ms(w->d->conf, "queue", "growth_window") / 1000;
	bool busy = w->bg && mm_bgwork_running(w->bg);
	pthread_mutex_lock(&w->mu);
	char mode[sizeof w->mode];
	memcpy(mode, w->mode, sizeof mode);
	pthread_mutex_unlock(&w->mu);
	json_t *doc = json_pack("{s:s, s:I, s:I, s:I, s:I, s:b, s:o}", "mode", mode, "scans",
				(json_int_t)w->scans, "failures", (json_int_t)w->failures,
				"requests", (json_int_t)w->requests, "merged", (json_int_t)w->merged,
				"scanning", busy, "error",
				w->last_error[0] ? mm_json_text(w->last_error) : json_null());
	if (!w->have_cur) {
		json_object_set_new(doc, "queues", json_null());
		return doc;
	}
	const struct mm_qscan_stats *s = &w->cur.stats;
	json_object_set_new(
		doc, "scan",
		json_pack("{s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
			  "taken", (json_int_t)w->cur.taken_s, "age_s",
			  (json_int_t)(now_s - w->cur.taken_s), "duration_us",
			  (json_int_t)s->duration_us, "full", s->full, "max_duration_us",
			  (json_int_t)w->max_duration_us, "files", (json_int_t)s->files, "parsed",
			  (json_int_t)s->parsed, "reused", (json_int_t)s->reused, "vanished",
			  (json_int_t)s->vanished, "in_progress", (json_int_t)s->in_progress,
			  "malformed", (json_int_t)s->malformed, "oversize", (json_int_t)s->oversize,
			  "unreadable", (json_int_t)s->unreadable, "duplicates",
			  (json_int_t)s->duplicates, "first_problem", mm_json_text(s->first_problem)));
	json_object_set_new(doc, "queues", mm_qsummary_json(&w->cur, now_s));
	json_t *trend = json_object();
	for (unsigned q = 0; q < MM_Q_N; q++)
		json_object_set_new(trend, mm_queue_name(q), trend_json(w, MM_QMASK(q), window));
	json_object_set_new(trend, "backlog", trend_json(w, BACKLOG_MASK, window));
	json_object_set_new(doc, "trend", trend);
	json_object_set_new(doc, "rfc2789", rfc2789_json(w, now_s));
	return doc;
}

void mm_queuewatch_api(struct evhttp_request *req, void *arg)
{
	struct mm_queuewatch *w = arg;
	json_t *doc = queue_json(w);
	mm_http_reply_json(req, 200, doc);
}

/* /api/queue when no queue is watched: says why instead of a 404, so a
 * Dovecot-only host ([mta] type = none) reads as such. */
void mm_queuewatch_api_off(struct evhttp_request *req, void *arg)
{
	struct mm_daemon *d = arg;
	const char *why = !mm_config_bool(d->conf, "queue", "enable")
				  ? "[queue] enable = no"
				  : "[mta] type has no queue reader";
	mm_http_reply_json(req, 200,
			   json_pack("{s:s, s:s, s:s, s:n}", "mode", "off", "mta",
				     mm_config_get(d->conf, "mta", "type"), "reason", why, "queues"));
}

static void put_ms(json_t *out, const char *key, int64_t ms)
{
	json_object_set_new(out, key, json_integer((json_int_t)ms));
}

void mm_queuewatch_in_effect(struct mm_daemon *d, json_t *out)
{
	struct mm_queuewatch *w = d->queue;
	if (!w)
		return;
	for (size_t i = 0; i < d->sched.n; i++)
		if (strcmp(d->sched.jobs[i].name, "queue") == 0)
			put_ms(out, "queue.scan_interval", d->sched.jobs[i].period_ms);
	put_ms(out, "queue.growth_window", mm_config_duration_ms(d->conf, "queue", "growth_window"));
	json_object_set_new(out, "queue.top_destinations", json_integer((json_int_t)w->top));
	pthread_mutex_lock(&w->mu);
	const struct mm_mta_params *p = w->in_use ? &w->in_use->p : NULL;
	if (p) {
		json_object_set_new(out, "mta.config_directory", json_string(p->config_dirs[0]));
		json_object_set_new(out, "mta.queue_directory",
				    p->queue_directory ? json_string(p->queue_directory) : json_null());
		json_object_set_new(out, "mta.command_directory", json_string(p->command_directory));
		json_object_set_new(out, "queue.mode", json_string(p->mode));
		json_t *inst = json_array();
		for (size_t i = 1; i < p->ninstances; i++)
			json_array_append_new(inst, json_string(p->config_dirs[i]));
		json_object_set_new(out, "queue.instances", inst);
		put_ms(out, "queue.command_timeout", p->command_timeout_ms);
		json_object_set_new(out, "queue.command_max_bytes",
				    json_integer((json_int_t)p->command_max_bytes));
		put_ms(out, "queue.full_rescan_interval", p->full_every_ms);
	}
	pthread_mutex_unlock(&w->mu);
}

/*
 * queuewatch_metrics: the queue module's families in the metric registry
 * (mailmon_queue_*: sizes, ages, growth and drain per queue, sizes and
 * ages per queue of each Postfix instance, the top
 * destinations, delay-reason classes and the causes behind suspended
 * destinations, the scanner's own figures) and the
 * collector that sets them from the published summary at each scrape.
 *
 * The registry owns the families; w->f[] only points at them. The
 * collector runs on the loop thread and reads only loop-thread fields of
 * struct mm_queuewatch (queuewatch_impl.h); it owns nothing.
 */
#include "core/clock.h"
#include "daemon/daemon.h"
#include "daemon/queuewatch_impl.h"
#include "metrics/registry.h"
#include "mta/reason_class.h"

enum {
	F_MSGS,
	F_RCPTS,
	F_BYTES,
	F_OLDEST,
	F_GROWTH,
	F_DRAINING,
	F_ETA,
	F_DEST_MSGS,
	F_DEST_RCPTS,
	F_DEST_OLDEST,
	F_REASON,
	F_REASON_RCPTS,
	F_DEST_REASON,
	F_DEST_SUSPENDED,
	F_INST_MSGS,
	F_INST_OLDEST,
	F_SCANS,
	F_SCAN_FAIL,
	F_SCAN_SECONDS,
	F_SCAN_FILES,
	F_SCAN_AGE,
	F_N
};

static const struct mm_metric_def defs[F_N] = {
	[F_MSGS] = {"mailmon_queue_messages", "Messages in the MTA queue.", MM_METRIC_GAUGE,
		    {"queue"}},
	[F_RCPTS] = {"mailmon_queue_recipients", "Pending recipients in the MTA queue.",
		     MM_METRIC_GAUGE, {"queue"}},
	[F_BYTES] = {"mailmon_queue_bytes", "Size of the queued messages, in bytes.",
		     MM_METRIC_GAUGE, {"queue"}},
	[F_OLDEST] = {"mailmon_queue_oldest_age_seconds",
		      "Age of the oldest message in the queue, in seconds (0 when empty).",
		      MM_METRIC_GAUGE, {"queue"}},
	[F_GROWTH] = {"mailmon_queue_growth_messages_per_second",
		      "Net change of the queue's size over [queue] growth_window, in messages "
		      "per second; negative while it drains.",
		      MM_METRIC_GAUGE, {"queue"}},
	[F_DRAINING] = {"mailmon_queue_draining",
			"1 while the queue shrinks over [queue] growth_window, 0 when it does not.",
			MM_METRIC_GAUGE, {"queue"}},
	[F_ETA] = {"mailmon_queue_drain_eta_seconds",
		   "While the queue drains: seconds until it is empty at the current net rate. "
		   "Absent when it is not draining.",
		   MM_METRIC_GAUGE, {"queue"}},
	[F_DEST_MSGS] = {"mailmon_queue_destination_messages",
			 "Messages per destination domain, the top [queue] top_destinations per "
			 "queue; the rest are summed as destination=\"other\".",
			 MM_METRIC_GAUGE, {"queue", "destination"}, .max_series = 2000},
	[F_DEST_RCPTS] = {"mailmon_queue_destination_recipients",
			  "Pending recipients per destination domain (top N plus \"other\").",
			  MM_METRIC_GAUGE, {"queue", "destination"}, .max_series = 2000},
	[F_DEST_OLDEST] = {"mailmon_queue_destination_oldest_age_seconds",
			   "Age of the oldest message per destination domain, in seconds.",
			   MM_METRIC_GAUGE, {"queue", "destination"}, .max_series = 2000},
	[F_REASON] = {"mailmon_queue_reason_messages",
		      "Messages per delay-reason class (refused, timeout, tls, dns, 4xx, "
		      "suspended, other, none); a message with recipients of two classes counts "
		      "in both.",
		      MM_METRIC_GAUGE, {"queue", "reason"}},
	[F_REASON_RCPTS] = {"mailmon_queue_reason_recipients",
			    "Pending recipients per delay-reason class.", MM_METRIC_GAUGE,
			    {"queue", "reason"}},
	[F_DEST_REASON] = {"mailmon_queue_destination_reason_recipients",
			   "Pending recipients per destination domain and delay-reason class "
			   "(top N destinations plus \"other\"; classes with none are left out).",
			   MM_METRIC_GAUGE, {"queue", "destination", "reason"}, .max_series = 8000,
			   .fold_label = 2},
	[F_DEST_SUSPENDED] = {"mailmon_queue_destination_suspended_recipients",
			      "Pending recipients per destination domain whose delay reason is "
			      "\"delivery temporarily suspended\" (reason=\"suspended\" in "
			      "mailmon_queue_destination_reason_recipients), by the "
			      "class of the cause Postfix quoted after it (refused, timeout, ...; none: "
			      "no cause quoted).",
			      MM_METRIC_GAUGE, {"queue", "destination", "cause"}, .max_series = 8000,
			      .fold_label = 2},
	[F_INST_MSGS] = {"mailmon_queue_instance_messages",
			 "Messages in the queue of one Postfix instance ([mta] config_directory "
			 "and each of [queue] instances), labelled with its syslog_name; "
			 "mailmon_queue_messages is their sum.",
			 MM_METRIC_GAUGE, {"postfix_instance", "queue"}, .max_series = 200,
			 .fold_label = 1},
	[F_INST_OLDEST] = {"mailmon_queue_instance_oldest_age_seconds",
			   "Age of the oldest message in one Postfix instance's queue, in "
			   "seconds (0 when empty).",
			   MM_METRIC_GAUGE, {"postfix_instance", "queue"}, .max_series = 200,
			   .fold_label = 1},
	[F_SCANS] = {"mailmon_queue_scans_total", "Queue scans completed.", MM_METRIC_COUNTER},
	[F_SCAN_FAIL] = {"mailmon_queue_scan_failures_total", "Queue scans that failed.",
			 MM_METRIC_COUNTER},
	[F_SCAN_SECONDS] = {"mailmon_queue_scan_duration_seconds",
			    "How long the last queue scan took, in seconds.", MM_METRIC_GAUGE},
	[F_SCAN_FILES] = {"mailmon_queue_scan_files", "Queue files seen by the last scan.",
			  MM_METRIC_GAUGE},
	[F_SCAN_AGE] = {"mailmon_queue_scan_age_seconds",
			"Seconds since the published queue figures were taken.", MM_METRIC_GAUGE},
};

static void collect(void *arg, struct mm_registry *r)
{
	struct mm_queuewatch *w = arg;
	mm_metric_set(w->f[F_SCANS], NULL, (double)w->scans);
	mm_metric_set(w->f[F_SCAN_FAIL], NULL, (double)w->failures);
	if (!w->have_cur)
		return;
	int64_t now_s = mm_wall_ms() / 1000;
	int64_t window = mm_config_duration_ms(w->d->conf, "queue", "growth_window") / 1000;
	mm_metric_set(w->f[F_SCAN_SECONDS], NULL, (double)w->cur.stats.duration_us / 1e6);
	mm_metric_set(w->f[F_SCAN_FILES], NULL, (double)w->cur.stats.files);
	mm_metric_set(w->f[F_SCAN_AGE], NULL, (double)(now_s - w->cur.taken_s));
	for (unsigned qi = 0; qi < MM_Q_N; qi++) {
		const struct mm_qsum_queue *q = &w->cur.q[qi];
		const char *ql[] = {mm_queue_name(qi)};
		mm_metric_set(w->f[F_MSGS], ql, (double)q->msgs);
		mm_metric_set(w->f[F_RCPTS], ql, (double)q->rcpts);
		mm_metric_set(w->f[F_BYTES], ql, (double)q->bytes);
		mm_metric_set(w->f[F_OLDEST], ql,
			      q->oldest == INT64_MAX || q->oldest > now_s ? 0
									  : (double)(now_s - q->oldest));
		struct mm_qtrend_out t;
		mm_qtrend_get(&w->trend, MM_QMASK(qi), window, &t);
		if (t.known) {
			mm_metric_set(w->f[F_GROWTH], ql, t.growth_per_min / 60.0);
			mm_metric_set(w->f[F_DRAINING], ql, t.draining ? 1 : 0);
			if (t.draining)
				mm_metric_set(w->f[F_ETA], ql, (double)t.drain_eta_s);
		}
		for (size_t i = 0; i <= q->ndests; i++) {
			const struct mm_qsum_dest *dd = i < q->ndests ? &q->dests[i] : &q->other;
			if (i == q->ndests && q->other_dests == 0)
				break;
			const char *dl[] = {mm_queue_name(qi), i < q->ndests ? dd->name : "other"};
			mm_metric_set(w->f[F_DEST_MSGS], dl, (double)dd->msgs);
			mm_metric_set(w->f[F_DEST_RCPTS], dl, (double)dd->rcpts);
			mm_metric_set(w->f[F_DEST_OLDEST], dl,
				      dd->oldest == INT64_MAX || dd->oldest > now_s
					      ? 0
					      : (double)(now_s - dd->oldest));
			for (unsigned c = 0; c < MM_RC_N; c++)
				if (dd->rclass[c])
					mm_metric_set(w->f[F_DEST_REASON],
						      (const char *[]){dl[0], dl[1], mm_rclass_name(c)},
						      (double)dd->rclass[c]);
			for (unsigned c = 0; c < MM_RC_N; c++)
				if (dd->suspended_cause[c])
					mm_metric_set(w->f[F_DEST_SUSPENDED],
						      (const char *[]){dl[0], dl[1], mm_rclass_name(c)},
						      (double)dd->suspended_cause[c]);
		}
		for (unsigned c = 0; c < MM_RC_N; c++) {
			const char *rl[] = {mm_queue_name(qi), mm_rclass_name(c)};
			mm_metric_set(w->f[F_REASON], rl, (double)q->rclass_msgs[c]);
			mm_metric_set(w->f[F_REASON_RCPTS], rl, (double)q->rclass[c]);
		}
		for (size_t k = 0; k < w->cur.ninst; k++) {
			const struct mm_qsum_inst *in = &w->cur.inst[k];
			const char *il[] = {in->name, mm_queue_name(qi)};
			mm_metric_set(w->f[F_INST_MSGS], il, (double)in->msgs[qi]);
			mm_metric_set(w->f[F_INST_OLDEST], il,
				      in->oldest[qi] == INT64_MAX || in->oldest[qi] > now_s
					      ? 0
					      : (double)(now_s - in->oldest[qi]));
		}
	}
}

_Static_assert(F_N <= sizeof((struct mm_queuewatch *)0)->f / sizeof(struct mm_metric *),
	       "struct mm_queuewatch f[] holds every family");

int mm_queuewatch_metrics_add(struct mm_queuewatch *w, struct mm_err *err)
{
	if (mm_registry_add_all(w->d->metrics, defs, F_N, w->f, err) < 0)
		return -1;
	mm_registry_add_collector(w->d->metrics, collect, w);
	return 0;
}

/*
 * logwatch_metrics: the logs module's families in the metric registry:
 * mailmon_log_* per source, the RFC 2789 channel counters per channel
 * (mailmon_messages_*, mailmon_*_associations*, mailmon_channel_stored_*,
 * ...), the Dovecot logins, the pipeline's tracked messages, the lines per
 * program and the signs of a transport with no process, the same per
 * Postfix instance with its message outcomes, the recipients delivered
 * per recipient domain (progstat.h); and the
 * collector that sets them at each scrape from the sources and the
 * counters file.
 *
 * The registry owns the families; lw->f[] only points at them. The
 * collector reads struct mm_logwatch (logwatch_impl.h) and owns nothing.
 */
#include "daemon/daemon.h"
#include "daemon/logwatch_impl.h"
#include "logs/logpipe.h"
#include "logs/progstat.h"
#include "metrics/registry.h"

enum {
	F_LINES,
	F_UNPARSED,
	F_SOURCE_ERRORS,
	F_RECEIVED,
	F_DELIVERED,
	F_DEFERRED,
	F_BOUNCED,
	F_REJECTED,
	F_DELIVERED_FIRST,
	F_SUBMITTED,
	F_RCPT_DELIVERED,
	F_RCPT_FAILED,
	F_BYTES_RECEIVED,
	F_BYTES_DELIVERED,
	F_QTIME,
	F_QTIME_COUNT,
	F_IN_ASSOC,
	F_IN_ASSOC_TOTAL,
	F_IN_ASSOC_REJ,
	F_OUT_ASSOC,
	F_OUT_ASSOC_TOTAL,
	F_OUT_ASSOC_FAIL,
	F_LAST_IN,
	F_LAST_OUT,
	F_STORED,
	F_STORED_RCPTS,
	F_STORED_BYTES,
	F_STORED_OLDEST,
	F_LOGINS,
	F_LOGIN_CONNS,
	F_INFLIGHT,
	F_EVICTED,
	F_FILTER_HOPS,
	F_PROGRAM_LINES,
	F_TRANSPORT_UNAVAIL,
	F_UNAVAIL_DEFERRED,
	F_INST_LINES,
	F_INST_MESSAGES,
	F_INST_TRANSPORT,
	F_DEST_DELIVERED,
	F_DEST_LAST_NO,
	F_TALLY_NO,
	F_TALLY_EVICTED_NO,
	F_N
};

#define CH(name, type, help) {name, help, type, {"channel"}}

static const struct mm_metric_def defs[F_N] = {
	[F_LINES] = {"mailmon_log_lines_total", "Log lines read, per source.", MM_METRIC_COUNTER,
		     {"source"}},
	[F_UNPARSED] = {"mailmon_log_lines_unparsed_total",
			"Log lines no grammar understood, per source (since mailmond started).",
			MM_METRIC_COUNTER, {"source"}},
	[F_SOURCE_ERRORS] = {"mailmon_log_source_errors_total",
			     "Errors reading the source (missing file, unreadable, journal "
			     "failures).",
			     MM_METRIC_COUNTER, {"source"}},
	[F_RECEIVED] = CH("mailmon_messages_received_total", MM_METRIC_COUNTER,
			  "Messages enqueued to the channel (RFC 2789 mtaGroupReceivedMessages)."),
	[F_DELIVERED] = CH("mailmon_messages_delivered_total", MM_METRIC_COUNTER,
			   "Messages delivered by the channel (mtaGroupTransmittedMessages)."),
	[F_DEFERRED] = CH("mailmon_messages_deferred_total", MM_METRIC_COUNTER,
			  "Temporary delivery failures (deferrals) on the channel."),
	[F_BOUNCED] = CH("mailmon_messages_bounced_total", MM_METRIC_COUNTER,
			 "Permanent delivery failures (bounced, expired) on the channel."),
	[F_REJECTED] = CH("mailmon_messages_rejected_total", MM_METRIC_COUNTER,
			  "Attempted enqueues the channel rejected (mtaGroupRejectedMessages)."),
	[F_DELIVERED_FIRST] = CH("mailmon_messages_delivered_first_attempt_total",
				 MM_METRIC_COUNTER,
				 "Messages delivered by the channel on their first attempt."),
	[F_SUBMITTED] = CH("mailmon_messages_submitted_total", MM_METRIC_COUNTER,
			   "Messages this (inbound) channel handed to the MTA."),
	[F_RCPT_DELIVERED] = CH("mailmon_recipients_delivered_total", MM_METRIC_COUNTER,
				"Recipients delivered by the channel."),
	[F_RCPT_FAILED] = CH("mailmon_recipients_failed_total", MM_METRIC_COUNTER,
			     "Recipients that failed permanently on the channel."),
	[F_BYTES_RECEIVED] = CH("mailmon_received_bytes_total", MM_METRIC_COUNTER,
				"Bytes enqueued to the channel (mtaGroupReceivedVolume)."),
	[F_BYTES_DELIVERED] = CH("mailmon_delivered_bytes_total", MM_METRIC_COUNTER,
				 "Bytes delivered by the channel (mtaGroupTransmittedVolume)."),
	[F_QTIME] = CH("mailmon_queue_time_seconds_total", MM_METRIC_COUNTER,
		       "Summed time in queue of the channel's delivered messages, in seconds."),
	[F_QTIME_COUNT] = CH("mailmon_queue_time_messages_total", MM_METRIC_COUNTER,
			     "Delivered messages whose queue time is summed above (for the "
			     "average)."),
	[F_IN_ASSOC] = CH("mailmon_inbound_associations", MM_METRIC_GAUGE,
			  "Inbound SMTP/LMTP sessions open now (mtaGroupInboundAssociations)."),
	[F_IN_ASSOC_TOTAL] = CH("mailmon_inbound_associations_total", MM_METRIC_COUNTER,
				"Inbound sessions (mtaGroupAccumulatedInboundAssociations)."),
	[F_IN_ASSOC_REJ] = CH("mailmon_inbound_associations_rejected_total", MM_METRIC_COUNTER,
			      "Inbound sessions rejected (mtaGroupRejectedInboundAssociations)."),
	[F_OUT_ASSOC] = CH("mailmon_outbound_associations", MM_METRIC_GAUGE,
			   "Outbound sessions open now (mtaGroupOutboundAssociations)."),
	[F_OUT_ASSOC_TOTAL] = CH("mailmon_outbound_associations_total", MM_METRIC_COUNTER,
				 "Outbound sessions (mtaGroupAccumulatedOutboundAssociations)."),
	[F_OUT_ASSOC_FAIL] = CH("mailmon_outbound_connect_failures_total", MM_METRIC_COUNTER,
				"Outbound connections that failed (mtaGroupOutboundConnectFailures)."),
	[F_LAST_IN] = CH("mailmon_last_inbound_activity_timestamp_seconds", MM_METRIC_GAUGE,
			 "Last inbound activity on the channel, seconds since the epoch."),
	[F_LAST_OUT] = CH("mailmon_last_outbound_activity_timestamp_seconds", MM_METRIC_GAUGE,
			  "Last outbound activity on the channel, seconds since the epoch."),
	[F_STORED] = CH("mailmon_channel_stored_messages", MM_METRIC_GAUGE,
			"Queued messages whose last delivery attempt was on the channel "
			"(mtaGroupStoredMessages; \"unattempted\" for never tried)."),
	[F_STORED_RCPTS] = CH("mailmon_channel_stored_recipients", MM_METRIC_GAUGE,
			      "Their pending recipients (mtaGroupStoredRecipients)."),
	[F_STORED_BYTES] = CH("mailmon_channel_stored_bytes", MM_METRIC_GAUGE,
			      "Their size in bytes (mtaGroupStoredVolume)."),
	[F_STORED_OLDEST] = CH("mailmon_channel_oldest_message_age_seconds", MM_METRIC_GAUGE,
			       "Age of the channel's oldest stored message "
			       "(mtaGroupOldestMessageStored)."),
	[F_LOGINS] = {"mailmon_logins_total",
		      "Mail access logins from the Dovecot log, by result (good, failed).",
		      MM_METRIC_COUNTER, {"channel", "result"}},
	[F_LOGIN_CONNS] = CH("mailmon_login_connections_total", MM_METRIC_COUNTER,
			     "Login process connections (counterutil numConnections)."),
	[F_INFLIGHT] = {"mailmon_log_messages_tracked",
			"Messages whose lifecycle the log pipeline tracks now.", MM_METRIC_GAUGE},
	[F_FILTER_HOPS] = {"mailmon_messages_filter_hops_total",
			   "Messages handed to a content filter on this host that re-injected "
			   "them (\"queued as\" a loopback smtpd arrival): one message, two "
			   "passes through the MTA.",
			   MM_METRIC_COUNTER},
	[F_EVICTED] = {"mailmon_log_messages_evicted_total",
		       "Tracked messages dropped before their end, by cause (full, idle).",
		       MM_METRIC_COUNTER, {"cause"}},
	[F_PROGRAM_LINES] = {"mailmon_log_program_lines_total",
			     "Log lines per program (qmgr, smtpd, smtp, imap-login, ...; the "
			     "first 31 names, later ones as \"other\"), since mailmond started.",
			     MM_METRIC_COUNTER, {"program"}, .max_series = 32},
	[F_TRANSPORT_UNAVAIL] = {"mailmon_log_transport_unavailable_total",
				 "qmgr warnings \"connect to transport private/NAME\": no process "
				 "serves the transport (its master.cf service is missing or "
				 "disabled).",
				 MM_METRIC_COUNTER, {"transport"}, .max_series = 32},
	[F_UNAVAIL_DEFERRED] = {"mailmon_log_deferred_unavailable_total",
				"Deferrals \"mail transport unavailable\": mail deferred without "
				"a delivery attempt because its transport has no process.",
				MM_METRIC_COUNTER},
	[F_INST_LINES] = {"mailmon_log_instance_program_lines_total",
			  "Postfix log lines per instance (syslog_name, the tag before the "
			  "first \"/\") and program, since mailmond started.",
			  MM_METRIC_COUNTER, {"postfix_instance", "program"}, .max_series = 512,
			  .fold_label = 2},
	[F_INST_MESSAGES] = {"mailmon_log_instance_messages_total",
			     "Message outcomes per Postfix instance (syslog_name) from its log "
			     "lines: submitted (smtpd client= and pickup), delivered, deferred, "
			     "bounced (delivery lines by status; bounced includes expired), "
			     "unavailable (deferred \"mail transport unavailable\"), since "
			     "mailmond started.",
			     MM_METRIC_COUNTER, {"postfix_instance", "outcome"}, .max_series = 100,
			     .fold_label = 1},
	[F_INST_TRANSPORT] = {"mailmon_log_instance_transport_unavailable_total",
			      "qmgr warnings \"connect to transport private/NAME\" per Postfix "
			      "instance (syslog_name).",
			      MM_METRIC_COUNTER, {"postfix_instance", "transport"}, .max_series = 512,
			      .fold_label = 2},
	[F_DEST_DELIVERED] = {"mailmon_log_destination_delivered_total",
			      "Recipients delivered (status=sent) per recipient domain, for the 64 "
			      "domains delivered to most recently, since mailmond started; a domain "
			      "that left that table counts from 0 again when it comes back.",
			      MM_METRIC_COUNTER, {"destination"}, .max_series = 65},
	[F_DEST_LAST_NO] = {"mailmon_log_destination_last_delivery_number",
			    "The number of the last delivery to the recipient domain, counted "
			    "as in mailmon_log_destination_deliveries_total (same 64 domains).",
			    MM_METRIC_GAUGE, {"destination"}, .max_series = 65},
	[F_TALLY_NO] = {"mailmon_log_destination_deliveries_total",
			"Deliveries (status=sent) counted per recipient domain so far: the "
			"number of the latest one.",
			MM_METRIC_COUNTER},
	[F_TALLY_EVICTED_NO] = {"mailmon_log_destination_evicted_last_delivery_number",
				"The largest last-delivery number of a domain that left the "
				"64-domain table (0: none left): a domain not in the table "
				"delivered last at or before it.",
				MM_METRIC_GAUGE},
};

/* Counter fields of the counters file, published per channel. */
static const struct {
	int family;
	enum mm_cg_field field;
	double scale;
} cg_map[] = {
	{F_RECEIVED, MM_CG_RECEIVED, 1},
	{F_DELIVERED, MM_CG_DELIVERED, 1},
	{F_DEFERRED, MM_CG_ATTEMPTED, 1},
	{F_BOUNCED, MM_CG_FAILED, 1},
	{F_REJECTED, MM_CG_REJECTED, 1},
	{F_DELIVERED_FIRST, MM_CG_DELIVERED_FIRST, 1},
	{F_SUBMITTED, MM_CG_SUBMITTED, 1},
	{F_RCPT_DELIVERED, MM_CG_RCPT_DELIVERED, 1},
	{F_RCPT_FAILED, MM_CG_RCPT_FAILED, 1},
	{F_BYTES_RECEIVED, MM_CG_VOLUME_RECEIVED, 1},
	{F_BYTES_DELIVERED, MM_CG_VOLUME_DELIVERED, 1},
	{F_QTIME, MM_CG_QTIME_SUM_MS, 1e-3},
	{F_QTIME_COUNT, MM_CG_QTIME_COUNT, 1},
	{F_IN_ASSOC, MM_CG_IN_ASSOC, 1},
	{F_IN_ASSOC_TOTAL, MM_CG_IN_ASSOC_TOTAL, 1},
	{F_IN_ASSOC_REJ, MM_CG_IN_ASSOC_REJECTED, 1},
	{F_OUT_ASSOC, MM_CG_OUT_ASSOC, 1},
	{F_OUT_ASSOC_TOTAL, MM_CG_OUT_ASSOC_TOTAL, 1},
	{F_OUT_ASSOC_FAIL, MM_CG_OUT_ASSOC_FAILED, 1},
	{F_LAST_IN, MM_CG_LAST_IN_MS, 1e-3},
	{F_LAST_OUT, MM_CG_LAST_OUT_MS, 1e-3},
	{F_STORED, MM_CG_QSTORED_MSGS, 1},
	{F_STORED_RCPTS, MM_CG_QSTORED_RCPTS, 1},
	{F_STORED_BYTES, MM_CG_QSTORED_VOLUME, 1},
	{F_STORED_OLDEST, MM_CG_QOLDEST_S, 1},
	{F_LOGIN_CONNS, MM_CG_LOGIN_CONNS, 1},
};

/* The per-instance tables of progstat.h. */
static void collect_instances(struct mm_logwatch *lw, const struct mm_progstat *ps)
{
	for (size_t k = 0; k < ps->ninst; k++) {
		const struct mm_progstat_inst *in = &ps->inst[k];
		for (size_t i = 0; i < in->programs.n; i++)
			mm_metric_set(lw->f[F_INST_LINES],
				      (const char *[]){in->name, in->programs.v[i].name},
				      (double)in->programs.v[i].n);
		for (size_t i = 0; i < in->transports.n; i++)
			mm_metric_set(lw->f[F_INST_TRANSPORT],
				      (const char *[]){in->name, in->transports.v[i].name},
				      (double)in->transports.v[i].n);
		const struct {
			const char *outcome;
			uint64_t n;
		} o[] = {{"submitted", in->submitted},
			 {"delivered", in->delivered},
			 {"deferred", in->deferred},
			 {"bounced", in->bounced},
			 {"unavailable", in->unavailable_deferred}};
		for (size_t i = 0; i < sizeof o / sizeof o[0]; i++)
			mm_metric_set(lw->f[F_INST_MESSAGES], (const char *[]){in->name, o[i].outcome},
				      (double)o[i].n);
	}
}

static void collect(void *arg, struct mm_registry *r)
{
	struct mm_logwatch *lw = arg;
	for (size_t i = 0; i < lw->n; i++) {
		const struct lw_source *s = &lw->src[i];
		const char *sl[] = {s->name};
		mm_metric_set(lw->f[F_LINES], sl, (double)(s->lines_base + s->lines_run));
		mm_metric_set(lw->f[F_UNPARSED], sl, (double)s->unparsed_run);
		mm_metric_set(lw->f[F_SOURCE_ERRORS], sl, (double)s->errors);
	}
	if (!lw->lp)
		return;
	struct mm_logpipe_stats st;
	mm_logpipe_get_stats(lw->lp, &st);
	mm_metric_set(lw->f[F_INFLIGHT], NULL, (double)st.lc.inflight);
	mm_metric_set(lw->f[F_FILTER_HOPS], NULL, (double)st.filter_hops);
	mm_metric_set(lw->f[F_EVICTED], (const char *[]){"full"}, (double)st.lc.evicted_full);
	mm_metric_set(lw->f[F_EVICTED], (const char *[]){"idle"}, (double)st.lc.evicted_age);
	const struct mm_progstat *ps = mm_logpipe_progstat(lw->lp);
	for (size_t i = 0; i < ps->programs.n; i++)
		mm_metric_set(lw->f[F_PROGRAM_LINES], (const char *[]){ps->programs.v[i].name},
			      (double)ps->programs.v[i].n);
	for (size_t i = 0; i < ps->transports.n; i++)
		mm_metric_set(lw->f[F_TRANSPORT_UNAVAIL],
			      (const char *[]){ps->transports.v[i].name},
			      (double)ps->transports.v[i].n);
	mm_metric_set(lw->f[F_UNAVAIL_DEFERRED], NULL, (double)ps->unavailable_deferred);
	collect_instances(lw, ps);
	for (size_t i = 0; i < ps->ndests; i++) {
		const char *dl[] = {ps->dests[i].name};
		mm_metric_set(lw->f[F_DEST_DELIVERED], dl, (double)ps->dests[i].delivered);
		mm_metric_set(lw->f[F_DEST_LAST_NO], dl, (double)ps->dests[i].last);
	}
	mm_metric_set(lw->f[F_TALLY_NO], NULL, (double)ps->dest_tick);
	mm_metric_set(lw->f[F_TALLY_EVICTED_NO], NULL, (double)ps->dest_evicted_last);
	struct mm_cfile *cf = mm_logpipe_cfile(lw->lp);
	uint32_t n = cf ? mm_cfile_ngroups(cf) : 0;
	for (uint32_t g = 0; g < n; g++) {
		struct mm_cg_snapshot snap;
		if (mm_cg_read(cf, g, &snap) < 0)
			continue;
		const char *cl[] = {snap.name};
		for (size_t k = 0; k < sizeof cg_map / sizeof cg_map[0]; k++)
			mm_metric_set(lw->f[cg_map[k].family], cl,
				      (double)snap.v[cg_map[k].field] * cg_map[k].scale);
		if (snap.v[MM_CG_LOGINS_GOOD] || snap.v[MM_CG_LOGINS_FAILED] ||
		    snap.v[MM_CG_LOGIN_CONNS]) {
			mm_metric_set(lw->f[F_LOGINS], (const char *[]){snap.name, "good"},
				      (double)snap.v[MM_CG_LOGINS_GOOD]);
			mm_metric_set(lw->f[F_LOGINS], (const char *[]){snap.name, "failed"},
				      (double)snap.v[MM_CG_LOGINS_FAILED]);
		}
	}
}

_Static_assert(F_N <= sizeof((struct mm_logwatch *)0)->f / sizeof(struct mm_metric *),
	       "struct mm_logwatch f[] holds every family");

int mm_logwatch_metrics_add(struct mm_logwatch *lw, struct mm_err *err)
{
	if (mm_registry_add_all(lw->d->metrics, defs, F_N, lw->f, err) < 0)
		return -1;
	mm_registry_add_collector(lw->d->metrics, collect, lw);
	return 0;
}

/*
 * logstat_json: the report as one JSON document (`mailmon logstat
 * --json`): totals under pflogsumm's names, which figures are exact, per
 * day and hour, destinations with their delay percentiles and reasons,
 * the top tables and how each was counted, Dovecot logins, the channel
 * counters and the limits that were reached.
 *
 * Reads struct mm_logstat (logstat_impl.h); the document returned belongs
 * to the caller (json_decref). Keys from the log that are not UTF-8 have
 * their high bytes replaced by '?'.
 */
#include <stdio.h>
#include <string.h>

#include "logs/logpipe.h"
#include "logs/logstat_impl.h"

/* A JSON string of a key from the log: invalid UTF-8 bytes become '?'. */
static json_t *key_json(const char *p, size_t len)
{
	json_t *j = json_stringn(p, len);
	if (j)
		return j;
	char buf[MM_TALLY_KEY];
	size_t n = len < sizeof buf ? len : sizeof buf - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)p[i] >= 0x80 ? '?' : p[i];
	return json_stringn(buf, n);
}

static json_t *top_json(const struct mm_tally *t, size_t k)
{
	struct mm_tally_row rows[k ? k : 1];
	size_t n = mm_tally_top(t, rows, k);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "key", key_json(rows[i].key, rows[i].len));
		json_object_set_new(o, "count", json_integer((json_int_t)rows[i].count));
		json_object_set_new(o, "max_overcount", json_integer((json_int_t)rows[i].err));
		json_array_append_new(a, o);
	}
	return a;
}

/* How a top table was counted, for the JSON's "top_tables". */
static json_t *top_info_json(const struct mm_tally *t)
{
	return json_pack("{s:b, s:I, s:I, s:I}", "exact", mm_tally_exact(t), "keys",
			 (json_int_t)mm_tally_size(t), "total", (json_int_t)t->total,
			 "unlisted_max", (json_int_t)mm_tally_min_bound(t));
}

static json_t *row_json(const uint64_t *c)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "received", (json_int_t)c[R_RCV],
			 "delivered", (json_int_t)c[R_DLV], "deferrals", (json_int_t)c[R_DFR],
			 "bounced", (json_int_t)c[R_BNC], "rejected", (json_int_t)c[R_REJ]);
}

static json_t *channels_json(struct mm_logstat *ls)
{
	struct mm_cfile *cf = mm_logpipe_cfile(ls->pipe);
	json_t *a = json_array();
	uint32_t n = mm_cfile_ngroups(cf);
	for (uint32_t i = 0; i < n; i++) {
		struct mm_cg_snapshot s;
		if (mm_cg_read(cf, i, &s) < 0)
			continue;
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(s.name));
		for (int f = 0; f < MM_CG__COUNT; f++)
			json_object_set_new(o, mm_cg_field_names[f], json_integer(s.v[f]));
		json_object_set_new(o, "last_reject", json_string(s.last_reject));
		json_object_set_new(o, "last_connect_failure", json_string(s.last_connfail));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *mm_logstat_json(struct mm_logstat *ls)
{
	struct mm_logstat_totals t;
	mm_logstat_get_totals(ls, &t);
	json_t *totals = json_object();
#define T(k) json_object_set_new(totals, #k, json_integer((json_int_t)t.k))
	T(received); T(delivered); T(forwarded); T(deferred); T(deferrals); T(bounced);
	T(rejected); T(reject_warnings); T(held); T(discarded); T(expired);
	T(bytes_received); T(bytes_delivered); T(senders); T(sending_hosts); T(recipients);
	T(recipient_hosts); T(auth_failures); T(filter_hops); T(lines); T(unparsed_lines);
#undef T
	json_t *exact = json_pack("{s:b, s:b, s:b, s:b, s:b}", "senders",
				  mm_distinct_exact(&ls->senders), "sending_hosts",
				  mm_distinct_exact(&ls->sending_hosts), "recipients",
				  mm_distinct_exact(&ls->recipients), "recipient_hosts",
				  mm_distinct_exact(&ls->recipient_hosts), "deferred",
				  mm_distinct_exact(&ls->deferred_qids));
	json_object_set_new(exact, "rejects_by_reason",
			    json_boolean(mm_tally_exact(&ls->reject_reasons)));
	json_object_set_new(exact, "rejects_by_client",
			    json_boolean(mm_tally_exact(&ls->reject_clients)));
	json_object_set_new(exact, "warnings", json_boolean(mm_tally_exact(&ls->warnings)));
	json_t *days = json_array();
	for (size_t i = 0; i < ls->ndays; i++) {
		char d[16];
		snprintf(d, sizeof d, "%04d-%02d-%02d", ls->days[i].ymd / 10000,
			 ls->days[i].ymd / 100 % 100, ls->days[i].ymd % 100);
		json_t *o = row_json(ls->days[i].c);
		json_object_set_new(o, "date", json_string(d));
		json_array_append_new(days, o);
	}
	json_t *hours = json_array();
	for (int h = 0; h < 24; h++) {
		json_t *o = row_json(ls->hours[h]);
		json_object_set_new(o, "hour", json_integer(h));
		json_array_append_new(hours, o);
	}
	mm_logstat_sort_dests(ls);
	json_t *dests = json_array();
	bool dest_reasons_exact = true;
	for (size_t i = 0; i < ls->ndests; i++) {
		struct dest *d = &ls->dests[i];
		json_t *o = json_pack(
			"{s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f}", "domain", d->name,
			"delivered", (json_int_t)d->delivered, "bytes", (json_int_t)d->bytes,
			"deferrals", (json_int_t)d->deferrals, "bounced", (json_int_t)d->bounced,
			"delay_avg", d->delivered ? d->delay_sum / (double)d->delivered : 0.0,
			"delay_max", d->delay_max, "delay_p50",
			(double)mm_histo_quantile(&d->histo, 0.50) / 1000.0, "delay_p90",
			(double)mm_histo_quantile(&d->histo, 0.90) / 1000.0, "delay_p99",
			(double)mm_histo_quantile(&d->histo, 0.99) / 1000.0);
		json_object_set_new(o, "top_deferral_reasons",
				    top_json(&d->defer_reasons, TOP_PER_DEST));
		json_object_set_new(o, "top_bounce_reasons",
				    top_json(&d->bounce_reasons, TOP_PER_DEST));
		json_object_set_new(o, "reasons_exact",
				    json_boolean(mm_tally_exact(&d->defer_reasons) &&
						 mm_tally_exact(&d->bounce_reasons)));
		if (!mm_tally_exact(&d->defer_reasons) || !mm_tally_exact(&d->bounce_reasons))
			dest_reasons_exact = false;
		json_array_append_new(dests, o);
	}
	json_object_set_new(exact, "destination_reasons", json_boolean(dest_reasons_exact));
	struct mm_logpipe_stats ps;
	mm_logpipe_get_stats(ls->pipe, &ps);
	uint64_t cut = ls->domains_cut + ps.lc.truncated + ls->reject_reasons.truncated +
		       ls->reject_clients.truncated + ls->warnings.truncated +
		       ls->unparsed_programs.truncated + ls->auth_clients.truncated;
	for (size_t i = 0; i < ls->ndests; i++)
		cut += ls->dests[i].defer_reasons.truncated + ls->dests[i].bounce_reasons.truncated;
	json_t *limits = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "texts_truncated",
				   (json_int_t)cut, "inflight_peak",
				   (json_int_t)ps.lc.peak_inflight, "inflight_evicted",
				   (json_int_t)(ps.lc.evicted_full + ps.lc.evicted_age),
				   "inflight_left", (json_int_t)ps.lc.inflight,
				   "destinations_overflow", (json_int_t)ls->dests_overflow,
				   "capped_lines", (json_int_t)ls->capped_lines, "queue_id_too_long",
				   (json_int_t)ps.lc.qid_too_long);
	json_t *doc = json_object();
	json_object_set_new(doc, "totals", totals);
	json_object_set_new(doc, "exact", exact);
	json_object_set_new(doc, "first_ms", json_integer(ls->first_ms));
	json_object_set_new(doc, "last_ms", json_integer(ls->last_ms));
	json_object_set_new(doc, "per_day", days);
	json_object_set_new(doc, "per_hour", hours);
	json_object_set_new(doc, "destinations", dests);
	json_object_set_new(doc, "rejects_by_reason", top_json(&ls->reject_reasons, ls->o.top));
	json_object_set_new(doc, "rejects_by_client", top_json(&ls->reject_clients, ls->o.top));
	json_object_set_new(doc, "warnings", top_json(&ls->warnings, ls->o.top));
	json_object_set_new(doc, "auth_failures_by_client", top_json(&ls->auth_clients, ls->o.top));
	json_object_set_new(doc, "postscreen_verdicts", top_json(&ls->postscreen, 32));
	json_object_set_new(doc, "unparsed_by_program",
			    top_json(&ls->unparsed_programs, ls->o.top));
	json_t *tops = json_object();
	json_object_set_new(tops, "rejects_by_reason", top_info_json(&ls->reject_reasons));
	json_object_set_new(tops, "rejects_by_client", top_info_json(&ls->reject_clients));
	json_object_set_new(tops, "warnings", top_info_json(&ls->warnings));
	json_object_set_new(tops, "auth_failures_by_client", top_info_json(&ls->auth_clients));
	json_object_set_new(tops, "unparsed_by_program", top_info_json(&ls->unparsed_programs));
	json_object_set_new(tops, "memory_cap", json_integer((json_int_t)ls->budget.cap));
	json_object_set_new(tops, "memory_used", json_integer((json_int_t)ls->budget.used));
	json_object_set_new(doc, "top_tables", tops);
	json_t *lg = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "logins",
			       (json_int_t)ls->dv.logins, "failed_attempts",
			       (json_int_t)ls->dv.failed_attempts, "failed_connections",
			       (json_int_t)ls->dv.failed_connections, "aborted",
			       (json_int_t)ls->dv.aborted, "lmtp_saved",
			       (json_int_t)ls->dv.lmtp_saved, "lmtp_failed",
			       (json_int_t)ls->dv.lmtp_failed);
	json_object_set_new(lg, "by_protocol", top_json(&ls->dv.by_protocol, 16));
	json_object_set_new(lg, "failed_by_user", top_json(&ls->dv.failed_users, ls->o.top));
	json_object_set_new(lg, "failed_by_ip", top_json(&ls->dv.failed_ips, ls->o.top));
	json_object_set_new(doc, "logins", lg);
	json_object_set_new(doc, "channels", channels_json(ls));
	json_object_set_new(doc, "limits", limits);
	return doc;
}


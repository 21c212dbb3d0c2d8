/*
 * logstat_text: the report as text, laid out like pflogsumm's (Grand
 * Totals, per-day and per-hour summaries, delivery by destination, the
 * top tables), then the Dovecot logins and the channel counters. A
 * Dovecot-only log gets its logins without an all-zero mail report.
 *
 * Reads struct mm_logstat (logstat_impl.h) and writes to the caller's
 * FILE; owns nothing.
 */
#include <stdio.h>

#include "logs/logpipe.h"
#include "logs/logstat_impl.h"

/* A top table; in approximate mode each count is "~upper bound (±err)"
 * and the title says what that means. */
static void print_top(FILE *out, const char *title, const struct mm_tally *t, size_t k)
{
	bool exact = mm_tally_exact(t);
	char line[256];
	int n = snprintf(line, sizeof line, "%s%s", title,
			 exact ? "" : " (approximate: ~N is an upper bound, at most err above the true count)");
	fprintf(out, "\n%s\n%.*s\n", line, n < 0 ? 0 : n,
		"----------------------------------------------------------------------------"
		"----------------------------------------------------------------------------");
	struct mm_tally_row rows[k ? k : 1];
	size_t got = mm_tally_top(t, rows, k);
	if (!got)
		fprintf(out, "  none\n");
	for (size_t i = 0; i < got; i++) {
		if (exact)
			fprintf(out, "  %8llu  %.*s\n", (unsigned long long)rows[i].count,
				(int)rows[i].len, rows[i].key);
		else
			fprintf(out, " ~%8llu  err<=%-8llu  %.*s\n", (unsigned long long)rows[i].count,
				(unsigned long long)rows[i].err, (int)rows[i].len, rows[i].key);
	}
	if (!exact && mm_tally_min_bound(t))
		fprintf(out, "  (any key not listed: at most %llu)\n",
			(unsigned long long)mm_tally_min_bound(t));
}

/* Dovecot's logins, when the log has any. */
static void print_logins(struct mm_logstat *ls, FILE *out)
{
	fprintf(out, "Logins (Dovecot login processes)\n--------------------------------\n");
	fprintf(out, " %8llu   successful logins\n", (unsigned long long)ls->dv.logins);
	fprintf(out, " %8llu   failed login attempts, in %llu connections\n",
		(unsigned long long)ls->dv.failed_attempts,
		(unsigned long long)ls->dv.failed_connections);
	fprintf(out, " %8llu   connections closed without a login\n",
		(unsigned long long)ls->dv.aborted);
	fprintf(out, " %8llu   LMTP/LDA deliveries saved, %llu failed\n",
		(unsigned long long)ls->dv.lmtp_saved, (unsigned long long)ls->dv.lmtp_failed);
	print_top(out, "Logins by protocol", &ls->dv.by_protocol, 16);
	print_top(out, "Failed logins by user", &ls->dv.failed_users, ls->o.top);
	print_top(out, "Failed logins by client address", &ls->dv.failed_ips, ls->o.top);
	fprintf(out, "\n");
}

void mm_logstat_text(struct mm_logstat *ls, FILE *out)
{
	struct mm_logstat_totals t;
	mm_logstat_get_totals(ls, &t);
	bool logins = ls->dv.logins || ls->dv.failed_connections || ls->dv.aborted ||
		      ls->dv.lmtp_saved;
	bool mail = t.received || t.delivered || t.deferrals || t.bounced || t.rejected ||
		    t.expired || t.held || t.auth_failures;
	if (logins)
		print_logins(ls, out);
	if (logins && !mail) {
		/* a Dovecot-only log: no all-zero mail report */
		fprintf(out, " %8llu   lines, %llu not understood\n", (unsigned long long)t.lines,
			(unsigned long long)t.unparsed_lines);
		if (ls->unparsed_programs.total)
			print_top(out, "Lines not understood, by program", &ls->unparsed_programs,
				  ls->o.top);
		return;
	}
	const char *about_s = mm_distinct_exact(&ls->senders) ? "" : " (estimate)";
	const char *about_r = mm_distinct_exact(&ls->recipients) ? "" : " (estimate)";
	fprintf(out, "Grand Totals\n------------\nmessages\n\n");
	fprintf(out, " %8llu   received\n", (unsigned long long)t.received);
	fprintf(out, " %8llu   delivered\n", (unsigned long long)t.delivered);
	fprintf(out, " %8llu   forwarded\n", (unsigned long long)t.forwarded);
	if (t.filter_hops)
		fprintf(out, " %8llu   content filter hops (counted once above)\n",
			(unsigned long long)t.filter_hops);
	fprintf(out, " %8llu   deferred  (%llu deferrals)\n", (unsigned long long)t.deferred,
		(unsigned long long)t.deferrals);
	fprintf(out, " %8llu   bounced\n", (unsigned long long)t.bounced);
	fprintf(out, " %8llu   rejected\n", (unsigned long long)t.rejected);
	fprintf(out, " %8llu   reject warnings\n", (unsigned long long)t.reject_warnings);
	fprintf(out, " %8llu   held\n", (unsigned long long)t.held);
	fprintf(out, " %8llu   discarded\n", (unsigned long long)t.discarded);
	fprintf(out, " %8llu   expired\n\n", (unsigned long long)t.expired);
	fprintf(out, " %8llu   bytes received\n", (unsigned long long)t.bytes_received);
	fprintf(out, " %8llu   bytes delivered\n", (unsigned long long)t.bytes_delivered);
	fprintf(out, " %8llu   senders%s\n", (unsigned long long)t.senders, about_s);
	fprintf(out, " %8llu   sending hosts/domains\n", (unsigned long long)t.sending_hosts);
	fprintf(out, " %8llu   recipients%s\n", (unsigned long long)t.recipients, about_r);
	fprintf(out, " %8llu   recipient hosts/domains\n\n",
		(unsigned long long)t.recipient_hosts);
	fprintf(out, " %8llu   SMTP AUTH failures\n\n", (unsigned long long)t.auth_failures);
	fprintf(out, " %8llu   lines, %llu not understood\n", (unsigned long long)t.lines,
		(unsigned long long)t.unparsed_lines);

	fprintf(out, "\nPer-Day Traffic Summary\n-----------------------\n");
	fprintf(out, "  %-10s %9s %9s %9s %9s %9s\n", "date", "received", "delivered",
		"deferred", "bounced", "rejected");
	for (size_t i = 0; i < ls->ndays; i++)
		fprintf(out, "  %04d-%02d-%02d %9llu %9llu %9llu %9llu %9llu\n",
			ls->days[i].ymd / 10000, ls->days[i].ymd / 100 % 100, ls->days[i].ymd % 100,
			(unsigned long long)ls->days[i].c[R_RCV],
			(unsigned long long)ls->days[i].c[R_DLV],
			(unsigned long long)ls->days[i].c[R_DFR],
			(unsigned long long)ls->days[i].c[R_BNC],
			(unsigned long long)ls->days[i].c[R_REJ]);
	fprintf(out, "\nPer-Hour Traffic Summary\n------------------------\n");
	fprintf(out, "  %-11s %9s %9s %9s %9s %9s\n", "time", "received", "delivered",
		"deferred", "bounced", "rejected");
	for (int h = 0; h < 24; h++)
		fprintf(out, "  %02d00-%02d00   %9llu %9llu %9llu %9llu %9llu\n", h, (h + 1) % 24,
			(unsigned long long)ls->hours[h][R_RCV],
			(unsigned long long)ls->hours[h][R_DLV],
			(unsigned long long)ls->hours[h][R_DFR],
			(unsigned long long)ls->hours[h][R_BNC],
			(unsigned long long)ls->hours[h][R_REJ]);

	mm_logstat_sort_dests(ls);
	fprintf(out, "\nDelivery by destination\n-----------------------\n");
	fprintf(out, "  %-28s %8s %10s %6s %6s %8s %8s %8s %8s %8s\n", "domain", "sent",
		"bytes", "defers", "bounce", "avg(s)", "max(s)", "p50", "p90", "p99");
	for (size_t i = 0; i < ls->ndests; i++) {
		struct dest *d = &ls->dests[i];
		fprintf(out, "  %-28.28s %8llu %10llu %6llu %6llu %8.2f %8.1f %8.2f %8.2f %8.2f\n",
			d->name, (unsigned long long)d->delivered, (unsigned long long)d->bytes,
			(unsigned long long)d->deferrals, (unsigned long long)d->bounced,
			d->delivered ? d->delay_sum / (double)d->delivered : 0.0, d->delay_max,
			(double)mm_histo_quantile(&d->histo, 0.5) / 1000.0,
			(double)mm_histo_quantile(&d->histo, 0.9) / 1000.0,
			(double)mm_histo_quantile(&d->histo, 0.99) / 1000.0);
	}
	for (size_t i = 0; i < ls->ndests; i++) {
		struct dest *d = &ls->dests[i];
		if (d->defer_reasons.total) {
			char title[128];
			snprintf(title, sizeof title, "Deferral reasons: %s", d->name);
			print_top(out, title, &d->defer_reasons, TOP_PER_DEST);
		}
		if (d->bounce_reasons.total) {
			char title[128];
			snprintf(title, sizeof title, "Bounce reasons: %s", d->name);
			print_top(out, title, &d->bounce_reasons, TOP_PER_DEST);
		}
	}
	print_top(out, "Rejects by reason", &ls->reject_reasons, ls->o.top);
	print_top(out, "Rejects by client", &ls->reject_clients, ls->o.top);
	print_top(out, "Warnings", &ls->warnings, ls->o.top);
	if (ls->auth_clients.total)
		print_top(out, "SMTP AUTH failures by client", &ls->auth_clients, ls->o.top);
	if (ls->postscreen.total)
		print_top(out, "postscreen verdicts", &ls->postscreen, 32);
	if (ls->unparsed_programs.total)
		print_top(out, "Lines not understood, by program", &ls->unparsed_programs,
			  ls->o.top);

	struct mm_cfile *cf = mm_logpipe_cfile(ls->pipe);
	fprintf(out, "\nChannel counters\n----------------\n");
	fprintf(out, "  %-20s %9s %9s %9s %9s %9s %9s %9s %9s\n", "channel", "received", "stored",
		"delivered", "first", "submitted", "attempted", "rejected", "failed");
	for (uint32_t i = 0; i < mm_cfile_ngroups(cf); i++) {
		struct mm_cg_snapshot s;
		if (mm_cg_read(cf, i, &s) < 0)
			continue;
		fprintf(out, "  %-20.20s %9lld %9lld %9lld %9lld %9lld %9lld %9lld %9lld\n", s.name,
			(long long)s.v[MM_CG_RECEIVED], (long long)s.v[MM_CG_STORED],
			(long long)s.v[MM_CG_DELIVERED], (long long)s.v[MM_CG_DELIVERED_FIRST],
			(long long)s.v[MM_CG_SUBMITTED], (long long)s.v[MM_CG_ATTEMPTED],
			(long long)s.v[MM_CG_REJECTED], (long long)s.v[MM_CG_FAILED]);
	}
}


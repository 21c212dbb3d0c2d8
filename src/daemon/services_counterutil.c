/*
 * services_counterutil: GET /api/counterutil, the seed's counterutil
 * objects (imapstat, popstat, httpstat, smtpstat, serverresponse,
 * diskusage, e2e). Values come from the probes, the process checks and
 * the log parsers; a field no source fills yet is null and named in
 * "unwired", never 0. Log and e2e figures are read from the metric
 * registry, where their modules publish them (no reader reaches into
 * another module's state).
 *
 * Reads struct mm_services (services_impl.h) on the loop's thread and
 * owns nothing beyond the document it builds, which the reply takes.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/services_impl.h"
#include "metrics/registry.h"

/* A log figure of the protocol's channel, from the registry (the logs
 * module publishes the channel counters there); JSON null when the logs
 * do not give it. */
static json_t *log_figure(struct mm_services *ss, enum mm_probe_proto proto, const char *family,
			  const char *result)
{
	const char *chan = proto == MM_PROTO_IMAP   ? "imap"
			   : proto == MM_PROTO_POP3 ? "pop3"
			   : proto == MM_PROTO_SMTP ? "smtpd"
						    : NULL;
	double v;
	if (!chan || !mm_registry_value(ss->d->metrics, family,
					result ? (const char *[]){chan, result}
					       : (const char *[]){chan},
					&v))
		return json_null();
	return json_integer((json_int_t)v);
}

static json_t *stat_object(struct mm_services *ss, enum mm_probe_proto proto, bool http)
{
	int64_t start_s = 0, last_ok = 0;
	uint64_t failed = 0, cur = 0, max = 0;
	int nsvc = 0;
	/* Connections: every distinct port probed with this protocol. */
	for (size_t i = 0; ss->conns_ok && i < ss->conns->nports; i++) {
		bool mine = false;
		for (size_t k = 0; k < ss->n && !mine; k++)
			mine = !ss->v[k]->removed && ss->v[k]->sc.has_probe &&
			       ss->v[k]->sc.probe.proto == proto &&
			       ss->v[k]->sc.probe.port == ss->conns->ports[i].port;
		if (mine) {
			cur += ss->conns->ports[i].established;
			max += ss->max_established[i];
		}
	}
	for (size_t i = 0; i < ss->n; i++) {
		struct svc *s = ss->v[i];
		if (s->removed || !s->sc.has_probe || s->sc.probe.proto != proto)
			continue;
		nsvc++;
		failed += s->fail_by_class[MM_PF_REFUSED] + s->fail_by_class[MM_PF_TIMEOUT] +
			  s->fail_by_class[MM_PF_TLS];
		if (s->last_ok_wall_ms > last_ok)
			last_ok = s->last_ok_wall_ms;
		if (s->have_ps && s->ps.main_pid > 0) {
			struct mm_proc_stat st;
			if (mm_proc_read_stat("/proc", s->ps.main_pid, &st)) {
				FILE *f = fopen("/proc/stat", "r");
				char line[256];
				long long btime = 0;
				while (f && fgets(line, sizeof line, f))
					if (sscanf(line, "btime %lld", &btime) == 1)
						break;
				if (f)
					fclose(f);
				long tck = sysconf(_SC_CLK_TCK);
				int64_t t = btime + (int64_t)(st.starttime / (uint64_t)(tck > 0 ? tck : 100));
				if (!start_s || t < start_s)
					start_s = t;
			}
		}
	}
	json_t *o = json_object();
	json_object_set_new(o, "services", json_integer(nsvc));
	json_object_set_new(o, "global.currentStartTime", start_s ? json_integer(start_s) : json_null());
	json_object_set_new(o, "global.lastConnectionTime",
			    last_ok ? json_integer(last_ok / 1000) : json_null());
	json_object_set_new(o, "global.maxConnections",
			    nsvc && ss->conns_ok ? json_integer((json_int_t)max) : json_null());
	/* Connection and login totals come from the mail logs, through the
	 * channel counters in the registry: the login process's lines for
	 * IMAP and POP3, smtpd's connects for SMTP. Absent without logs:
	 * null, not 0. */
	bool smtp = proto == MM_PROTO_SMTP;
	json_t *nconn = log_figure(ss, proto,
				   smtp ? "mailmon_inbound_associations_total"
					: "mailmon_login_connections_total",
				   NULL);
	bool logs = !json_is_null(nconn);
	json_object_set_new(o, "global.numConnections", nconn);
	json_object_set_new(o, "global.numCurrentConnections",
			    nsvc && ss->conns_ok ? json_integer((json_int_t)cur) : json_null());
	json_object_set_new(o, "global.numFailedConnections", json_integer((json_int_t)failed));
	json_object_set_new(o, "global.numFailedLogins",
			    smtp ? json_null() : log_figure(ss, proto, "mailmon_logins_total", "failed"));
	json_object_set_new(o, "global.numGoodLogins",
			    smtp ? json_null() : log_figure(ss, proto, "mailmon_logins_total", "good"));
	json_object_set_new(
		o, "sources",
		json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "global.currentStartTime",
			  "start of the oldest watched server process (/proc)",
			  "global.lastConnectionTime", "last successful mailmon probe",
			  "global.numFailedConnections",
			  "mailmon probes refused, timed out or failing TLS",
			  "global.numCurrentConnections",
			  "ESTABLISHED sockets on the probed ports (kernel connection table)",
			  "global.maxConnections", "highest numCurrentConnections seen since mailmond started",
			  "global.numConnections",
			  proto == MM_PROTO_SMTP
				  ? "smtpd connections in the mail log (channel counters)"
				  : "login process connections in the Dovecot log (channel counters)",
			  "global.numGoodLogins / numFailedLogins",
			  proto == MM_PROTO_SMTP ? "not logged for SMTP AUTH yet: null"
						 : "Dovecot Login: lines / failed attempts",
			  "unwired", logs ? "-" : "no log counters for this protocol yet: null"));
	(void)http;
	return o;
}

/* counterutil's "e2e" object: per [e2e.NAME] probe, read from the metric
 * registry where the e2e module publishes (no reader reaches into
 * another module's state). Times in seconds, from the last run. */
static void e2e_field(json_t *o, const struct mm_metric *m, const char *stage, const char *field)
{
	for (size_t i = 0; m && i < mm_metric_nseries(m); i++) {
		const struct mm_series *se = mm_metric_series(m, i);
		if (stage && strcmp(se->lv[1], stage) != 0)
			continue;
		json_t *p = json_object_get(o, se->lv[0]);
		if (!p) {
			p = json_object();
			json_object_set_new(o, se->lv[0], p);
		}
		json_t *old = json_object_get(p, field);
		double v = se->value + (old && !stage ? json_number_value(old) : 0);
		bool count = strncmp(field, "num", 3) == 0 || strcmp(field, "lastSuccessTime") == 0;
		json_object_set_new(p, field, count ? json_integer((json_int_t)v) : json_real(v));
	}
}

static json_t *e2e_object(struct mm_daemon *d)
{
	json_t *o = json_object();
	if (!d->metrics)
		return o;
	mm_registry_collect(d->metrics);
	static const struct {
		const char *family, *stage, *field;
	} rows[] = {
		{"mailmon_e2e_runs_total", NULL, "numRuns"},
		{"mailmon_e2e_failures_total", NULL, "numFailed"},
		{"mailmon_e2e_late_total", NULL, "numLate"},
		{"mailmon_e2e_lost_total", NULL, "numLost"},
		{"mailmon_e2e_last_success_timestamp_seconds", NULL, "lastSuccessTime"},
		{"mailmon_e2e_last_seconds", "ldap", "lastLdapTime"},
		{"mailmon_e2e_last_seconds", "smtp", "lastSmtpTime"},
		{"mailmon_e2e_last_seconds", "delivery", "lastDeliveryTime"},
		{"mailmon_e2e_last_seconds", "retrieve", "lastRetrieveTime"},
		{"mailmon_e2e_last_seconds", "total", "lastTotalTime"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		e2e_field(o, mm_registry_find(d->metrics, rows[i].family), rows[i].stage,
			  rows[i].field);
	return o;
}

void mm_services_api_counterutil(struct evhttp_request *req, void *arg)
{
	struct mm_services *ss = arg;
	mm_daemon_collect(ss->d); /* the log figures come from the registry */
	json_t *sr = json_object();
	for (size_t i = 0; i < ss->n; i++) {
		struct svc *s = ss->v[i];
		if (s->removed || !s->have_last)
			continue;
		json_object_set_new(
			sr, s->sc.name,
			json_pack("{s:f, s:I, s:b}", "responsetime",
				  (double)s->last.total_us / 1e6, "laststattime",
				  (json_int_t)(s->last_wall_ms / 1000), "ok",
				  s->last.fail == MM_PF_NONE));
	}
	json_t *doc = json_pack(
		"{s:o, s:o, s:o, s:o, s:o, s:o}", "imapstat", stat_object(ss, MM_PROTO_IMAP, false),
		"popstat", stat_object(ss, MM_PROTO_POP3, false), "httpstat",
		stat_object(ss, MM_PROTO_HTTP, true), "smtpstat",
		stat_object(ss, MM_PROTO_SMTP, false), "serverresponse", sr, "diskusage",
		json_pack("{s:b, s:s}", "available", 0, "note",
			  "disk usage is filled by a later issue"));
	json_object_set_new(doc, "e2e", e2e_object(ss->d));
	mm_http_reply_json(req, 200, doc);
}

/*
 * services_api: GET /api/services, the services module's state as JSON:
 * per service its watcher state, counters, last probe (stages, failure
 * class), last failure, processes, failures by class and "in_effect"
 * (every [service.NAME] key as the running service holds it, which the
 * reload tests compare with the file); the last EVENT_RING events; the
 * connection table of the probed ports.
 *
 * Reads struct mm_services (services_impl.h) on the loop's thread and
 * owns nothing beyond the document it builds, which the reply takes.
 * Never prints the probe credentials: the user and the file path only.
 */
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/utf8.h"
#include "daemon/daemon.h"
#include "daemon/services_impl.h"

static json_t *conns_json(struct mm_services *ss)
{
	json_t *arr = json_array();
	for (size_t i = 0; ss->conns_ok && i < ss->conns->nports; i++) {
		const struct mm_conn_port *p = &ss->conns->ports[i];
		json_t *states = json_object();
		for (int st = 1; st < MM_TCP_NSTATES; st++)
			if (p->by_state[st])
				json_object_set_new(states, mm_tcp_state_name(st),
						    json_integer(p->by_state[st]));
		struct mm_conn_client top[10];
		size_t n = mm_conntable_top(p, top, 10);
		json_t *tj = json_array();
		for (size_t k = 0; k < n; k++)
			json_array_append_new(tj, json_pack("{s:s, s:i}", "address", top[k].addr,
							    "connections", (int)top[k].count));
		json_array_append_new(
			arr, json_pack("{s:i, s:b, s:i, s:i, s:i, s:i, s:o, s:o, s:I}", "port",
				       (int)p->port, "listening", p->listening, "established",
				       (int)p->established, "max_established",
				       (int)ss->max_established[i], "syn_recv", (int)p->syn_recv,
				       "total", (int)p->total, "by_state", states, "top_clients", tj,
				       "clients_dropped", (json_int_t)p->clients_dropped));
	}
	return json_pack("{s:s, s:o, s:o}", "source",
			 !ss->conns_ok ? "unavailable" : ss->conns->via_netlink ? "sock_diag" : "/proc/net/tcp",
			 "ports", arr, "error", ss->conns_ok ? json_null() : mm_json_text(ss->conns_err));
}

static json_t *result_json(const struct mm_probe_result *r)
{
	json_t *stages = json_object();
	for (size_t i = 0; i < r->nstages; i++)
		json_object_set_new(stages, r->stages[i].name,
				    json_real((double)r->stages[i].us / 1000.0));
	json_t *o = json_pack("{s:b, s:s, s:o, s:o, s:f, s:o, s:I}", "ok", r->fail == MM_PF_NONE,
			      "failure", mm_probe_fail_name(r->fail), "stage", mm_json_text(r->stage),
			      "message", mm_json_text(r->msg), "response_ms", (double)r->total_us / 1000.0, "stages_ms",
			      stages, "bytes_read", (json_int_t)r->bytes_read);
	if (r->have_cert)
		json_object_set_new(o, "cert_days", json_integer(r->cert_days));
	if (r->http_status)
		json_object_set_new(o, "http_status", json_integer(r->http_status));
	return o;
}

static json_t *event_json(const struct mm_svc_event *ev)
{
	return json_pack("{s:o, s:s, s:I, s:s, s:i, s:o}", "service", mm_json_text(ev->service), "type",
			 mm_svc_event_name(ev->type), "at_ms", (json_int_t)ev->wall_ms, "failure",
			 mm_probe_fail_name(ev->fail), "restarts_in_window", ev->restarts_in_window,
			 "reason", mm_json_text(ev->reason));
}

static const char *yn(bool b)
{
	return b ? "yes" : "no";
}

/* Every [service.NAME] key as the running service holds it (not as the
 * config file says): what a reload test compares with the file. Times in
 * ms; the credentials as the file path and the user it gave. */
static json_t *in_effect_json(const struct mm_service_conf *c)
{
	const struct mm_probe_params *p = &c->probe;
	json_t *o = json_object();
#define S(k, v) json_object_set_new(o, k, (v) ? json_string(v) : json_null())
#define I(k, v) json_object_set_new(o, k, json_integer((json_int_t)(v)))
	if (c->has_probe) {
		char url[MM_PROBE_STR + 1200];
		bool v6 = strchr(p->host, ':') != NULL;
		if (p->unix_path[0])
			snprintf(url, sizeof url, "%s://%s", p->scheme, p->unix_path);
		else
			snprintf(url, sizeof url, "%s://%s%s%s:%d%s", p->scheme, v6 ? "[" : "", p->host,
				 v6 ? "]" : "", p->port, p->path);
		json_object_set_new(o, "url", json_string(url));
		S("credentials_user", p->user[0] ? p->user : NULL);
	}
	S("credentials_file", c->credentials_file);
	I("interval", c->interval_ms);
	I("connect_timeout", p->connect_timeout_ms);
	I("timeout", p->timeout_ms);
	I("warning", c->warning_ms);
	S("starttls", yn(p->starttls));
	S("tls_verify", yn(!p->insecure));
	S("ca_file", p->ca_file[0] ? p->ca_file : NULL);
	S("rcpt", p->rcpt[0] ? p->rcpt : NULL);
	S("mail_from", p->mail_from);
	S("helo", p->helo);
	S("match", p->match[0] ? p->match : NULL);
	S("pidfile", c->has_procs && c->procs.pidfile[0] ? c->procs.pidfile : NULL);
	S("process_name", c->has_procs && c->procs.name[0] ? c->procs.name : NULL);
	S("process_cmdline", c->has_procs && c->procs.has_re ? c->procs.re_src : NULL);
	S("parent_pidfile",
	  c->has_procs && c->procs.parent_pidfile[0] ? c->procs.parent_pidfile : NULL);
	I("process_min", c->proc_min);
	I("process_max", c->proc_max);
	S("restart", c->restart);
	S("start", c->start);
	S("stop", c->stop);
	S("shell", yn(c->shell));
	I("command_timeout", c->command_timeout_ms);
	S("restart_group", c->group);
	I("failures", c->watch.failures);
	I("cycles", c->watch.cycles);
	I("flap_limit", c->watch.flap_limit);
	I("flap_window", c->watch.flap_window_ms);
	I("verify_delay", c->verify_delay_ms);
	S("autorestart", yn(c->autorestart));
	I("cert_warning_days", c->cert_warning_days);
#undef S
#undef I
	return o;
}

static json_t *svc_json(struct svc *s, int64_t mono)
{
	const struct mm_service_conf *c = &s->sc;
	json_t *o = json_pack(
		"{s:o, s:s, s:I, s:i, s:i, s:i, s:i, s:I, s:I, s:I}", "name", mm_json_text(c->name), "state",
		mm_watch_state_name(s->w.state), "interval_ms", (json_int_t)c->interval_ms,
		"failed_cycles", mm_watch_failed_cycles(&s->w), "cycles", s->w.conf.cycles,
		"restarts_in_window", mm_watch_restarts_in_window(&s->w, mono), "restarts_total",
		s->w.nrestarts_total, "probes", (json_int_t)s->probes, "probe_failures",
		(json_int_t)s->probe_failures, "skipped_cycles", (json_int_t)s->skipped);
	json_object_set_new(o, "flap_limit", json_integer(s->w.conf.flap_limit));
	json_object_set_new(o, "flap_window_ms", json_integer(s->w.conf.flap_window_ms));
	if (c->group)
		json_object_set_new(o, "restart_group", mm_json_text(c->group));
	if (c->has_probe) {
		/* Never the credentials: scheme, host and port only. */
		bool v6 = strchr(c->probe.host, ':') != NULL;
		char url[MM_PROBE_STR + 64];
		if (c->probe.unix_path[0])
			snprintf(url, sizeof url, "%s://%s", c->probe.scheme, c->probe.unix_path);
		else
			snprintf(url, sizeof url, "%s://%s%s%s:%d", c->probe.scheme, v6 ? "[" : "",
				 c->probe.host, v6 ? "]" : "", c->probe.port);
		json_object_set_new(o, "probe", mm_json_text(url));
		json_object_set_new(o, "protocol", json_string(mm_probe_proto_name(c->probe.proto)));
	}
	if (s->have_last) {
		json_t *l = result_json(&s->last);
		json_object_set_new(l, "at_ms", json_integer(s->last_wall_ms));
		json_object_set_new(o, "last", l);
	}
	if (s->last_failure[0])
		json_object_set_new(o, "last_failure",
				    json_pack("{s:o, s:I}", "message", mm_json_text(s->last_failure), "at_ms",
					      (json_int_t)s->last_failure_wall_ms));
	if (s->have_ps) {
		json_t *p = json_pack("{s:i, s:i, s:i, s:i, s:I, s:I, s:i}", "count", s->ps.count,
				      "min", c->proc_min, "max", c->proc_max, "workers", s->ps.workers,
				      "rss_bytes", (json_int_t)s->ps.rss_bytes, "oldest_age_s",
				      (json_int_t)s->ps.oldest_age_s, "main_pid", (int)s->ps.main_pid);
		json_object_set_new(p, "cpu_pct", s->ps.cpu_pct < 0 ? json_null()
								    : json_real(s->ps.cpu_pct));
		json_object_set_new(o, "processes", p);
	}
	json_t *fails = json_object();
	for (int f = 1; f < MM_PF_COUNT; f++)
		if (s->fail_by_class[f])
			json_object_set_new(fails, mm_probe_fail_name((enum mm_probe_fail)f),
					    json_integer((json_int_t)s->fail_by_class[f]));
	json_object_set_new(o, "failures_by_class", fails);
	json_object_set_new(o, "in_effect", in_effect_json(c));
	return o;
}

void mm_services_api(struct evhttp_request *req, void *arg)
{
	struct mm_services *ss = arg;
	int64_t mono = mm_mono_ms();
	json_t *arr = json_array();
	for (size_t i = 0; i < ss->n; i++)
		if (!ss->v[i]->removed)
			json_array_append_new(arr, svc_json(ss->v[i], mono));
	json_t *events = json_array();
	size_t first = ss->nev > EVENT_RING ? ss->nev - EVENT_RING : 0;
	for (size_t i = first; i < ss->nev; i++)
		json_array_append_new(events, event_json(&ss->ring[i % EVENT_RING]));
	mm_http_reply_json(req, 200, json_pack("{s:o, s:o, s:o}", "services", arr, "events", events,
				  "connections", conns_json(ss)));
	/* A document for 500 services is megabytes of short-lived objects;
	 * hand the freed heap back instead of keeping it as resident memory. */
	malloc_trim(0);
}

/*
 * cluster: the "cluster" module: the node verdict (cluster/verdict.h)
 * recomputed every [cluster] interval from the metric registry, and the
 * HAProxy agent-check responder ([cluster] agent_listen).
 *
 * Reads only the registry: each run collects it, takes a sample
 * (cluster/vsample.h), and evaluates. A change of verdict is logged.
 * Publishes:
 *   mailmon_node_verdict{state}                 state set
 *   mailmon_node_verdict_since_timestamp_seconds
 *   mailmon_flooded_destination_messages{destination,reason}
 *   mailmon_flooded_destination_unanswered{destination}  1: found by no answer
 *   mailmon_agent_weight_percent                what the agent announces
 *   mailmon_instance_verdict{postfix_instance,state}    per [instance.NAME]
 *   mailmon_instance_verdict_since_timestamp_seconds{postfix_instance}
 * /api/v1/status gets "verdict": {state, reasons, since, line, warming_up,
 * cause}
 * (null before the first run or with [cluster] enable = no), and
 * "instance_verdicts": [{instance, state, ...}] of the [instance.*]
 * sections (empty without);
 * /api/v1/cluster the verdict with its figures (inflow, attempts,
 * deferred, unavailable: deferrals without an attempt, backlog), the
 * flooded destinations, the agent's current answer, the isolation
 * state (isolate.c; null when off) and "instances" (the instance verdicts
 * with each one's agent answer).
 *
 * Per Postfix instance: each [instance.NAME] section (NAME: the
 * instance's syslog_name) gets a verdict engine of its own, fed with that
 * instance's series (vsample.h, names.instance) and its own
 * master/qmgr/smtpd services, with the same [cluster] thresholds; a
 * reload adds and removes instances (one still configured keeps its
 * samples); a NAME no scanned queue carries is down, saying so. The node
 * verdict is unchanged by them.
 *
 * The agent: a connection is answered from the last verdict, never from
 * a fresh scan. An agent-send NAME of an [instance.NAME] is answered
 * with that instance's verdict; a NAME of [cluster] agent_instances with
 * the node's; any other with "down #unknown instance NAME". It waits
 * at most AGENT_WAIT_MS for an agent-send line
 * (at most MM_AGENT_LINE_MAX bytes), answers one line, and closes. At
 * most AGENT_MAX_CONNS connections are open; more are answered at once.
 * accept() failing (EMFILE: mailmond's fds are taken) pauses accepting for
 * AGENT_PAUSE_MS instead of spinning, logged once a minute with a count.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/agent.h"
#include "cluster/verdict.h"
#include "cluster/vsample.h"
#include "core/clock.h"
#include "core/parse.h"
#include "core/repeat.h"
#include "core/strutil.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/module.h"
#include "metrics/registry.h"

#define AGENT_WAIT_MS 100
#define AGENT_PAUSE_MS 100
#define AGENT_MAX_CONNS 64
#define RING_INTERVALS 240 /* stall_window may span at most this many runs */
#define MAX_INSTANCES 16    /* [instance.NAME] sections */
#define NAME_MAX_LEN 64

enum { F_VERDICT, F_SINCE, F_FLOOD, F_UNANSWERED, F_WEIGHT, F_INST_VERDICT, F_INST_SINCE, F_N };

static const char *const vstates[] = {"healthy", "degraded", "stalled", "down"};

static const struct mm_metric_def defs[F_N] = {
	[F_VERDICT] = {"mailmon_node_verdict",
		       "The node verdict: 1 for the current state (healthy, degraded, stalled, "
		       "down).",
		       MM_METRIC_STATESET, {"state"}, .states = vstates, .nstates = 4},
	[F_SINCE] = {"mailmon_node_verdict_since_timestamp_seconds",
		     "When the node verdict last changed, seconds since the epoch.",
		     MM_METRIC_GAUGE},
	[F_FLOOD] = {"mailmon_flooded_destination_messages",
		     "Queued messages of a flooded destination (one dominant delay-reason "
		     "class, a large or fast-growing share of the queue).",
		     MM_METRIC_GAUGE, {"destination", "reason"}, .max_series = 16, .fold_label = 1},
	[F_UNANSWERED] = {"mailmon_flooded_destination_unanswered",
			  "1 for a flooded destination found by the no-answer rule ([cluster] "
			  "unanswered_after: mail in the active queue, nothing delivered, no "
			  "delay reason yet); its reason in mailmon_flooded_destination_messages "
			  "is timeout.",
			  MM_METRIC_GAUGE, {"destination"}, .max_series = 16},
	[F_WEIGHT] = {"mailmon_agent_weight_percent",
		      "The weight the HAProxy agent announces while the node is up.",
		      MM_METRIC_GAUGE},
	[F_INST_VERDICT] = {"mailmon_instance_verdict",
			    "The verdict of one Postfix instance ([instance.NAME], NAME its "
			    "syslog_name): 1 for the current state (healthy, degraded, stalled, "
			    "down).",
			    MM_METRIC_STATESET, {"postfix_instance", "state"}, .states = vstates,
			    .nstates = 4},
	[F_INST_SINCE] = {"mailmon_instance_verdict_since_timestamp_seconds",
			  "When the instance's verdict last changed, seconds since the epoch.",
			  MM_METRIC_GAUGE, {"postfix_instance"}},
};

/* One Postfix instance's verdict ([instance.NAME]). */
struct inst_verdict {
	char name[NAME_MAX_LEN];
	char master[NAME_MAX_LEN], qmgr[NAME_MAX_LEN], smtpd[NAME_MAX_LEN];
	struct mm_verdict_engine *eng;
	struct mm_verdict last;
	bool have_last;
};

struct agent_conn {
	struct agent_conn *prev, *next; /* the open ones, for free */
	struct mm_cluster *c;
	struct event *ev;
	evutil_socket_t fd;
};

struct mm_cluster {
	struct mm_daemon *d;
	struct mm_metric *f[F_N];
	struct mm_verdict_engine *eng;
	struct mm_verdict last;
	bool have_last;
	struct inst_verdict *inst; /* [instance.NAME], as configured */
	size_t ninst;
	/* in effect (reloadable) */
	int64_t interval_ms;
	char master[64], smtpd[64], qmgr[64];
	struct mm_agent_conf agent;
	char *instances; /* [cluster] agent_instances as held, or NULL */
	/* agent */
	struct evconnlistener *listener;
	char agent_bound[128];
	size_t nconns;
	struct agent_conn *conns;
	uint64_t answered;
	struct event *ev_resume; /* accepting again after an accept error */
	struct mm_repeat accept_rep;
};

static double num(const struct mm_config *conf, const char *key)
{
	const char *v = mm_config_get(conf, "cluster", key);
	return v ? strtod(v, NULL) : 0;
}

static void conf_from(const struct mm_config *conf, struct mm_verdict_conf *vc)
{
	vc->window_ms = mm_config_duration_ms(conf, "cluster", "stall_window");
	vc->fail_ratio = num(conf, "fail_ratio");
	vc->min_attempts = (uint64_t)mm_config_int(conf, "cluster", "min_attempts");
	vc->flood.min_messages = (uint64_t)mm_config_int(conf, "cluster", "flood_min_messages");
	vc->flood.share = num(conf, "flood_share");
	vc->flood.dominant = num(conf, "flood_dominant");
	vc->flood.unanswered_after_ms = mm_config_duration_ms(conf, "cluster", "unanswered_after");
}

/* c->inst made to follow the [instance.NAME] sections of the config in
 * effect: an instance still there keeps its engine (its samples) and last
 * verdict, a new one gets a fresh engine, a removed one is freed; every
 * one takes its services from its section and the conf vc. */
static void instances_sync(struct mm_cluster *c, const struct mm_verdict_conf *vc)
{
	const struct mm_config *conf = c->d->conf;
	size_t n;
	const char **names = mm_config_instances(conf, "instance", &n);
	struct inst_verdict *next = xcalloc(n ? n : 1, sizeof *next);
	size_t nn = 0;
	for (size_t i = 0; i < n && i < MAX_INSTANCES; i++) {
		struct inst_verdict *iv = &next[nn++];
		for (size_t k = 0; k < c->ninst && !iv->eng; k++)
			if (c->inst[k].eng && strcmp(c->inst[k].name, names[i]) == 0) {
				*iv = c->inst[k]; /* moved: the old slot gives up its engine */
				c->inst[k].eng = NULL;
			}
		if (!iv->eng) {
			mm_strlcpy(iv->name, names[i], sizeof iv->name);
			iv->eng = xmalloc(sizeof *iv->eng);
			mm_verdict_init(iv->eng, vc);
		}
		iv->eng->conf = *vc;
		char sec[NAME_MAX_LEN + 16];
		snprintf(sec, sizeof sec, "instance.%s", names[i]);
		const char *v;
		mm_strlcpy(iv->master, (v = mm_config_get(conf, sec, "master_service")) ? v : "",
			   sizeof iv->master);
		mm_strlcpy(iv->qmgr, (v = mm_config_get(conf, sec, "qmgr_service")) ? v : "",
			   sizeof iv->qmgr);
		mm_strlcpy(iv->smtpd, (v = mm_config_get(conf, sec, "smtpd_service")) ? v : "",
			   sizeof iv->smtpd);
	}
	free(names);
	for (size_t k = 0; k < c->ninst; k++)
		free(c->inst[k].eng);
	free(c->inst);
	c->inst = next;
	c->ninst = nn;
}

static void take_conf(struct mm_cluster *c)
{
	const struct mm_config *conf = c->d->conf;
	struct mm_verdict_conf vc;
	conf_from(conf, &vc);
	c->eng->conf = vc; /* keeps the samples: a new window reads the same ring */
	instances_sync(c, &vc);
	c->interval_ms = mm_config_duration_ms(conf, "cluster", "interval");
	mm_strlcpy(c->master, mm_config_get(conf, "cluster", "master_service"), sizeof c->master);
	mm_strlcpy(c->smtpd, mm_config_get(conf, "cluster", "smtpd_service"), sizeof c->smtpd);
	mm_strlcpy(c->qmgr, mm_config_get(conf, "cluster", "qmgr_service"), sizeof c->qmgr);
	c->agent.low_backlog = (double)mm_config_int(conf, "cluster", "agent_low_backlog");
	c->agent.full_backlog = (double)mm_config_int(conf, "cluster", "agent_full_backlog");
	c->agent.min_weight = (int)mm_config_int(conf, "cluster", "agent_min_weight");
	free(c->instances);
	const char *inst = mm_config_get(conf, "cluster", "agent_instances");
	c->instances = inst && *inst ? xstrdup(inst) : NULL;
}

/* Is name one of the comma-separated list's items (spaces trimmed)? */
static bool list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > p && t[-1] == ' ')
			t--;
		if ((size_t)(t - p) == n && n && strncmp(p, name, n) == 0)
			return true;
		p = e;
	}
	return false;
}

/* ---- the verdict ---- */

/* The verdict of an instance no scanned queue carries: down, with why
 * as its one reason and cause; since kept while it stays so. */
static void unseen_verdict(const struct mm_verdict *last, bool have_last, const char *why,
			   struct mm_verdict *v)
{
	int64_t since = have_last && last->state == MM_V_DOWN ? last->since_ms : mm_wall_ms();
	memset(v, 0, sizeof *v);
	v->state = MM_V_DOWN;
	v->since_ms = since;
	v->nreasons = 1;
	v->cause = 0;
	mm_strlcpy(v->reasons[0], why, sizeof v->reasons[0]);
}

/* One sample into eng and its verdict into *last; a change of state is
 * logged as "WHAT verdict: LINE" (the registry was collected). With
 * unseen set, the verdict is instead down for that reason (the engine
 * still gets the sample). */
static void judge(struct mm_cluster *c, const struct mm_vsample_names *names,
		  struct mm_verdict_engine *eng, const char *what, const char *unseen,
		  struct mm_verdict *last, bool *have_last)
{
	struct mm_vsample *s = xmalloc(sizeof *s);
	mm_vsample_take(c->d->metrics, names, mm_wall_ms(), s);
	mm_verdict_push(eng, s);
	free(s);
	struct mm_verdict v;
	mm_verdict_eval(eng, &v);
	if (unseen)
		unseen_verdict(last, *have_last, unseen, &v);
	if (!*have_last || v.state != last->state) {
		char line[1024];
		mm_verdict_line(&v, line, sizeof line);
		if (v.state == MM_V_HEALTHY)
			mm_log_notice(&c->d->log, "%s verdict: %s", what, line);
		else
			mm_log_warn(&c->d->log, "%s verdict: %s", what, line);
	}
	*last = v;
	*have_last = true;
}

/* Does any series of the per-instance queue family carry name? Also the
 * names it has, comma-separated, into known. True when the family has
 * no series yet (nothing to judge by). */
static bool instance_seen(const struct mm_registry *reg, const char *name, char *known,
			  size_t cap)
{
	const struct mm_metric *m = mm_registry_find(reg, "mailmon_queue_instance_messages");
	known[0] = '\0';
	if (!m || mm_metric_nseries(m) == 0)
		return true;
	for (size_t i = 0; i < mm_metric_nseries(m); i++) {
		const char *lv = mm_metric_series(m, i)->lv[0];
		if (strcmp(lv, name) == 0)
			return true;
		if (!strstr(known, lv) && strlen(known) + strlen(lv) + 3 < cap)
			snprintf(known + strlen(known), cap - strlen(known), "%s%s",
				 known[0] ? ", " : "", lv);
	}
	return false;
}

/* One instance's sample, verdict and change log (the registry was
 * collected by run()). A NAME that no scanned queue carries (a typo, or
 * an instance whose directory is not in [queue] instances) would judge
 * nothing and look healthy: it is down instead, saying why. */
static void run_instance(struct mm_cluster *c, struct inst_verdict *iv)
{
	/* why is cut to MM_VERDICT_REASON_MAX when it becomes the reason. */
	char known[256], why[NAME_MAX_LEN + 256 + 64];
	bool seen = instance_seen(c->d->metrics, iv->name, known, sizeof known);
	if (!seen)
		snprintf(why, sizeof why, "no scanned queue has syslog_name %s (they have: %s)",
			 iv->name, known);
	struct mm_vsample_names names = {iv->master, iv->qmgr, iv->smtpd, iv->name};
	char what[NAME_MAX_LEN + 16];
	snprintf(what, sizeof what, "instance %s", iv->name);
	judge(c, &names, iv->eng, what, seen ? NULL : why, &iv->last, &iv->have_last);
}

static void run(void *arg, int64_t now_ms)
{
	struct mm_cluster *c = arg;
	mm_daemon_collect(c->d);
	struct mm_vsample_names names = {c->master, c->qmgr, c->smtpd, NULL};
	judge(c, &names, c->eng, "node", NULL, &c->last, &c->have_last);
	for (size_t i = 0; i < c->ninst; i++)
		run_instance(c, &c->inst[i]);
}

static void collect(void *arg, struct mm_registry *r)
{
	struct mm_cluster *c = arg;
	if (!c->have_last)
		return;
	mm_metric_set_state(c->f[F_VERDICT], NULL, mm_vstate_name(c->last.state));
	mm_metric_set(c->f[F_SINCE], NULL, (double)c->last.since_ms / 1000.0);
	for (size_t i = 0; i < c->last.floods.n; i++) {
		const struct mm_flood *f = &c->last.floods.v[i];
		mm_metric_set(c->f[F_FLOOD], (const char *[]){f->dest, f->rclass}, f->msgs);
		if (f->unanswered)
			mm_metric_set(c->f[F_UNANSWERED], (const char *[]){f->dest}, 1);
	}
	mm_metric_set(c->f[F_WEIGHT], NULL, mm_agent_weight(&c->agent, c->last.backlog));
	for (size_t i = 0; i < c->ninst; i++) {
		const struct inst_verdict *iv = &c->inst[i];
		if (!iv->have_last)
			continue;
		const char *l[] = {iv->name};
		mm_metric_set_state(c->f[F_INST_VERDICT], l, mm_vstate_name(iv->last.state));
		mm_metric_set(c->f[F_INST_SINCE], l, (double)iv->last.since_ms / 1000.0);
	}
}

/* The verdict as /api/v1/status and /api/v1/cluster show it; before the
 * first run (one [cluster] interval after start) state "unknown". */
static json_t *verdict_json(const struct mm_verdict *v, bool have)
{
	json_t *reasons = json_array();
	char line[1024] = "unknown (no verdict yet)";
	if (!have) {
		json_array_append_new(reasons, json_string("no verdict yet"));
		return json_pack("{s:s, s:o, s:I, s:s, s:b, s:n}", "state", "unknown", "reasons",
				 reasons, "since", (json_int_t)0, "line", line, "warming_up", 1,
				 "cause");
	}
	for (size_t i = 0; i < v->nreasons; i++)
		json_array_append_new(reasons, json_string(v->reasons[i]));
	mm_verdict_line(v, line, sizeof line);
	/* The reason the agent gives, when it drains or downs the node. */
	bool named = (v->state == MM_V_STALLED || v->state == MM_V_DOWN || v->drain) &&
		     v->cause < v->nreasons;
	return json_pack("{s:s, s:o, s:I, s:s, s:b, s:s?}", "state", mm_vstate_name(v->state),
			 "reasons", reasons, "since", (json_int_t)(v->since_ms / 1000), "line", line,
			 "warming_up", v->warming_up, "cause", named ? v->reasons[v->cause] : NULL);
}

/* [{instance, state, reasons, ...}] of the [instance.NAME] verdicts; with
 * agent set, each also with "agent": the answer to its agent-send. */
static json_t *instances_json(const struct mm_cluster *c, bool agent)
{
	json_t *a = json_array();
	for (size_t i = 0; i < c->ninst; i++) {
		const struct inst_verdict *iv = &c->inst[i];
		json_t *o = verdict_json(&iv->last, iv->have_last);
		json_object_set_new(o, "instance", json_string(iv->name));
		if (agent) {
			char ans[MM_AGENT_LINE_MAX] = "up\n";
			if (iv->have_last)
				mm_agent_answer(&c->agent, &iv->last, ans, sizeof ans);
			json_object_set_new(o, "agent", json_string(ans));
		}
		json_array_append_new(a, o);
	}
	return a;
}

static void status(struct mm_daemon *d, json_t *out)
{
	struct mm_cluster *c = d->cluster;
	json_object_set_new(out, "verdict", c ? verdict_json(&c->last, c->have_last) : json_null());
	json_object_set_new(out, "instance_verdicts", c ? instances_json(c, false) : json_array());
}

static void on_api_cluster(struct evhttp_request *req, void *arg)
{
	struct mm_cluster *c = arg;
	const struct mm_verdict *v = &c->last; /* zeroed before the first run */
	json_t *fl = json_array();
	for (size_t i = 0; c->have_last && i < v->floods.n; i++) {
		const struct mm_flood *f = &v->floods.v[i];
		json_array_append_new(fl, json_pack("{s:s, s:f, s:f, s:f, s:s, s:b}", "destination",
						    f->dest, "messages", f->msgs, "share", f->share,
						    "growth_per_min", f->growth_per_min, "reason",
						    f->rclass, "unanswered", f->unanswered));
	}
	json_t *w = json_pack("{s:f, s:f, s:f, s:f, s:f, s:I}", "inflow", v->inflow, "attempts",
			      v->attempts, "deferred", v->failed, "unavailable", v->unavailable,
			      "backlog", v->backlog, "window_ms",
			      (json_int_t)c->eng->conf.window_ms);
	char ans[MM_AGENT_LINE_MAX] = "up\n";
	if (c->have_last)
		mm_agent_answer(&c->agent, &c->last, ans, sizeof ans);
	json_t *agent = json_pack("{s:s?, s:s, s:I}", "listen",
				  c->agent_bound[0] ? c->agent_bound : NULL, "answer", ans,
				  "answered", (json_int_t)c->answered);
	mm_http_reply_json(req, 200,
			   json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "verdict",
				     verdict_json(&c->last, c->have_last), "window", w, "floods", fl,
				     "agent", agent, "isolation", mm_isolate_json(c->d), "instances",
				     instances_json(c, true)));
}

/* ---- the agent ---- */

static const struct inst_verdict *inst_find(const struct mm_cluster *c, const char *name)
{
	for (size_t i = 0; i < c->ninst; i++)
		if (strcmp(c->inst[i].name, name) == 0)
			return &c->inst[i];
	return NULL;
}

static void agent_reply(struct agent_conn *ac, const char *req, size_t len)
{
	struct mm_cluster *c = ac->c;
	char name[64], ans[MM_AGENT_LINE_MAX];
	mm_agent_request(req, len, name, sizeof name);
	bool asked = len > 0 && req[0] != '\r' && req[0] != '\n';
	const struct inst_verdict *iv = asked && name[0] ? inst_find(c, name) : NULL;
	size_t n;
	if (iv) {
		n = iv->have_last ? mm_agent_answer(&c->agent, &iv->last, ans, sizeof ans)
				  : (size_t)snprintf(ans, sizeof ans, "up\n");
	} else if (asked && (!name[0] || !c->instances || !list_has(c->instances, name))) {
		n = (size_t)snprintf(ans, sizeof ans, "down #unknown instance %s\n",
				     name[0] ? name : "(unreadable name)");
	} else if (!c->have_last) {
		/* Before the first verdict: no opinion that would move traffic. */
		n = (size_t)snprintf(ans, sizeof ans, "up\n");
	} else {
		n = mm_agent_answer(&c->agent, &c->last, ans, sizeof ans);
	}
	/* A few bytes into an empty socket buffer: never blocks. */
	ssize_t w = send(ac->fd, ans, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
	c->answered++;
}

static void agent_conn_free(struct agent_conn *ac)
{
	if (ac->ev)
		event_free(ac->ev);
	evutil_closesocket(ac->fd);
	struct mm_cluster *c = ac->c;
	if (ac->prev)
		ac->prev->next = ac->next;
	else
		c->conns = ac->next;
	if (ac->next)
		ac->next->prev = ac->prev;
	c->nconns--;
	free(ac);
}

static void on_agent_read(evutil_socket_t fd, short what, void *arg)
{
	struct agent_conn *ac = arg;
	char buf[MM_AGENT_LINE_MAX];
	ssize_t n = 0;
	if (what & EV_READ) {
		n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return; /* spurious; the timeout still runs */
		if (n < 0)
			n = 0;
	}
	agent_reply(ac, buf, (size_t)n);
	agent_conn_free(ac);
}

static void on_agent_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			    int socklen, void *arg)
{
	struct mm_cluster *c = arg;
	struct agent_conn *ac = xcalloc(1, sizeof *ac);
	ac->c = c;
	ac->fd = fd;
	ac->next = c->conns;
	if (c->conns)
		c->conns->prev = ac;
	c->conns = ac;
	c->nconns++;
	if (c->nconns > AGENT_MAX_CONNS) {
		agent_reply(ac, "", 0);
		agent_conn_free(ac);
		return;
	}
	ac->ev = event_new(c->d->base, fd, EV_READ, on_agent_read, ac);
	struct timeval tv = {0, AGENT_WAIT_MS * 1000};
	event_add(ac->ev, &tv);
}

static void on_agent_resume(evutil_socket_t fd, short what, void *arg)
{
	struct mm_cluster *c = arg;
	evconnlistener_enable(c->listener);
}

/* libevent's listener, without this, warns on stderr and tries again at
 * once: with no fd left that spun and wrote megabytes of log a second. */
static void on_agent_accept_error(struct evconnlistener *l, void *arg)
{
	struct mm_cluster *c = arg;
	int e = EVUTIL_SOCKET_ERROR();
	evconnlistener_disable(l);
	struct timeval tv = {0, AGENT_PAUSE_MS * 1000};
	evtimer_add(c->ev_resume, &tv);
	uint64_t suppressed = 0;
	if (mm_repeat_due(&c->accept_rep, mm_mono_ms(), &suppressed))
		mm_log_err(&c->d->log,
			   "cluster: agent: accept: %s; paused accepting for %d ms "
			   "(%llu more since the last report)",
			   strerror(e), AGENT_PAUSE_MS, (unsigned long long)suppressed);
}

static int agent_open(struct mm_cluster *c, struct mm_err *err)
{
	const char *listen = mm_config_get(c->d->conf, "cluster", "agent_listen");
	if (!listen || !*listen)
		return 0;
	char host[128];
	int port;
	if (mm_parse_hostport(listen, 0, host, sizeof host, &port, err) < 0)
		return -1;
	if (!mm_is_numeric_ip(host))
		return mm_err_set(err, "cluster.agent_listen: %s: give a numeric address", listen);
	struct sockaddr_storage ss;
	int sslen = sizeof ss;
	char spec[160];
	snprintf(spec, sizeof spec, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) < 0)
		return mm_err_set(err, "cluster.agent_listen: %s: not an address", listen);
	c->listener = evconnlistener_new_bind(c->d->base, on_agent_accept, c,
					      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						      LEV_OPT_CLOSE_ON_EXEC,
					      64, (struct sockaddr *)&ss, sslen);
	if (!c->listener)
		return mm_err_set(err, "cluster.agent_listen: cannot listen on %s: %s", listen,
				  strerror(errno));
	evconnlistener_set_error_cb(c->listener, on_agent_accept_error);
	c->ev_resume = evtimer_new(c->d->base, on_agent_resume, c);
	c->accept_rep.window_ms = 60000;
	mm_strlcpy(c->agent_bound, listen, sizeof c->agent_bound);
	return 0;
}

/* ---- the module ---- */

static int check_window(const struct mm_config *conf, struct mm_err *err)
{
	int64_t iv = mm_config_duration_ms(conf, "cluster", "interval");
	int64_t win = mm_config_duration_ms(conf, "cluster", "stall_window");
	if (win > iv * RING_INTERVALS || RING_INTERVALS > MM_VERDICT_RING)
		return mm_err_set(err,
				  "cluster.stall_window: %lld s spans more than %d intervals of "
				  "%lld ms; raise [cluster] interval",
				  (long long)(win / 1000), RING_INTERVALS, (long long)iv);
	int64_t ua = mm_config_duration_ms(conf, "cluster", "unanswered_after");
	if (ua > iv * RING_INTERVALS)
		return mm_err_set(err,
				  "cluster.unanswered_after: %lld s spans more than %d intervals of "
				  "%lld ms; raise [cluster] interval",
				  (long long)(ua / 1000), RING_INTERVALS, (long long)iv);
	return 0;
}

/* [instance.NAME]: at most MAX_INSTANCES, names an agent-send can carry
 * (mm_agent_request) and the label can hold. */
static int check_instances(const struct mm_config *conf, struct mm_err *err)
{
	size_t n;
	const char **names = mm_config_instances(conf, "instance", &n);
	int rc = 0;
	if (n > MAX_INSTANCES)
		rc = mm_err_set(err, "[instance.%s]: at most %d [instance.NAME] sections", names[n - 1],
				MAX_INSTANCES);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char got[NAME_MAX_LEN];
		mm_agent_request(names[i], strlen(names[i]), got, sizeof got);
		if (strlen(names[i]) >= NAME_MAX_LEN || strcmp(got, names[i]) != 0)
			rc = mm_err_set(err,
					"[instance.%s]: NAME must be the instance's syslog_name: "
					"letters, digits, '.', '_' and '-', at most %d bytes",
					names[i], NAME_MAX_LEN - 1);
	}
	free(names);
	return rc;
}

static int cluster_check(struct mm_daemon *d, const struct mm_config *next, struct mm_err *err)
{
	if (check_instances(next, err) < 0)
		return -1;
	return check_window(next, err);
}

static void cluster_apply(struct mm_daemon *d, const struct mm_config *old)
{
	struct mm_cluster *c = d->cluster;
	if (!c)
		return;
	take_conf(c);
	mm_schedule_set_period(&d->sched, "cluster verdict", c->interval_ms);
}

static void cluster_in_effect(struct mm_daemon *d, json_t *out)
{
	struct mm_cluster *c = d->cluster;
	if (!c)
		return;
	const struct mm_verdict_conf *vc = &c->eng->conf;
#define I(k, v) json_object_set_new(out, "cluster." k, json_integer((json_int_t)(v)))
#define R(k, v) json_object_set_new(out, "cluster." k, json_real(v))
#define S(k, v) json_object_set_new(out, "cluster." k, (v) ? json_string(v) : json_null())
	I("interval", c->interval_ms);
	I("stall_window", vc->window_ms);
	R("fail_ratio", vc->fail_ratio);
	I("min_attempts", vc->min_attempts);
	I("flood_min_messages", vc->flood.min_messages);
	R("flood_share", vc->flood.share);
	R("flood_dominant", vc->flood.dominant);
	I("unanswered_after", vc->flood.unanswered_after_ms);
	S("master_service", c->master);
	S("smtpd_service", c->smtpd);
	S("qmgr_service", c->qmgr);
	I("agent_low_backlog", c->agent.low_backlog);
	I("agent_full_backlog", c->agent.full_backlog);
	I("agent_min_weight", c->agent.min_weight);
	S("agent_instances", c->instances);
	for (size_t i = 0; i < c->ninst; i++) {
		const struct inst_verdict *iv = &c->inst[i];
		char k[NAME_MAX_LEN + 32];
#define IS(key, v)                                                                           \
	snprintf(k, sizeof k, "instance.%s." key, iv->name);                                 \
	json_object_set_new(out, k, json_string(v))
		IS("master_service", iv->master);
		IS("qmgr_service", iv->qmgr);
		IS("smtpd_service", iv->smtpd);
#undef IS
	}
#undef I
#undef R
#undef S
}

static void cluster_free(struct mm_daemon *d);

static int cluster_init(struct mm_daemon *d, struct mm_err *err)
{
	if (!mm_config_bool(d->conf, "cluster", "enable"))
		return 0;
	if (check_window(d->conf, err) < 0 || check_instances(d->conf, err) < 0)
		return -1;
	struct mm_cluster *c = xcalloc(1, sizeof *c);
	c->d = d;
	d->cluster = c;
	c->eng = xmalloc(sizeof *c->eng);
	struct mm_verdict_conf vc;
	conf_from(d->conf, &vc);
	mm_verdict_init(c->eng, &vc);
	take_conf(c);
	if (mm_registry_add_all(d->metrics, defs, F_N, c->f, err) < 0)
		return -1;
	mm_registry_add_collector(d->metrics, collect, c);
	if (agent_open(c, err) < 0)
		return -1;
	mm_http_route(d, "/api/cluster", on_api_cluster, c);
	/* The first run after one interval: the other modules' first scans
	 * and probes are under way by then. */
	mm_schedule_add(&d->sched, "cluster verdict", c->interval_ms, c->interval_ms, mm_mono_ms(),
			run, c);
	return 0;
}

static void cluster_free(struct mm_daemon *d)
{
	struct mm_cluster *c = d->cluster;
	if (!c)
		return;
	mm_registry_remove_collector(d->metrics, c);
	mm_http_unroute(d, "/api/cluster");
	if (c->listener)
		evconnlistener_free(c->listener);
	if (c->ev_resume)
		event_free(c->ev_resume);
	while (c->conns)
		agent_conn_free(c->conns);
	for (size_t i = 0; i < d->sched.n; i++)
		if (strcmp(d->sched.jobs[i].name, "cluster verdict") == 0)
			d->sched.jobs[i].fn = NULL;
	free(c->instances);
	for (size_t i = 0; i < c->ninst; i++)
		free(c->inst[i].eng);
	free(c->inst);
	free(c->eng);
	free(c);
	d->cluster = NULL;
}

const struct mm_module mm_module_cluster = {
	.name = "cluster",
	.conf = {&mm_conf_table_cluster},
	.init = cluster_init,
	.check = cluster_check,
	.apply = cluster_apply,
	.in_effect = cluster_in_effect,
	.status = status,
	.free = cluster_free,
};

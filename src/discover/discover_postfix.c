/*
 * discover_postfix: Postfix for `mailmon init` (see discover.h). Every
 * instance `postmulti -l` lists is asked with `postconf -c DIR` for the
 * few parameters monitoring needs, and its master.cf gives the SMTP
 * listeners. The first instance becomes [mta], the others
 * [queue] instances; each listener one [service.NAME].
 */
#include "discover/discover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strutil.h"
#include "discover/mastercf.h"
#include "discover/postconf_out.h"

#define WHY_MAX 512

static const char *const params[] = {
	"queue_directory", "command_directory", "syslog_name",	  "maillog_file",
	"inet_interfaces", "inet_protocols",	"content_filter", "defer_transports",
};

/* Runs postconf -c dir PARAMS...; 0 with kv filled, or -1 with err. */
static int ask_postconf(struct mm_disc *d, const char *postconf, const char *dir,
			struct mm_kvlist *kv, struct mm_err *err)
{
	char *argv[4 + sizeof params / sizeof params[0]];
	size_t n = 0;
	argv[n++] = (char *)postconf;
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)dir;
	for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
		argv[n++] = (char *)params[i];
	argv[n] = NULL;
	char *out;
	size_t len;
	if (d->host->run(d->host->ctx, argv, &out, &len, err) < 0)
		return -1;
	int rc = mm_postconf_parse(out, len, kv, err);
	free(out);
	return rc;
}

/* The instance list; the default instance alone when postmulti cannot
 * tell (not installed, or it fails). */
static size_t instances(struct mm_disc *d, struct mm_pf_instance *in)
{
	char postmulti[256];
	struct mm_err err;
	size_t n = 0;
	if (mm_disc_program(d, "postmulti", postmulti, sizeof postmulti)) {
		char *argv[] = {postmulti, (char *)"-l", NULL};
		char *out;
		size_t len;
		if (d->host->run(d->host->ctx, argv, &out, &len, &err) == 0) {
			int rc = mm_postmulti_parse(out, len, in, &n, &err);
			free(out);
			if (rc == 0 && n > 0) {
				mm_plan_note(d->plan, "postfix: %zu instance%s (postmulti -l)", n,
					     n == 1 ? "" : "s");
				return n;
			}
			if (rc < 0)
				mm_plan_note(d->plan, "postfix: postmulti -l output: %s", err.msg);
		} else {
			mm_plan_note(d->plan, "postfix: postmulti -l failed: %s", err.msg);
		}
	}
	memset(in, 0, sizeof *in);
	mm_strlcpy(in->name, "-", sizeof in->name);
	mm_strlcpy(in->group, "-", sizeof in->group);
	mm_strlcpy(in->config_dir, "/etc/postfix", sizeof in->config_dir);
	in->enabled = true;
	mm_plan_note(d->plan, "postfix: assuming the single instance /etc/postfix");
	return 1;
}

/* "scan:[127.0.0.1]:10025" -> transport "scan", host, port; false when
 * the next hop is no numeric [address]:port. */
static bool split_filter(const char *filter, char *transport, size_t tcap, char *host,
			 size_t hcap, int *port)
{
	const char *colon = strchr(filter, ':');
	if (!colon || (size_t)(colon - filter) >= tcap)
		return false;
	mm_disc_fmt(transport, tcap, "%.*s", (int)(colon - filter), filter);
	const char *nh = colon + 1;
	const char *rb = strchr(nh, ']');
	if (nh[0] != '[' || !rb || rb[1] != ':' || (size_t)(rb - nh - 1) >= hcap)
		return false;
	mm_disc_fmt(host, hcap, "%.*s", (int)(rb - nh - 1), nh + 1);
	char *end;
	long v = strtol(rb + 2, &end, 10);
	if (*end || v < 1 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

/* A content filter: probed when its next hop is numeric and master.cf
 * says it speaks SMTP or LMTP; otherwise planned commented out. */
static void plan_filter(struct mm_disc *d, const char *prefix, const char *filter,
			const struct mm_master_entry *ents, size_t nents)
{
	char transport[64], host[64], sec[160], url[160], why[WHY_MAX];
	int port;
	mm_disc_fmt(sec, sizeof sec, "service.%sfilter", prefix);
	if (mm_plan_has_section(d->plan, sec))
		return;
	mm_plan_note(d->plan, "postfix: content filter %s", filter);
	if (!split_filter(filter, transport, sizeof transport, host, sizeof host, &port)) {
		mm_disc_fmt(why, sizeof why, "Not determined: content_filter = %s has no numeric "
			 "[address]:port next hop to probe.", filter);
		mm_plan_off(d->plan, sec, "url", "smtp://127.0.0.1:10024", why);
		return;
	}
	const char *proto = NULL;
	for (size_t i = 0; i < nents; i++)
		if (strcmp(ents[i].service, transport) == 0 && strcmp(ents[i].type, "unix") == 0 &&
		    (strcmp(ents[i].command, "smtp") == 0 || strcmp(ents[i].command, "lmtp") == 0))
			proto = ents[i].command;
	mm_disc_fmt(url, sizeof url, "%s://%s:%d", proto ? proto : "smtp", host, port);
	if (!proto) {
		mm_disc_fmt(why, sizeof why, "Not determined: transport %s of content_filter = %s is "
			 "no smtp or lmtp entry in master.cf.", transport, filter);
		mm_plan_off(d->plan, sec, "url", url, why);
		return;
	}
	mm_disc_fmt(why, sizeof why, "The content filter (content_filter = %s; master.cf "
		 "transport %s runs %s).", filter, transport, proto);
	mm_plan_set(d->plan, sec, "url", url, why);
}

static const char *kind_name(enum mm_smtp_kind k)
{
	switch (k) {
	case MM_SMTP_SUBMISSION: return "submission";
	case MM_SMTP_SMTPS: return "smtps";
	default: return "smtp";
	}
}

/* One [service.*] per SMTP listener of master.cf. */
static void plan_listeners(struct mm_disc *d, const struct mm_pf_instance *in,
			   const struct mm_kvlist *kv, const char *prefix, const char *group,
			   const char *unit, const char *start)
{
	char path[512], why[WHY_MAX];
	struct mm_err err;
	mm_disc_fmt(path, sizeof path, "%s/master.cf", in->config_dir);
	size_t len;
	int eno;
	char *text = d->host->read(d->host->ctx, path, &len, &eno, &err);
	if (!text) {
		mm_plan_note(d->plan, "postfix %s: %s; no listeners known", in->name, err.msg);
		return;
	}
	struct mm_master_entry *ents;
	size_t n;
	if (mm_mastercf_parse(text, len, &ents, &n, &err) < 0)
		mm_plan_note(d->plan, "postfix %s: %s: %s (entries before it are used)", in->name,
			     path, err.msg);
	free(text);
	const char *ifaces = mm_kvlist_get(kv, "inet_interfaces");
	const char *protos = mm_kvlist_get(kv, "inet_protocols");
	bool v6only = protos && strcmp(protos, "ipv6") == 0;
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		struct mm_master_listener l;
		mm_mastercf_listener(&ents[i], &l);
		if (l.kind == MM_SMTP_NONE)
			continue;
		char sec[200], url[200], host[80], addrwhy[256];
		mm_disc_fmt(sec, sizeof sec, "service.%s%s", prefix, kind_name(l.kind));
		if (mm_plan_has_section(d->plan, sec))
			mm_disc_fmt(sec, sizeof sec, "service.%s%s-%s", prefix, kind_name(l.kind),
				 l.port_name);
		bool ok = mm_disc_probe_addr(l.host[0] ? l.host : ifaces, v6only, host, sizeof host,
					     addrwhy, sizeof addrwhy);
		mm_disc_fmt(url, sizeof url, "%s://%s:%d", kind_name(l.kind), ok ? host : "ADDRESS",
			 l.port);
		if (!l.port) {
			mm_disc_fmt(why, sizeof why, "Not determined: master.cf line %d names port \"%s\", "
				 "which mailmon does not know; give the number.", ents[i].line,
				 l.port_name);
			mm_plan_off(d->plan, sec, "url", url, why);
		} else if (!ok) {
			mm_disc_fmt(why, sizeof why, "Not determined: master.cf line %d: %s.",
				 ents[i].line, addrwhy);
			mm_plan_off(d->plan, sec, "url", url, why);
		} else {
			mm_disc_fmt(why, sizeof why, "Postfix %s: master.cf line %d (%s %s); %s.",
				 in->name, ents[i].line, ents[i].service, ents[i].command, addrwhy);
			mm_plan_set(d->plan, sec, "url", url, why);
		}
		mm_plan_note(d->plan, "postfix %s: %s listener %s (master.cf line %d)", in->name,
			     kind_name(l.kind), ents[i].service, ents[i].line);
		if (first) {
			const char *q = mm_kvlist_get(kv, "queue_directory");
			char pid[512];
			mm_disc_fmt(pid, sizeof pid, "%s/pid/master.pid", q ? q : "/var/spool/postfix");
			mm_plan_set(d->plan, sec, "pidfile", pid,
				    "The Postfix master's pid file (queue_directory/pid/master.pid).");
			mm_plan_set(d->plan, sec, "process_max", "1", "One master per instance.");
			first = false;
		}
		mm_disc_commands(d, sec, unit, start, group);
		const char *cf = mm_kvlist_get(&ents[i].opts, "content_filter");
		if (cf && *cf)
			plan_filter(d, prefix, cf, ents, n);
	}
	const char *cf = mm_kvlist_get(kv, "content_filter");
	if (cf && *cf)
		plan_filter(d, prefix, cf, ents, n);
	if (first)
		mm_plan_note(d->plan, "postfix %s: no smtpd/postscreen inet listener in %s",
			     in->name, path);
	mm_mastercf_free(ents, n);
}

/* [mta] and [queue] for the instances that answered. */
static void plan_instance(struct mm_disc *d, const struct mm_pf_instance *in,
			  const struct mm_kvlist *kv, bool primary, struct mm_kvlist *others)
{
	char why[WHY_MAX], prefix[80], group[80], unit[128], start[512];
	const char *q = mm_kvlist_get(kv, "queue_directory");
	const char *cmd = mm_kvlist_get(kv, "command_directory");
	const char *name = mm_kvlist_get(kv, "syslog_name");
	const char *maillog = mm_kvlist_get(kv, "maillog_file");
	const char *defer = mm_kvlist_get(kv, "defer_transports");
	if (primary) {
		mm_disc_fmt(why, sizeof why, "Postfix was found (%s).",
			 strcmp(in->name, "-") == 0 ? "the default instance" : in->name);
		mm_plan_set(d->plan, "mta", "type", "postfix", why);
		mm_disc_fmt(why, sizeof why, "The %s instance's config directory (postmulti -l).",
			 in->name);
		mm_plan_set(d->plan, "mta", "config_directory", in->config_dir, why);
		if (q && *q)
			mm_plan_set(d->plan, "mta", "queue_directory", q,
				    "postconf queue_directory.");
		if (cmd && *cmd)
			mm_plan_set(d->plan, "mta", "command_directory", cmd,
				    "postconf command_directory.");
	} else {
		mm_kvlist_add(others, in->config_dir, in->name);
	}
	if (q && *q)
		mm_kvlist_add(&d->disks, q, "Postfix queue");
	if (maillog && *maillog) {
		mm_disc_fmt(why, sizeof why, "maillog_file of Postfix %s", in->name);
		mm_disc_log(d, maillog, why);
	} else if (name && *name) {
		mm_kvlist_add(&d->syslog_idents, name, "Postfix");
	}
	if (defer && *defer) {
		mm_plan_note(d->plan, "postfix %s: defer_transports = %s", in->name, defer);
		mm_plan_comment(d->plan, "queue", "Postfix %s holds mail for defer_transports = %s "
				"on purpose: a deferred queue growing for them is expected.",
				in->name, defer);
	}
	bool dflt = strcmp(in->name, "-") == 0;
	mm_disc_fmt(prefix, sizeof prefix, "%s", dflt || primary ? "" : in->name);
	if (*prefix)
		strncat(prefix, "-", sizeof prefix - strlen(prefix) - 1);
	mm_disc_fmt(group, sizeof group, "%s", dflt ? "postfix" : in->name);
	mm_disc_fmt(unit, sizeof unit, "postfix@%s.service", in->name);
	if (!mm_disc_unit(d, unit))
		mm_disc_fmt(unit, sizeof unit, "postfix.service");
	mm_disc_fmt(start, sizeof start, "%s/postfix -c %s start", cmd && *cmd ? cmd : "/usr/sbin",
		 in->config_dir);
	plan_listeners(d, in, kv, prefix, group, unit, start);
}

void mm_discover_postfix(struct mm_disc *d)
{
	char postconf[256];
	if (!mm_disc_program(d, "postconf", postconf, sizeof postconf)) {
		mm_plan_note(d->plan, "postfix: not installed (no postconf)");
		mm_plan_set(d->plan, "mta", "type", "none", "Postfix is not installed (no postconf).");
		return;
	}
	struct mm_pf_instance in[MM_PF_MAX_INSTANCES];
	size_t n = instances(d, in);
	struct mm_kvlist others = {0};
	bool have_primary = false;
	for (size_t i = 0; i < n; i++) {
		if (!in[i].enabled) {
			mm_plan_note(d->plan, "postfix %s (%s): disabled (postmulti -l); not watched",
				     in[i].name, in[i].config_dir);
			continue;
		}
		struct mm_kvlist kv = {0};
		struct mm_err err;
		if (ask_postconf(d, postconf, in[i].config_dir, &kv, &err) < 0) {
			mm_plan_note(d->plan, "postfix %s (%s): postconf: %s; not watched", in[i].name,
				     in[i].config_dir, err.msg);
			mm_kvlist_free(&kv);
			continue;
		}
		const char *q = mm_kvlist_get(&kv, "queue_directory");
		mm_plan_note(d->plan, "postfix %s: config %s, queue %s", in[i].name,
			     in[i].config_dir, q ? q : "(unknown)");
		plan_instance(d, &in[i], &kv, !have_primary, &others);
		have_primary = true;
		d->found++;
		mm_kvlist_free(&kv);
	}
	if (others.n > 0) {
		char list[2048] = "", why[WHY_MAX] = "More Postfix instances (postmulti -l):";
		for (size_t i = 0; i < others.n; i++) {
			if (i)
				strncat(list, ", ", sizeof list - strlen(list) - 1);
			strncat(list, others.v[i].name, sizeof list - strlen(list) - 1);
			strncat(why, " ", sizeof why - strlen(why) - 1);
			strncat(why, others.v[i].value, sizeof why - strlen(why) - 1);
		}
		strncat(why, ".", sizeof why - strlen(why) - 1);
		mm_plan_set(d->plan, "queue", "instances", list, why);
	}
	mm_kvlist_free(&others);
	if (!have_primary)
		mm_plan_set(d->plan, "mta", "type", "none",
			    "No Postfix instance answered postconf (see mailmon init --dry-run);\n"
			    "set postfix here once it is configured.");
}

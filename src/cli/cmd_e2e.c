/*
 * mailmon e2e: one end-to-end delivery check (the seed's immonitor-access)
 * from the command line; a Nagios/Icinga plugin like `mailmon probe`
 * (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; one status line;
 * performance data per stage after "|").
 *
 * It runs src/probes/e2e.c once in its own loop. Credentials come from
 * files only the user can read, never argv.
 */
#include <event2/event.h>
#include <getopt.h>
#include <ctype.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/nagios.h"
#include "core/parse.h"
#include "core/strutil.h"
#include "probes/e2e.h"


static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon e2e - send a probe message and fetch it back, timing every leg\n"
	      "                  (the seed's immonitor-access; a Nagios/Icinga plugin)\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon e2e --submit URL --fetch URL --to ADDR --credentials FILE\n"
	      "                [--ldap URL] [--ldap-credentials FILE]\n"
	      "                [--submit-credentials FILE] [--from ADDR] [--starttls]\n"
	      "                [-w SECS] [-c SECS] [-t SECS] [--connect-timeout SECS]\n"
	      "                [--poll SECS] [--no-idle] [--name NAME] [--claim]\n"
	      "                [--cleanup-age SECS] [--insecure] [--cafile FILE]\n"
	      "                [--helo NAME] [--json] [-v]\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    1. With --ldap, looks the recipient up in the directory: the URL's\n"
	      "       search must find an entry (default filter (mail=ADDR), scope sub).\n"
	      "    2. Submits one message to ADDR over --submit (smtp://, smtps:// or\n"
	      "       submission://, which always uses STARTTLS), with AUTH PLAIN when\n"
	      "       --submit-credentials is given. The message carries a unique header\n"
	      "           X-Mailmon-Probe: mailmon-e2e NAME SENT_MS NONCE\n"
	      "    3. Logs into the mailbox over --fetch (imap://, imaps://, pop3://,\n"
	      "       pop3s://) as the --credentials user and waits for the message: IMAP\n"
	      "       IDLE where the server offers it, else UID SEARCH on the header\n"
	      "       every --poll; POP3 logs in again every --poll.\n"
	      "    4. Fetches it whole, deletes it (IMAP: UID EXPUNGE where UIDPLUS is\n"
	      "       offered, so concurrent probes on one mailbox never remove each\n"
	      "       other's messages), and deletes probe messages sent more than\n"
	      "       --cleanup-age ago (leftovers of runs that were killed).\n"
	      "\n"
	      "    Times are reported in milliseconds precision, in seconds: the LDAP\n"
	      "    lookup; connect, greeting and each SMTP command, and the SMTP total;\n"
	      "    the delivery delay, from the server's 250 after DATA to the message\n"
	      "    being visible in the mailbox, and per hop from its Received: headers\n"
	      "    (1 s resolution: that is what the headers carry); each IMAP/POP3\n"
	      "    command; the retrieve (fetch and delete); the total.\n"
	      "\n"
	      "        E2E OK - alice@lab.test delivered in 0.041 s | delivery=0.041s;5;30;0;60 ...\n"
	      "\n"
	      "    A failure names the leg that failed: directory (LDAP), submission\n"
	      "    (SMTP), delivery (the mailbox is readable but the message did not\n"
	      "    appear within -t) or retrieval (the mailbox could not be reached,\n"
	      "    logged into or read). A mailbox outage is never blamed on SMTP.\n"
	      "\n"
	      "    Late is not lost: the run waits up to -t. A message that appears after\n"
	      "    the -c deadline is reported CRITICAL as late, with its real delay. One\n"
	      "    that has not appeared by -t stays in the mailbox; a later run with the\n"
	      "    same --name and --claim takes it and reports its delay (claimed=N,\n"
	      "    claimed_max_delay in the perfdata), otherwise it is removed as a\n"
	      "    leftover after --cleanup-age.\n",
	      out);
	fputs("\n"
	      "OPTIONS\n"
	      "    --submit URL            where to submit (smtp, smtps, submission)\n"
	      "    --fetch URL             the mailbox (imap, imaps, pop3, pop3s)\n"
	      "    --to ADDR               recipient: the mailbox's address\n"
	      "    --credentials FILE      the mailbox user: lines \"user = NAME\" and\n"
	      "                            \"password = SECRET\"; mode 600, owned by you\n"
	      "    --submit-credentials FILE  SMTP AUTH PLAIN user (same format)\n"
	      "    --from ADDR             envelope and From: sender (default <>, and\n"
	      "                            From: mailmon@mailmon.invalid)\n"
	      "    --starttls              SMTP: upgrade with STARTTLS; fail if not offered\n"
	      "    --fetch-starttls        IMAP/POP3: upgrade with STARTTLS/STLS\n"
	      "    --ldap URL              ldap[s]://HOST:PORT/BASE[??SCOPE?FILTER]\n"
	      "    --ldap-credentials FILE bind DN (user =) and password; anonymous without\n"
	      "    -w, --warning SECS      WARNING when delivery takes longer\n"
	      "    -c, --critical SECS     the deadline: CRITICAL (late) when delivery\n"
	      "                            takes longer\n"
	      "    -t, --timeout SECS      the whole run (default 60)\n"
	      "        --connect-timeout SECS  each connection (default 10)\n"
	      "        --poll SECS         between looks without IDLE (default 0.5)\n"
	      "        --no-idle           poll with SEARCH even if IDLE is offered\n"
	      "        --name NAME         the probe's name in the tag (default cli)\n"
	      "        --claim             take messages of earlier runs of NAME\n"
	      "        --cleanup-age SECS  delete others' probe messages older than this\n"
	      "                            (default 600; 0 never)\n"
	      "        --insecure          do not verify server certificates\n"
	      "        --cafile FILE       trust only the CAs in FILE\n"
	      "        --helo NAME         EHLO name (default mailmon.invalid)\n"
	      "        --json              the full result as JSON\n"
	      "    -v, --verbose           every stage and hop on further lines\n"
	      "\n"
	      "    Hosts must be numeric addresses (127.0.0.1, [::1]); no name is looked up.\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 OK; 1 WARNING (slower than -w); 2 CRITICAL (a leg failed, or late);\n"
	      "    3 UNKNOWN (bad usage, could not check).\n",
	      out);
}

struct run {
	struct mm_e2e_result res;
	bool done;
};

static void on_result(const struct mm_e2e_result *res, void *arg)
{
	struct run *r = arg;
	r->res = *res;
	r->done = true;
}

static int unknown(bool json, const char *msg)
{
	return mm_nagios_unknown(json, "E2E", "leg", msg);
}

static json_t *us_json(int64_t us)
{
	return us < 0 ? json_null() : json_real((double)us / 1000.0);
}

static json_t *result_json(const struct mm_e2e_result *r)
{
	json_t *stages = json_object();
	for (size_t i = 0; i < r->nstages; i++)
		json_object_set_new(stages, r->stages[i].name, json_real((double)r->stages[i].us / 1000.0));
	json_t *hops = json_array();
	for (size_t i = 0; i < r->nhops; i++)
		json_array_append_new(hops, json_pack("{s:s, s:s, s:o}", "by", r->hops[i].by, "with",
						      r->hops[i].with, "ms", us_json(r->hop_us[i])));
	json_t *claimed = json_array();
	for (size_t i = 0; i < r->nclaimed; i++)
		json_array_append_new(claimed, json_pack("{s:s, s:I}", "tag", r->claimed[i].tag,
							 "delay_ms", (json_int_t)r->claimed[i].delay_ms));
	json_t *doc = json_pack(
		"{s:b, s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
		" s:i, s:i, s:i, s:b, s:o}",
		"ok", r->leg == MM_E2E_OK, "leg", mm_e2e_leg_name(r->leg), "failure",
		mm_probe_fail_name(r->leg == MM_E2E_OK ? MM_PF_NONE : r->fail), "stage", r->stage,
		"message", r->msg, "delivered", r->delivered, "late", r->late, "tag", r->tag,
		"queue_reply", r->queue_id, "sent_ms", (json_int_t)r->sent_wall_ms, "ldap_ms",
		us_json(r->ldap_us), "smtp_ms", us_json(r->smtp_us), "delivery_ms",
		us_json(r->delivery_us), "retrieve_ms", us_json(r->retrieve_us), "total_ms",
		us_json(r->total_us), "stages_ms", stages, "hops", hops, "polls", (int)r->polls,
		"scanned", (int)r->scanned, "cleaned", (int)r->cleaned, "idle", r->idle, "claimed",
		claimed);
	return doc;
}

static void print_line(int rc, const char *to, const struct mm_e2e_result *r, int64_t warn_ms,
		       int64_t crit_ms, int64_t timeout_ms, const char *why)
{
	printf("E2E %s - %s ", mm_nagios_names[rc], to);
	if (r->leg == MM_E2E_OK)
		printf("delivered in %.3f s%s", (double)r->delivery_us / 1e6, why);
	else
		printf("%s failed (%s) at %s: %s", mm_e2e_leg_name(r->leg), mm_probe_fail_name(r->fail),
		       r->stage[0] ? r->stage : "-", r->msg);
	if (r->leg == MM_E2E_DELIVERY || r->leg == MM_E2E_RETRIEVAL)
		printf("; submission OK in %.3f s", (double)r->smtp_us / 1e6);
	if (r->nclaimed)
		printf("; %zu message(s) of earlier runs taken", r->nclaimed);
	printf(" |");
	if (r->delivery_us >= 0)
		mm_nagios_perf_range("delivery", r->delivery_us, warn_ms, crit_ms, timeout_ms);
	mm_nagios_perf("total", r->total_us);
	mm_nagios_perf("ldap", r->ldap_us);
	mm_nagios_perf("smtp", r->smtp_us);
	mm_nagios_perf("retrieve", r->retrieve_us);
	for (size_t i = 0; i < r->nstages; i++)
		if (strcmp(r->stages[i].name, "ldap") != 0)
			mm_nagios_perf(r->stages[i].name, r->stages[i].us);
	for (size_t i = 0; i < r->nhops; i++) {
		char label[40];
		char with[16];
		size_t k = 0;
		for (; r->hops[i].with[k] && k + 1 < sizeof with; k++)
			with[k] = (char)tolower((unsigned char)r->hops[i].with[k]);
		with[k] = '\0';
		snprintf(label, sizeof label, "hop%zu%s%s", i + 1, k ? "_" : "", with);
		mm_nagios_perf(label, r->hop_us[i]);
	}
	printf(" late=%d cleaned=%u polls=%u", r->late ? 1 : 0, r->cleaned, r->polls);
	if (r->nclaimed) {
		int64_t mx = -1;
		for (size_t i = 0; i < r->nclaimed; i++)
			if (r->claimed[i].delay_ms > mx)
				mx = r->claimed[i].delay_ms;
		printf(" claimed=%zu", r->nclaimed);
		if (mx >= 0)
			printf(" claimed_max_delay=%.3fs", (double)mx / 1000);
	}
	putchar('\n');
}

static void print_verbose(const struct mm_e2e_result *r)
{
	printf("  tag %s\n", r->tag);
	for (size_t i = 0; i < r->nstages; i++)
		printf("  %-18s %10.3f ms\n", r->stages[i].name, (double)r->stages[i].us / 1000);
	for (size_t i = 0; i < r->nhops; i++)
		printf("  hop %zu by %s with %s: %s%.0f ms\n", i + 1, r->hops[i].by[0] ? r->hops[i].by : "?",
		       r->hops[i].with[0] ? r->hops[i].with : "?", r->hop_us[i] < 0 ? "no date " : "",
		       r->hop_us[i] < 0 ? 0.0 : (double)r->hop_us[i] / 1000);
	for (size_t i = 0; i < r->nclaimed; i++)
		printf("  claimed %s: delay %lld ms\n", r->claimed[i].tag,
		       (long long)r->claimed[i].delay_ms);
}

/* The LDAP URL: BASE alone gets ??sub?(mail=TO). */
static int ldap_url(const char *url, const char *to, struct mm_probe_params *p, struct mm_err *err)
{
	if (mm_probe_parse_url(url, p, err) < 0)
		return -1;
	if (p->proto != MM_PROTO_LDAP)
		return mm_err_set(err, "--ldap %s: expected ldap:// or ldaps://", url);
	if (strchr(p->path, '?'))
		return 0;
	if (strpbrk(to, "*()\\?%,"))
		return mm_err_set(err, "--to %s: characters that need escaping in an LDAP filter", to);
	char path[sizeof p->path];
	int n = snprintf(path, sizeof path, "%s??sub?(mail=%s)", p->path[0] ? p->path : "/", to);
	if (n < 0 || (size_t)n >= sizeof path)
		return mm_err_set(err, "--ldap %s: URL too long", url);
	mm_strlcpy(p->path, path, sizeof p->path);
	return 0;
}

int cmd_e2e(struct mm_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"submit", required_argument, NULL, 'S'},
		{"fetch", required_argument, NULL, 'F'},
		{"to", required_argument, NULL, 'r'},
		{"from", required_argument, NULL, 'f'},
		{"credentials", required_argument, NULL, 'C'},
		{"submit-credentials", required_argument, NULL, 'U'},
		{"ldap", required_argument, NULL, 'L'},
		{"ldap-credentials", required_argument, NULL, 'D'},
		{"starttls", no_argument, NULL, 's'},
		{"fetch-starttls", no_argument, NULL, 'z'},
		{"timeout", required_argument, NULL, 't'},
		{"connect-timeout", required_argument, NULL, 'T'},
		{"warning", required_argument, NULL, 'w'},
		{"critical", required_argument, NULL, 'c'},
		{"poll", required_argument, NULL, 'p'},
		{"no-idle", no_argument, NULL, 'n'},
		{"name", required_argument, NULL, 'N'},
		{"claim", no_argument, NULL, 'm'},
		{"cleanup-age", required_argument, NULL, 'a'},
		{"insecure", no_argument, NULL, 'k'},
		{"cafile", required_argument, NULL, 'A'},
		{"helo", required_argument, NULL, 'H'},
		{"json", no_argument, NULL, 'j'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct mm_e2e_params prm;
	mm_e2e_params_init(&prm);
	mm_strlcpy(prm.name, "cli", sizeof prm.name);
	const char *submit = NULL, *fetch = NULL, *to = NULL, *from = "", *cred = NULL,
		   *scred = NULL, *ldap = NULL, *lcred = NULL, *cafile = NULL, *helo = NULL;
	bool json = false, verbose = false, starttls = false, fstarttls = false, insecure = false;
	int64_t warn_ms = 0, crit_ms = 0, conn_ms = 10000;
	int c;
	while ((c = getopt_long(argc, argv, "t:w:c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'S': submit = optarg; break;
		case 'F': fetch = optarg; break;
		case 'r': to = optarg; break;
		case 'f': from = optarg; break;
		case 'C': cred = optarg; break;
		case 'U': scred = optarg; break;
		case 'L': ldap = optarg; break;
		case 'D': lcred = optarg; break;
		case 's': starttls = true; break;
		case 'z': fstarttls = true; break;
		case 't': if (mm_nagios_secs("e2e", "-t", optarg, false, &prm.timeout_ms) < 0) return NAGIOS_UNKNOWN; break;
		case 'T': if (mm_nagios_secs("e2e", "--connect-timeout", optarg, false, &conn_ms) < 0) return NAGIOS_UNKNOWN; break;
		case 'w': if (mm_nagios_secs("e2e", "-w", optarg, false, &warn_ms) < 0) return NAGIOS_UNKNOWN; break;
		case 'c': if (mm_nagios_secs("e2e", "-c", optarg, false, &crit_ms) < 0) return NAGIOS_UNKNOWN; break;
		case 'p': if (mm_nagios_secs("e2e", "--poll", optarg, false, &prm.poll_ms) < 0) return NAGIOS_UNKNOWN; break;
		case 'a': if (mm_nagios_secs("e2e", "--cleanup-age", optarg, true, &prm.cleanup_age_ms) < 0) return NAGIOS_UNKNOWN; break;
		case 'n': prm.no_idle = true; break;
		case 'N': mm_strlcpy(prm.name, optarg, sizeof prm.name); break;
		case 'm': prm.claim = true; break;
		case 'k': insecure = true; break;
		case 'A': cafile = optarg; break;
		case 'H': helo = optarg; break;
		case 'j': json = true; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return NAGIOS_OK;
		default: usage(stderr); return NAGIOS_UNKNOWN;
		}
	}
	if (optind != argc || !submit || !fetch || !to || !cred) {
		fprintf(stderr, "mailmon e2e: --submit, --fetch, --to and --credentials are required\n");
		usage(stderr);
		return NAGIOS_UNKNOWN;
	}
	struct mm_err err = {{0}};
	if (!mm_e2e_name_ok(prm.name))
		return unknown(json, "--name: use 1-63 of A-Z a-z 0-9 . _ -");
	struct mm_probe_params *ps[] = {&prm.submit, &prm.fetch, &prm.ldap};
	for (size_t i = 0; i < 3; i++) {
		ps[i]->insecure = insecure;
		ps[i]->connect_timeout_ms = conn_ms;
		ps[i]->timeout_ms = prm.timeout_ms;
		if (cafile)
			mm_strlcpy(ps[i]->ca_file, cafile, sizeof ps[i]->ca_file);
	}
	prm.submit.starttls = starttls;
	prm.fetch.starttls = fstarttls;
	if (helo)
		mm_strlcpy(prm.submit.helo, helo, sizeof prm.submit.helo);
	if (mm_parse_mailbox(to, false, &err) < 0 || (from[0] && mm_parse_mailbox(from, true, &err) < 0))
		return unknown(json, err.msg);
	mm_strlcpy(prm.submit.rcpt, to, sizeof prm.submit.rcpt);
	mm_strlcpy(prm.submit.mail_from, from, sizeof prm.submit.mail_from);
	if (mm_probe_parse_url(submit, &prm.submit, &err) < 0 ||
	    mm_probe_parse_url(fetch, &prm.fetch, &err) < 0 ||
	    mm_probe_read_credentials(cred, &prm.fetch, &err) < 0 ||
	    (scred && mm_probe_read_credentials(scred, &prm.submit, &err) < 0) ||
	    (ldap && ldap_url(ldap, to, &prm.ldap, &err) < 0) ||
	    (lcred && mm_probe_read_credentials(lcred, &prm.ldap, &err) < 0))
		return unknown(json, err.msg);
	prm.have_ldap = ldap != NULL;
	if (prm.submit.proto != MM_PROTO_SMTP)
		return unknown(json, "--submit: expected smtp://, smtps:// or submission://");
	if (prm.fetch.proto != MM_PROTO_IMAP && prm.fetch.proto != MM_PROTO_POP3)
		return unknown(json, "--fetch: expected imap://, imaps://, pop3:// or pop3s://");
	const struct mm_probe_params *hosts[] = {&prm.submit, &prm.fetch, &prm.ldap};
	for (size_t i = 0; i < 3; i++)
		if ((i < 2 || prm.have_ldap) && !hosts[i]->unix_path[0] && !mm_is_numeric_ip(hosts[i]->host))
			return unknown(json, "hosts must be numeric addresses (no name lookups)");
	prm.deadline_ms = crit_ms;
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	struct mm_probe_env *env = mm_probe_env_new(base, NULL, &err);
	struct run r = {0};
	int rc = NAGIOS_UNKNOWN;
	if (!env || !mm_e2e_start(env, &prm, on_result, &r, &err)) {
		unknown(json, err.msg);
		goto out;
	}
	event_base_dispatch(base);
	if (!r.done) {
		unknown(json, "the probe ended without a result");
		goto out;
	}
	const struct mm_e2e_result *res = &r.res;
	char why[96] = "";
	if (res->leg == MM_E2E_INTERNAL)
		rc = NAGIOS_UNKNOWN;
	else if (res->leg != MM_E2E_OK)
		rc = NAGIOS_CRITICAL;
	else if (res->late) {
		rc = NAGIOS_CRITICAL;
		snprintf(why, sizeof why, ", late: deadline %.3f s", (double)crit_ms / 1000);
	} else if (warn_ms && res->delivery_us > warn_ms * 1000) {
		rc = NAGIOS_WARNING;
		snprintf(why, sizeof why, ", slower than %.3f s", (double)warn_ms / 1000);
	} else
		rc = NAGIOS_OK;
	if (json) {
		mm_nagios_print_result(result_json(res), rc);
		goto out;
	}
	print_line(rc, to, res, warn_ms, crit_ms, prm.timeout_ms, why);
	if (verbose)
		print_verbose(res);
out:
	mm_probe_env_free(env);
	event_base_free(base);
	return rc;
}

/*
 * mailmon probe: one protocol check from the command line, also a drop-in
 * Nagios/Icinga plugin (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; one
 * status line; performance data after "|").
 *
 * It runs the daemon's probe engine (src/probes) once in its own loop.
 * Credentials come from a file only the user can read, never argv.
 */
#include <event2/dns.h>
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/nagios.h"
#include "core/parse.h"
#include "core/strutil.h"
#include "probes/probe.h"


static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmon probe - check one mail service once (also a Nagios/Icinga plugin)\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmon probe URL [-t SECS] [-w SECS] [-c SECS] [--starttls] [--insecure]\n"
	      "                  [--cafile FILE] [--credentials FILE] [--rcpt ADDR]\n"
	      "                  [--from ADDR] [--helo NAME] [--match TEXT]\n"
	      "                  [--cert-warning DAYS] [--cert-critical DAYS] [--json] [-v]\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    Connects to the service named by URL, speaks its protocol as far as the\n"
	      "    options ask, and prints one status line with performance data:\n"
	      "\n"
	      "        SMTP OK - 127.0.0.1:25 answered in 0.012 s | time=0.012345s;1;5;0;10 ...\n"
	      "\n"
	      "    URL schemes and what is checked:\n"
	      "      smtp:// smtps:// submission:// lmtp://\n"
	      "               greeting 220, EHLO/LHLO, STARTTLS (--starttls; always for\n"
	      "               submission), AUTH PLAIN when credentials are given, MAIL FROM,\n"
	      "               RCPT TO and RSET with --rcpt (nothing is sent), QUIT\n"
	      "      imap:// imaps://\n"
	      "               greeting, CAPABILITY, STARTTLS, LOGIN + SELECT INBOX with\n"
	      "               credentials, LOGOUT\n"
	      "      pop3:// pop3s://\n"
	      "               greeting, CAPA, STLS, USER/PASS + STAT with credentials, QUIT\n"
	      "      http:// https://\n"
	      "               GET PATH: status < 400, and the body contains --match TEXT\n"
	      "      ldap:// ldaps://HOST:PORT/BASE??SCOPE?FILTER\n"
	      "               simple bind (anonymous without credentials), then a search\n"
	      "               that must find at least one entry (BASE itself by default)\n"
	      "      tcp://HOST:PORT\n"
	      "               the connection only\n"
	      "    SCHEME:///PATH (empty host) connects to the unix socket PATH, e.g.\n"
	      "    lmtp:///var/spool/postfix/private/dovecot-lmtp.\n"
	      "    Every TLS probe reports the days left on the server certificate.\n"
	      "    HOST should be numeric (127.0.0.1, [::1]); a name is resolved with the\n"
	      "    system's name servers.\n"
	      "\n"
	      "OPTIONS\n"
	      "    -t, --timeout SECS      whole check (default 10); the Nagios convention\n"
	      "        --connect-timeout SECS  connection alone (default: the -t value)\n"
	      "    -w, --warning SECS      WARNING when slower than this\n"
	      "    -c, --critical SECS     CRITICAL when slower than this\n"
	      "        --starttls          upgrade with STARTTLS/STLS; fail if not offered\n"
	      "        --insecure          do not verify the server certificate\n"
	      "        --cafile FILE       trust only the CAs in FILE\n"
	      "        --credentials FILE  lines \"user = NAME\" and \"password = SECRET\"\n"
	      "                            (LDAP: user is the bind DN); FILE must not be\n"
	      "                            readable by group or others\n"
	      "        --rcpt ADDR         SMTP: try a transaction to ADDR (RSET, no mail)\n"
	      "        --from ADDR         SMTP: envelope sender for it (default <>)\n"
	      "        --helo NAME         EHLO/LHLO name (default mailmon.invalid)\n"
	      "        --match TEXT        HTTP: the body must contain TEXT\n"
	      "        --cert-warning DAYS WARNING when the certificate expires sooner (21)\n"
	      "        --cert-critical DAYS CRITICAL when sooner (7)\n"
	      "        --json              print the full result as JSON instead\n"
	      "    -v, --verbose           print each stage's time on further lines\n"
	      "\n"
	      "    A user and password in the URL (imap://u:p@host) also work, but they\n"
	      "    show in the process list: prefer --credentials.\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 OK; 1 WARNING (slow, certificate expiring); 2 CRITICAL (failed, too\n"
	      "    slow, certificate expired or about to); 3 UNKNOWN (bad usage, could\n"
	      "    not check).\n",
	      out);
}

struct run {
	struct mm_probe_result res;
	bool done;
};

static void on_result(const struct mm_probe_result *res, void *arg)
{
	struct run *r = arg;
	r->res = *res;
	r->done = true;
}

static json_t *result_json(const struct mm_probe_params *prm, const struct mm_probe_result *res)
{
	json_t *stages = json_array();
	for (size_t i = 0; i < res->nstages; i++)
		json_array_append_new(stages, json_pack("{s:s, s:I}", "name", res->stages[i].name,
							"us", (json_int_t)res->stages[i].us));
	json_t *doc = json_pack("{s:s, s:s, s:i, s:b, s:s, s:s, s:s, s:I, s:I, s:o}", "protocol",
				mm_probe_proto_name(prm->proto), "host",
				prm->unix_path[0] ? prm->unix_path : prm->host, "port", prm->port,
				"ok", res->fail == MM_PF_NONE, "failure",
				mm_probe_fail_name(res->fail), "stage", res->stage, "message", res->msg,
				"total_us", (json_int_t)res->total_us, "bytes_read",
				(json_int_t)res->bytes_read, "stages", stages);
	if (res->have_cert)
		json_object_set_new(doc, "cert_days", json_integer(res->cert_days));
	if (res->http_status)
		json_object_set_new(doc, "http_status", json_integer(res->http_status));
	return doc;
}

static int unknown(bool json, const char *msg)
{
	return mm_nagios_unknown(json, "PROBE", "failure", msg);
}

int cmd_probe(struct mm_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"timeout", required_argument, NULL, 't'},
		{"connect-timeout", required_argument, NULL, 'T'},
		{"warning", required_argument, NULL, 'w'},
		{"critical", required_argument, NULL, 'c'},
		{"starttls", no_argument, NULL, 's'},
		{"insecure", no_argument, NULL, 'k'},
		{"cafile", required_argument, NULL, 'A'},
		{"credentials", required_argument, NULL, 'C'},
		{"rcpt", required_argument, NULL, 'r'},
		{"from", required_argument, NULL, 'f'},
		{"helo", required_argument, NULL, 'H'},
		{"match", required_argument, NULL, 'm'},
		{"cert-warning", required_argument, NULL, 'x'},
		{"cert-critical", required_argument, NULL, 'y'},
		{"json", no_argument, NULL, 'j'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct mm_probe_params prm;
	mm_probe_params_init(&prm);
	prm.timeout_ms = 10000;
	int64_t warn_ms = 0, crit_ms = 0, conn_ms = 0, v;
	int64_t cert_warn = 21, cert_crit = 7;
	const char *cred = NULL;
	bool json = false, verbose = false, starttls = false;
	struct mm_err err = {{0}};
	int c;
	while ((c = getopt_long(argc, argv, "t:w:c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 't': if (mm_nagios_secs("probe", "-t", optarg, false, &prm.timeout_ms) < 0) return NAGIOS_UNKNOWN; break;
		case 'T': if (mm_nagios_secs("probe", "--connect-timeout", optarg, false, &conn_ms) < 0) return NAGIOS_UNKNOWN; break;
		case 'w': if (mm_nagios_secs("probe", "-w", optarg, false, &warn_ms) < 0) return NAGIOS_UNKNOWN; break;
		case 'c': if (mm_nagios_secs("probe", "-c", optarg, false, &crit_ms) < 0) return NAGIOS_UNKNOWN; break;
		case 's': starttls = true; break;
		case 'k': prm.insecure = true; break;
		case 'A': mm_strlcpy(prm.ca_file, optarg, sizeof prm.ca_file); break;
		case 'C': cred = optarg; break;
		case 'r': mm_strlcpy(prm.rcpt, optarg, sizeof prm.rcpt); break;
		case 'f': mm_strlcpy(prm.mail_from, optarg, sizeof prm.mail_from); break;
		case 'H': mm_strlcpy(prm.helo, optarg, sizeof prm.helo); break;
		case 'm': mm_strlcpy(prm.match, optarg, sizeof prm.match); break;
		case 'x':
		case 'y':
			if (mm_parse_int(optarg, -100000, 100000, &v, &err) < 0) {
				fprintf(stderr, "mailmon probe: --cert-*: %s\n", err.msg);
				return NAGIOS_UNKNOWN;
			}
			*(c == 'x' ? &cert_warn : &cert_crit) = v;
			break;
		case 'j': json = true; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return NAGIOS_OK;
		default: usage(stderr); return NAGIOS_UNKNOWN;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return NAGIOS_UNKNOWN;
	}
	const char *url = argv[optind];
	prm.connect_timeout_ms = conn_ms ? conn_ms : prm.timeout_ms;
	prm.starttls = starttls;
	if (mm_probe_parse_url(url, &prm, &err) < 0 ||
	    (cred && mm_probe_read_credentials(cred, &prm, &err) < 0) ||
	    (prm.rcpt[0] && mm_parse_mailbox(prm.rcpt, false, &err) < 0))
		return unknown(json, err.msg);
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	struct evdns_base *dns = NULL;
	if (!prm.unix_path[0] && !mm_is_numeric_ip(prm.host) && prm.proto != MM_PROTO_LDAP)
		dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	struct mm_probe_env *env = mm_probe_env_new(base, dns, &err);
	struct run r = {0};
	int rc = NAGIOS_UNKNOWN;
	if (!env || !mm_probe_start(env, &prm, on_result, &r, &err)) {
		unknown(json, err.msg);
		goto out;
	}
	event_base_dispatch(base);
	if (!r.done) {
		unknown(json, "the probe ended without a result");
		goto out;
	}
	const struct mm_probe_result *res = &r.res;
	double secs = (double)res->total_us / 1e6;
	char why[160] = "";
	if (res->fail == MM_PF_INTERNAL)
		rc = NAGIOS_UNKNOWN;
	else if (res->fail != MM_PF_NONE)
		rc = NAGIOS_CRITICAL;
	else if (crit_ms && res->total_us > crit_ms * 1000) {
		rc = NAGIOS_CRITICAL;
		snprintf(why, sizeof why, ", slower than %.3f s", (double)crit_ms / 1000);
	} else if (res->have_cert && res->cert_days < cert_crit) {
		rc = NAGIOS_CRITICAL;
		snprintf(why, sizeof why, ", certificate expires in %d days", res->cert_days);
	} else if (warn_ms && res->total_us > warn_ms * 1000) {
		rc = NAGIOS_WARNING;
		snprintf(why, sizeof why, ", slower than %.3f s", (double)warn_ms / 1000);
	} else if (res->have_cert && res->cert_days < cert_warn) {
		rc = NAGIOS_WARNING;
		snprintf(why, sizeof why, ", certificate expires in %d days", res->cert_days);
	} else
		rc = NAGIOS_OK;
	if (json) {
		mm_nagios_print_result(result_json(&prm, res), rc);
		goto out;
	}
	bool v6 = strchr(prm.host, ':') != NULL;
	if (prm.unix_path[0])
		printf("%s %s - %s ", mm_probe_proto_name(prm.proto), mm_nagios_names[rc], prm.unix_path);
	else
		printf("%s %s - %s%s%s:%d ", mm_probe_proto_name(prm.proto), mm_nagios_names[rc],
		       v6 ? "[" : "", prm.host, v6 ? "]" : "", prm.port);
	if (res->fail == MM_PF_NONE)
		printf("answered in %.3f s%s", secs, why);
	else
		printf("failed (%s) after %.3f s: %s", mm_probe_fail_name(res->fail), secs, res->msg);
	if (res->have_cert && !why[0])
		printf(", certificate valid %d more days", res->cert_days);
	printf(" |");
	mm_nagios_perf_range("time", res->total_us, warn_ms, crit_ms, prm.timeout_ms);
	for (size_t i = 0; i < res->nstages; i++)
		printf(" %s=%.6fs", res->stages[i].name, (double)res->stages[i].us / 1e6);
	if (res->have_cert)
		printf(" cert_days=%d;%lld;%lld", res->cert_days, (long long)cert_warn,
		       (long long)cert_crit);
	putchar('\n');
	if (verbose) {
		for (size_t i = 0; i < res->nstages; i++)
			printf("  %-12s %10.3f ms\n", res->stages[i].name, (double)res->stages[i].us / 1000);
		printf("  %-12s %10llu bytes read\n", "total", (unsigned long long)res->bytes_read);
	}
out:
	mm_probe_env_free(env);
	if (dns)
		evdns_base_free(dns, 0);
	event_base_free(base);
	return rc;
}

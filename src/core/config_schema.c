/*
 * config_schema: mailmond's own rows (daemon, http), the list of every
 * module's table, and the validation of one value against its row (see
 * config_schema.h). The alarm rows live in alarm/alarm_schema.c.
 */
#include "core/config_schema.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"

#define DUR_MAX MM_CONF_DUR_MAX


static const struct mm_conf_section daemon_sections[] = {
	{"daemon", "How mailmond runs: where it keeps its pid, state and counters, how much it logs."},
};

static const struct mm_conf_key daemon_keys[] = {
	{"daemon", "pidfile", MM_CT_PATH, "/run/mailmon/mailmond.pid", 0, 0, NULL, false,
	 "Pid file written by mailmond when it runs in the background."},
	{"daemon", "state_directory", MM_CT_PATH, "/var/lib/mailmon", 0, 0, NULL, false,
	 "Saved state: log positions, alarm states, history."},
	{"daemon", "run_directory", MM_CT_PATH, "/run/mailmon", 0, 0, NULL, false,
	 "Run-time files: the counters file and the control socket."},
	{"daemon", "log_level", MM_CT_ENUM, "info", 0, 0, "debug|info|notice|warning|error", true,
	 "Least severe message mailmond logs."},
	{"daemon", "log_file", MM_CT_PATH, NULL, 0, 0, NULL, false,
	 "Append mailmond's own log lines to this file instead of syslog\n"
	 "(facility daemon) or, with -f, standard error. SIGUSR1 reopens it.\n"
	 "The package rotates /var/log/mailmon/*.log (/etc/logrotate.d/mailmon),\n"
	 "so /var/log/mailmon/mailmond.log is a good choice."},
	{"daemon", "user", MM_CT_STRING, NULL, 0, 0, NULL, false,
	 "Privilege separation: started as root, mailmond drops to this user\n"
	 "once its port is bound and its files are made. Two small helpers\n"
	 "keep root: one runs the services' restart, start and stop commands\n"
	 "and the [disk] lock and unlock commands, the other opens the queue\n"
	 "files read-only; both take what they do from this (root-owned)\n"
	 "file. Unset: one process."},
	{"daemon", "heartbeat", MM_CT_DURATION, "1s", 100, 60000, NULL, false,
	 "Period of the internal clock that drives every periodic check."},
};

const struct mm_conf_table mm_conf_table_daemon = MM_CONF_TABLE("daemon", daemon_sections, daemon_keys);

static const struct mm_conf_section http_sections[] = {
	{"http", "The daemon's HTTP listener: JSON API (/api/...), and later the\n"
		 "Prometheus /metrics and the dashboard. Bind it to loopback unless a\n"
		 "firewall guards it."},
};

static const struct mm_conf_key http_keys[] = {
	{"http", "listen", MM_CT_HOSTPORT, "127.0.0.1:9925", 0, 0, NULL, false,
	 "Numeric address and port to listen on."},
	{"http", "enable", MM_CT_BOOL, "yes", 0, 0, NULL, false,
	 "Whether mailmond listens at all; mailmon status needs it."},
	{"http", "timeout", MM_CT_DURATION, "10s", 1000, 300000, NULL, false,
	 "Deadline for a client to send each complete request (an absolute\n"
	 "limit, not reset by each byte) and read its answer."},
	{"http", "hosts", MM_CT_LIST, "localhost", 0, 0, NULL, false,
	 "Names the API may be reached by. A request whose Host header is\n"
	 "neither an address literal nor one of these is refused (421), so a\n"
	 "web page cannot reach the API through a rebound DNS name."},
	{"http", "auth_file", MM_CT_PATH, NULL, 0, 0, NULL, false,
	 "Credentials every request must carry: a file of mode 600 holding\n"
	 "\"token = SECRET\" (Authorization: Bearer SECRET) or \"user = NAME\" and\n"
	 "\"password = SECRET\" (basic auth). Required when listen is not a\n"
	 "loopback address. mailmon's commands that read the daemon send it."},
	{"http", "tls_cert", MM_CT_PATH, NULL, 0, 0, NULL, false,
	 "PEM certificate (chain) to serve the API over TLS; with tls_key.\n"
	 "Unset: plain HTTP."},
	{"http", "tls_key", MM_CT_PATH, NULL, 0, 0, NULL, false,
	 "PEM private key of tls_cert."},
	{"http", "max_connections", MM_CT_INT, "256", 1, 65536, NULL, false,
	 "Open client connections at most (and at most half the open-files\n"
	 "limit); at the limit a new connection closes the oldest one."},
	{"http", "www_directory", MM_CT_PATH, "/usr/share/mailmon/www", 0, 0, NULL, true,
	 "The dashboard's page files (index.html, dashboard.js, dashboard.css),\n"
	 "served at / with the API's auth. Read at each request."},
	{"http", "chartjs", MM_CT_PATH, "/usr/share/javascript/chart.js/chart.min.js", 0, 0, NULL,
	 true, "Chart.js for the dashboard's charts, from Debian's libjs-chart.js;\n"
	 "served as /chart.min.js, so the page needs no internet access."},
};

const struct mm_conf_table mm_conf_table_http = MM_CONF_TABLE("http", http_sections, http_keys);

/* Every module's rows. The daemon's module table (src/daemon/modules.c)
 * names the same tables per module; this list is for the programs that
 * read config without running modules (mailmon config, the man page). */
const struct mm_conf_table *const mm_conf_tables[] = {
	&mm_conf_table_daemon, &mm_conf_table_http,	&mm_conf_table_mta,
	&mm_conf_table_queue,  &mm_conf_table_logs,	&mm_conf_table_counters,
	&mm_conf_table_alarm,  &mm_conf_table_services, &mm_conf_table_history,
	&mm_conf_table_e2e,    &mm_conf_table_snmp,
	&mm_conf_table_disk,   &mm_conf_table_cpu,
	&mm_conf_table_cluster,
	&mm_conf_table_baseline,
	&mm_conf_table_isolate,
};
const size_t mm_conf_ntables = sizeof mm_conf_tables / sizeof mm_conf_tables[0];

size_t mm_conf_key_count(void)
{
	size_t n = 0;
	for (size_t t = 0; t < mm_conf_ntables; t++)
		n += mm_conf_tables[t]->nkeys;
	return n;
}

const struct mm_conf_key *mm_conf_key_at(size_t i)
{
	for (size_t t = 0; t < mm_conf_ntables; t++) {
		if (i < mm_conf_tables[t]->nkeys)
			return &mm_conf_tables[t]->keys[i];
		i -= mm_conf_tables[t]->nkeys;
	}
	return NULL;
}

size_t mm_conf_section_count(void)
{
	size_t n = 0;
	for (size_t t = 0; t < mm_conf_ntables; t++)
		n += mm_conf_tables[t]->nsections;
	return n;
}

const struct mm_conf_section *mm_conf_section_at(size_t i)
{
	for (size_t t = 0; t < mm_conf_ntables; t++) {
		if (i < mm_conf_tables[t]->nsections)
			return &mm_conf_tables[t]->sections[i];
		i -= mm_conf_tables[t]->nsections;
	}
	return NULL;
}

/* "service.*" matches "service.imap" but not "service" or "service.a.b". */
static int section_matches(const char *pattern, const char *section)
{
	size_t plen = strlen(pattern);
	if (plen >= 2 && strcmp(pattern + plen - 2, ".*") == 0) {
		size_t stem = plen - 1; /* keep the dot */
		if (strncmp(pattern, section, stem) != 0 || section[stem] == '\0')
			return 0;
		/* an instance name is a word: letters, digits, '_' and '-' */
		for (const char *c = section + stem; *c; c++)
			if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
				return 0;
		return 1;
	}
	return strcmp(pattern, section) == 0;
}

const struct mm_conf_section *mm_conf_find_section(const char *section)
{
	for (size_t i = 0; i < mm_conf_section_count(); i++)
		if (section_matches(mm_conf_section_at(i)->name, section))
			return mm_conf_section_at(i);
	return NULL;
}

const struct mm_conf_key *mm_conf_find_key(const char *section, const char *key)
{
	const struct mm_conf_section *sec = mm_conf_find_section(section);
	if (!sec)
		return NULL;
	for (size_t i = 0; i < mm_conf_key_count(); i++) {
		const struct mm_conf_key *k = mm_conf_key_at(i);
		if (strcmp(k->section, sec->name) == 0 && strcmp(k->name, key) == 0)
			return k;
	}
	return NULL;
}

const char *mm_conf_type_name(enum mm_conf_type type)
{
	switch (type) {
	case MM_CT_STRING: return "string";
	case MM_CT_INT: return "integer";
	case MM_CT_BOOL: return "yes/no";
	case MM_CT_DURATION: return "duration";
	case MM_CT_SIZE: return "size";
	case MM_CT_HOST: return "host";
	case MM_CT_HOSTPORT: return "host:port";
	case MM_CT_MAILBOX: return "mail address";
	case MM_CT_ENUM: return "one of";
	case MM_CT_PATH: return "path";
	case MM_CT_LIST: return "list";
	case MM_CT_NUMBER: return "number";
	}
	return "?";
}

static int validate_enum(const struct mm_conf_key *row, const char *value,
			 struct mm_err *err)
{
	const char *p = row->choices;
	size_t vlen = strlen(value);
	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == vlen && strncmp(p, value, len) == 0)
			return 0;
		p = bar ? bar + 1 : NULL;
	}
	return mm_err_set(err, "expected one of %s, got \"%s\"", row->choices, value);
}

static int validate_number(const struct mm_conf_key *row, const char *value,
			   struct mm_err *err)
{
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	if (end == value || *end || errno == ERANGE || !isfinite(v))
		return mm_err_set(err, "expected a number, got \"%s\"", value);
	if (row->min < row->max && (v < (double)row->min || v > (double)row->max))
		return mm_err_set(err, "%s is out of range (%" PRId64 "..%" PRId64 ")", value,
				  row->min, row->max);
	return 0;
}

int mm_conf_validate(const struct mm_conf_key *row, const char *value,
		     struct mm_err *err)
{
	int64_t i;
	uint64_t u;
	bool b;
	char host[256];
	int port;

	switch (row->type) {
	case MM_CT_STRING:
	case MM_CT_LIST:
		return 0;
	case MM_CT_PATH:
		if (value[0] != '/')
			return mm_err_set(err, "expected an absolute path, got \"%s\"", value);
		return 0;
	case MM_CT_INT:
		return mm_parse_int(value, row->min, row->max, &i, err);
	case MM_CT_BOOL:
		return mm_parse_bool(value, &b, err);
	case MM_CT_DURATION:
		if (mm_parse_duration(value, &i, err) < 0)
			return -1;
		if (i < row->min || i > row->max) {
			char lo[32], hi[32];
			mm_format_duration(row->min, lo, sizeof lo);
			mm_format_duration(row->max, hi, sizeof hi);
			return mm_err_set(err, "%s is out of range (%s..%s)", value, lo, hi);
		}
		return 0;
	case MM_CT_SIZE:
		return mm_parse_size(value, &u, err);
	case MM_CT_HOST:
		return mm_parse_host(value, err);
	case MM_CT_HOSTPORT:
		return mm_parse_hostport(value, 0, host, sizeof host, &port, err);
	case MM_CT_MAILBOX:
		return mm_parse_mailbox(value, false, err);
	case MM_CT_ENUM:
		return validate_enum(row, value, err);
	case MM_CT_NUMBER:
		return validate_number(row, value, err);
	}
	return mm_err_set(err, "unknown type");
}

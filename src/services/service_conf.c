/* service_conf: see service_conf.h. */
#include "services/service_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmdline.h"
#include "core/strutil.h"
#include "core/xalloc.h"

#include <openssl/crypto.h>

static char *opt_dup(const struct mm_config *conf, const char *sec, const char *key)
{
	const char *v = mm_config_get(conf, sec, key);
	return v && *v ? xstrdup(v) : NULL;
}

/* Commands are checked at load so a typo shows at `config check` time
 * rather than at 3 a.m. when the restart is needed. */
static int check_command(const char *name, const char *key, const char *line, bool shell,
			 struct mm_err *err)
{
	if (!line || shell)
		return 0;
	struct mm_err e2;
	char **argv = mm_cmdline_split(line, &e2);
	if (!argv)
		return mm_err_set(err, "service.%s.%s: %s", name, key, e2.msg);
	free(argv);
	return 0;
}

static int load(const struct mm_config *conf, const char *name, struct mm_service_conf *sc,
		struct mm_err *err)
{
	char sec[128];
	snprintf(sec, sizeof sec, "service.%s", name);
	memset(sc, 0, sizeof *sc);
	mm_strlcpy(sc->name, name, sizeof sc->name);
	struct mm_err e2;
	const char *url = mm_config_get(conf, sec, "url");
	mm_probe_params_init(&sc->probe);
	if (url && *url) {
		sc->probe.starttls = mm_config_bool(conf, sec, "starttls");
		if (mm_probe_parse_url(url, &sc->probe, &e2) < 0)
			return mm_err_set(err, "service.%s.url: %s", name, e2.msg);
		sc->has_probe = true;
		sc->probe.connect_timeout_ms = mm_config_duration_ms(conf, sec, "connect_timeout");
		sc->probe.timeout_ms = mm_config_duration_ms(conf, sec, "timeout");
		sc->probe.insecure = !mm_config_bool(conf, sec, "tls_verify");
		const char *v;
		if ((v = mm_config_get(conf, sec, "ca_file")))
			mm_strlcpy(sc->probe.ca_file, v, sizeof sc->probe.ca_file);
		if ((v = mm_config_get(conf, sec, "rcpt")))
			mm_strlcpy(sc->probe.rcpt, v, sizeof sc->probe.rcpt);
		if ((v = mm_config_get(conf, sec, "mail_from")))
			mm_strlcpy(sc->probe.mail_from, v, sizeof sc->probe.mail_from);
		if ((v = mm_config_get(conf, sec, "helo")))
			mm_strlcpy(sc->probe.helo, v, sizeof sc->probe.helo);
		if ((v = mm_config_get(conf, sec, "match")))
			mm_strlcpy(sc->probe.match, v, sizeof sc->probe.match);
		if ((v = mm_config_get(conf, sec, "credentials_file")) &&
		    mm_probe_read_credentials(v, &sc->probe, &e2) < 0)
			return mm_err_set(err, "service.%s.credentials_file: %s", name, e2.msg);
	}
	const char *pidfile = mm_config_get(conf, sec, "pidfile");
	const char *pname = mm_config_get(conf, sec, "process_name");
	const char *pre = mm_config_get(conf, sec, "process_cmdline");
	if ((pidfile && *pidfile) || (pname && *pname) || (pre && *pre)) {
		if (mm_proc_match_init(&sc->procs, pidfile, pname, pre, &e2) < 0)
			return mm_err_set(err, "service.%s: %s", name, e2.msg);
		mm_proc_match_parent(&sc->procs, mm_config_get(conf, sec, "parent_pidfile"));
		sc->has_procs = true;
	}
	if (!sc->has_probe && !sc->has_procs)
		return mm_err_set(err, "service.%s: set url, pidfile or process_name", name);
	sc->proc_min = (int)mm_config_int(conf, sec, "process_min");
	sc->proc_max = (int)mm_config_int(conf, sec, "process_max");
	sc->shell = mm_config_bool(conf, sec, "shell");
	sc->restart = opt_dup(conf, sec, "restart");
	sc->start = opt_dup(conf, sec, "start");
	sc->stop = opt_dup(conf, sec, "stop");
	sc->group = opt_dup(conf, sec, "restart_group");
	if (check_command(name, "restart", sc->restart, sc->shell, err) < 0 ||
	    check_command(name, "start", sc->start, sc->shell, err) < 0 ||
	    check_command(name, "stop", sc->stop, sc->shell, err) < 0) {
		mm_service_conf_free(sc);
		return -1;
	}
	sc->interval_ms = mm_config_duration_ms(conf, sec, "interval");
	sc->warning_ms = mm_config_duration_ms(conf, sec, "warning");
	sc->command_timeout_ms = mm_config_duration_ms(conf, sec, "command_timeout");
	sc->verify_delay_ms = mm_config_duration_ms(conf, sec, "verify_delay");
	sc->cert_warning_days = (int)mm_config_int(conf, sec, "cert_warning_days");
	sc->watch.failures = (int)mm_config_int(conf, sec, "failures");
	sc->watch.cycles = (int)mm_config_int(conf, sec, "cycles");
	sc->watch.flap_limit = (int)mm_config_int(conf, sec, "flap_limit");
	sc->watch.flap_window_ms = mm_config_duration_ms(conf, sec, "flap_window");
	sc->autorestart = mm_config_bool(conf, sec, "autorestart");
	sc->credentials_file = opt_dup(conf, sec, "credentials_file");
	sc->watch.can_restart = mm_config_bool(conf, sec, "autorestart") &&
				(sc->restart || sc->start);
	return 0;
}

/* A failure part-way leaves nothing allocated (a compiled regex, command
 * strings), so callers that skip a bad section leak nothing. */
int mm_service_conf_load(const struct mm_config *conf, const char *name,
			 struct mm_service_conf *sc, struct mm_err *err)
{
	int rc = load(conf, name, sc, err);
	if (rc < 0)
		mm_service_conf_free(sc);
	return rc;
}

void mm_service_conf_free(struct mm_service_conf *sc)
{
	if (sc->has_procs)
		mm_proc_match_free(&sc->procs);
	free(sc->credentials_file);
	free(sc->restart);
	free(sc->start);
	free(sc->stop);
	free(sc->group);
	OPENSSL_cleanse(sc->probe.pass, sizeof sc->probe.pass);
	sc->restart = sc->start = sc->stop = sc->group = sc->credentials_file = NULL;
	sc->has_procs = false;
}

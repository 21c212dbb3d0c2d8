/*
 * mailmond: the mailmon daemon. Parses options, loads the config, becomes
 * a daemon unless -f, writes the pid file, and runs the loop (daemon.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alarm/alarm_def.h"
#include "core/pidfile.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/privsep.h"
#include "probes/e2e_conf.h"
#include "services/service_check.h"

#define DEFAULT_CONFIG "/etc/mailmon/mailmon.conf"

static void usage(FILE *out)
{
	fputs("NAME\n"
	      "    mailmond - mailmon monitoring daemon for mail servers\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    mailmond [-f] [-c FILE] [--pidfile FILE] [--check]\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    mailmond watches a mail node: its logs, queues, services, disks and\n"
	      "    processes. It keeps per-channel counters, raises alarms and serves\n"
	      "    a JSON API (see [http] in the config). One mailmond runs per node.\n"
	      "\n"
	      "OPTIONS\n"
	      "    -c, --config FILE  configuration file (default " DEFAULT_CONFIG ";\n"
	      "                       when that is missing, built-in defaults)\n"
	      "    -f, --foreground   stay in the foreground and log to stderr;\n"
	      "                       use this under systemd (Type=notify)\n"
	      "    -p, --pidfile FILE write the pid here (default: [daemon] pidfile\n"
	      "                       when in the background, none in the foreground)\n"
	      "    -t, --check        check the config and exit (0 valid, 1 not)\n"
	      "    -h, --help         this text\n"
	      "    -V, --version      print the version\n"
	      "\n"
	      "SIGNALS\n"
	      "    SIGTERM, SIGINT  stop cleanly\n"
	      "    SIGHUP           reload the config; on any error the daemon logs\n"
	      "                     each problem (file, line, key) and keeps running\n"
	      "                     on its last good config\n"
	      "    SIGUSR1          reopen [daemon] log_file (after logrotate)\n"
	      "\n"
	      "LOGGING\n"
	      "    One line per event, detail as key=value: to syslog (facility\n"
	      "    daemon) in the background, to standard error with -f (with\n"
	      "    <priority> prefixes when that is the systemd journal), or to\n"
	      "    [daemon] log_file when set.\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0 after a clean stop, 1 on a startup error, 2 on bad usage.\n"
	      "\n"
	      "SEE ALSO\n"
	      "    mailmon(1), the commented default config etc/mailmon.conf\n",
	      out);
}

/* Detaches from the terminal: fork, setsid, fork, stdio to /dev/null. */
static int daemonize(struct mm_err *err)
{
	pid_t pid = fork();
	if (pid < 0)
		return mm_err_sys(err, errno, "fork");
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return mm_err_sys(err, errno, "setsid");
	pid = fork();
	if (pid < 0)
		return mm_err_sys(err, errno, "fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		return mm_err_sys(err, errno, "chdir /");
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

static struct mm_config *load_config(const char *path, bool explicit_path, char **used)
{
	*used = NULL;
	if (!explicit_path && access(path, F_OK) != 0) {
		fprintf(stderr, "mailmond: %s not found; running on built-in defaults\n", path);
		return mm_config_defaults();
	}
	struct mm_diags diags = {0};
	struct mm_config *conf = mm_config_load(path, &diags);
	for (size_t i = 0; i < diags.n; i++)
		fprintf(stderr, "mailmond: %s\n", diags.msgs[i]);
	mm_diags_free(&diags);
	if (conf)
		*used = xstrdup(path);
	return conf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"foreground", no_argument, NULL, 'f'},
		{"pidfile", required_argument, NULL, 'p'},
		{"check", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config = DEFAULT_CONFIG, *pidfile = NULL;
	bool explicit_config = false, check = false;
	struct mm_daemon d;
	memset(&d, 0, sizeof d);
	int c;
	while ((c = getopt_long(argc, argv, "c:fp:thV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; explicit_config = true; break;
		case 'f': d.foreground = true; break;
		case 'p': pidfile = optarg; break;
		case 't': check = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("mailmond %s\n", MAILMON_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mailmond: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}

	/* Absolute: the daemon chdirs to / and reloads by this path. */
	char *abs_config = NULL;
	if (config[0] != '/') {
		char cwd[4096];
		if (!getcwd(cwd, sizeof cwd)) {
			fprintf(stderr, "mailmond: cannot make %s absolute: %s\n", config,
				strerror(errno));
			return 1;
		}
		abs_config = xasprintf("%s/%s", cwd, config);
		config = abs_config;
	}
	d.conf = load_config(config, explicit_config, &d.conf_path);
	free(abs_config);
	if (!d.conf)
		return 1;
	if (check) {
		struct mm_diags diags = {0};
		size_t bad = mm_services_check(d.conf, &diags);
		bad += mm_e2e_check(d.conf, &diags);
		bad += mm_alarm_defs_check(d.conf, &diags);
		for (size_t i = 0; i < diags.n; i++)
			fprintf(stderr, "mailmond: %s\n", diags.msgs[i]);
		mm_diags_free(&diags);
		if (bad) {
			mm_daemon_free(&d);
			return 1;
		}
		printf("%s: OK\n", d.conf_path ? d.conf_path : "defaults");
		mm_daemon_free(&d);
		return 0;
	}

	struct mm_err err;
	if (!pidfile && !d.foreground)
		pidfile = mm_config_get(d.conf, "daemon", "pidfile");
	/* The log file opens before detaching, so a bad path is said here. */
	const char *log_file = mm_config_get(d.conf, "daemon", "log_file");
	if (log_file && mm_log_open_file(&d.log, log_file, &err) < 0) {
		fprintf(stderr, "mailmond: %s\n", err.msg);
		mm_daemon_free(&d);
		return 1;
	}
	if (!d.foreground && daemonize(&err) < 0) {
		fprintf(stderr, "mailmond: %s\n", err.msg);
		return 1;
	}
	mm_log_open(&d.log, "mailmond", !d.foreground);
	if (pidfile) {
		if (mm_pidfile_write(pidfile, &err) < 0) {
			mm_log_err(&d.log, "%s", err.msg);
			mm_daemon_free(&d);
			return 1;
		}
		d.pidfile = xstrdup(pidfile);
	}
	int rc = 1;
	if (mm_privsep_start(&d, &err) < 0 || mm_daemon_init(&d, &err) < 0 ||
	    mm_privsep_drop(&d, &err) < 0)
		mm_log_err(&d.log, "cannot start: %s", err.msg);
	else
		rc = mm_daemon_run(&d);
	if (d.pidfile)
		mm_pidfile_remove(d.pidfile);
	mm_daemon_free(&d);
	mm_log_close(&d.log);
	return rc;
}

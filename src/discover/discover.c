/*
 * discover: the top of `mailmon init`'s discovery (see discover.h): runs
 * the parts in order, then plans what depends on all of them (the disk
 * alarm's partitions, the built-in alarms).
 */
#include "discover/discover.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/config_schema.h"
#include "core/strutil.h"

bool mm_disc_program(struct mm_disc *d, const char *name, char *path, size_t cap)
{
	static const char *const dirs[] = {"/usr/sbin", "/usr/bin", "/sbin", "/bin"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, cap, "%s/%s", dirs[i], name);
		if (d->host->exists(d->host->ctx, path))
			return true;
	}
	path[0] = '\0';
	return false;
}

bool mm_disc_unit(struct mm_disc *d, const char *unit)
{
	static const char *const dirs[] = {"/etc/systemd/system", "/lib/systemd/system",
					   "/usr/lib/systemd/system"};
	/* "postfix@-.service" is an instance of the template postfix@.service */
	char file[256];
	const char *at = strchr(unit, '@'), *dot = strrchr(unit, '.');
	if (at && dot && dot > at)
		snprintf(file, sizeof file, "%.*s%s", (int)(at - unit + 1), unit, dot);
	else
		mm_strlcpy(file, unit, sizeof file);
	char path[512];
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dirs[i], file);
		if (d->host->exists(d->host->ctx, path))
			return true;
	}
	return false;
}

static bool numeric(const char *s, bool *v6)
{
	unsigned char buf[16];
	*v6 = false;
	if (inet_pton(AF_INET, s, buf) == 1)
		return true;
	*v6 = inet_pton(AF_INET6, s, buf) == 1;
	return *v6;
}

bool mm_disc_probe_addr(const char *listen, bool ipv6_only, char *host, size_t cap,
			char *why, size_t wcap)
{
	const char *loop = ipv6_only ? "[::1]" : "127.0.0.1";
	char first[128] = "";
	const char *p = listen ? listen : "";
	/* the first word of a comma/blank separated list */
	while (*p == ' ' || *p == ',' || *p == '\t')
		p++;
	size_t n = strcspn(p, " ,\t");
	if (n >= sizeof first)
		n = sizeof first - 1;
	memcpy(first, p, n);
	first[n] = '\0';
	if (!*first || strcmp(first, "all") == 0 || strcmp(first, "*") == 0 ||
	    strcmp(first, "::") == 0 || strcmp(first, "0.0.0.0") == 0 ||
	    strcmp(first, "[::]") == 0) {
		snprintf(why, wcap, "listens on every address; probed on loopback");
		mm_strlcpy(host, loop, cap);
		return true;
	}
	if (strcmp(first, "loopback-only") == 0) {
		snprintf(why, wcap, "listens on loopback only");
		mm_strlcpy(host, loop, cap);
		return true;
	}
	char bare[128];
	mm_strlcpy(bare, first, sizeof bare);
	size_t bl = strlen(bare);
	if (bl >= 2 && bare[0] == '[' && bare[bl - 1] == ']') {
		memmove(bare, bare + 1, bl - 2);
		bare[bl - 2] = '\0';
	}
	bool v6;
	if (numeric(bare, &v6)) {
		snprintf(why, wcap, "the first address it listens on");
		snprintf(host, cap, v6 ? "[%s]" : "%s", bare);
		return true;
	}
	snprintf(why, wcap, "it listens on \"%s\", a name; mailmon never resolves names, "
		 "so give the numeric address", first);
	return false;
}

void mm_disc_commands(struct mm_disc *d, const char *section, const char *unit,
		      const char *native_start, const char *group)
{
	char cmd[512], why[512];
	if (group)
		mm_plan_set(d->plan, section, "restart_group", group,
			    "Services of one server restart together.");
	if (unit && d->systemd && mm_disc_unit(d, unit)) {
		snprintf(cmd, sizeof cmd, "systemctl restart %s", unit);
		snprintf(why, sizeof why, "systemd runs this machine and %s is installed.", unit);
		mm_plan_set(d->plan, section, "restart", cmd, why);
		return;
	}
	if (native_start) {
		snprintf(why, sizeof why,
			 "%s; the server's own start command, run when its processes are gone.",
			 d->systemd ? "no systemd unit was found" : "systemd does not run this machine");
		mm_plan_set(d->plan, section, "start", native_start, why);
		return;
	}
	snprintf(why, sizeof why, "Not determined: %s; failures are reported, nothing is run.",
		 d->systemd ? "no systemd unit was found" : "systemd does not run this machine");
	mm_plan_off(d->plan, section, "restart", unit ? unit : "", why);
}

void mm_disc_fmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

void mm_disc_log(struct mm_disc *d, const char *path, const char *why)
{
	for (size_t i = 0; i < d->logs.n; i++)
		if (strcmp(d->logs.v[i].name, path) == 0)
			return;
	mm_kvlist_add(&d->logs, path, why);
}

/* The built-in alarms, planned with their schema defaults so a postmaster
 * sees them set; and the partitions the disk alarm is about. */
static void plan_alarms(struct mm_disc *d)
{
	/* Every fixed [alarm.NAME] section of the schema is a built-in alarm. */
	for (size_t i = 0; i < mm_conf_section_count(); i++) {
		const char *name = mm_conf_section_at(i)->name;
		if (strncmp(name, "alarm.", 6) != 0 || strchr(name, '*'))
			continue;
		const struct mm_conf_key *en = mm_conf_find_key(name, "enable");
		const struct mm_conf_key *thr = mm_conf_find_key(name, "threshold");
		if (en && en->def)
			mm_plan_set(d->plan, name, "enable", en->def, "A built-in alarm, with its default.");
		if (thr && thr->def)
			mm_plan_set(d->plan, name, "threshold", thr->def,
				    "The built-in default threshold.");
	}
	for (size_t i = 0; i < d->disks.n; i++)
		mm_plan_comment(d->plan, "alarm.diskavail", "mail partition: %s (%s)",
				d->disks.v[i].name, d->disks.v[i].value);
	mm_plan_off(d->plan, "alarm", "noticercpt", "postmaster@localhost",
		    "Not determined: who receives alarm mail. Set a mailbox that is read.");
}

int mm_discover(const struct mm_host *host, struct mm_plan *plan)
{
	struct mm_disc d;
	memset(&d, 0, sizeof d);
	d.host = host;
	d.plan = plan;
	d.systemd = host->exists(host->ctx, "/run/systemd/system");
	mm_plan_note(plan, "init system: %s", d.systemd ? "systemd (/run/systemd/system exists)"
						       : "not systemd (no /run/systemd/system)");
	mm_discover_postfix(&d);
	mm_discover_dovecot(&d);
	mm_discover_slapd(&d);
	mm_discover_logs(&d);
	plan_alarms(&d);
	int found = d.found;
	mm_kvlist_free(&d.logs);
	mm_kvlist_free(&d.syslog_idents);
	mm_kvlist_free(&d.disks);
	return found;
}

/*
 * discover: `mailmon init`'s reading of the mail system's own
 * configuration into a config plan (plan.h).
 *
 *   mm_discover(host, plan)  reads Postfix (every postmulti instance:
 *       postconf, master.cf), Dovecot (doveconf -n), slapd
 *       (/etc/default/slapd), the syslog rules for the mail facility or
 *       the journal, and the systemd units, and plans [mta], [queue],
 *       [log], the built-in alarms and one [service.NAME] per listener
 *       found. Returns how many mail components were found (0: none).
 *
 * Every value planned carries the reason it was chosen; a value that
 * could not be determined is planned commented out with the reason.
 * Findings for `--dry-run` go to plan->notes. Nothing is fatal: a
 * command that fails or a file that does not parse becomes a note.
 *
 * The parts live in discover_postfix.c, discover_dovecot.c,
 * discover_slapd.c and discover_logs.c; they share struct mm_disc.
 */
#ifndef MAILMON_DISCOVER_DISCOVER_H
#define MAILMON_DISCOVER_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/kvlist.h"
#include "discover/host.h"
#include "discover/plan.h"

struct mm_disc {
	const struct mm_host *host;
	struct mm_plan *plan;
	bool systemd;			/* systemd runs the machine (/run/systemd/system) */
	struct mm_kvlist logs;		/* log file -> why */
	struct mm_kvlist syslog_idents; /* programs that log through syslog -> who */
	struct mm_kvlist disks;		/* mail partition path -> why */
	int found;
};

int mm_discover(const struct mm_host *host, struct mm_plan *plan);

void mm_discover_postfix(struct mm_disc *d);
void mm_discover_dovecot(struct mm_disc *d);
void mm_discover_slapd(struct mm_disc *d);
void mm_discover_logs(struct mm_disc *d);

/* Helpers shared by the parts (discover.c). */
/* Absolute path of program name in /usr/sbin, /usr/bin, /sbin, /bin. */
bool mm_disc_program(struct mm_disc *d, const char *name, char *path, size_t cap);
/* Whether a systemd unit file of that name is installed. */
bool mm_disc_unit(struct mm_disc *d, const char *unit);
/* The numeric address to probe a server that listens on "listen" (a
 * Postfix inet_interfaces or Dovecot listen value); false with *why
 * when it names no address mailmon may use without DNS. */
bool mm_disc_probe_addr(const char *listen, bool ipv6_only, char *host, size_t cap,
			char *why, size_t wcap);
/* Plans the watcher's commands of a service: systemctl restart UNIT when
 * systemd runs and the unit exists, else start = native (when given),
 * else restart commented out with the reason. */
void mm_disc_commands(struct mm_disc *d, const char *section, const char *unit,
		      const char *native_start, const char *group);
/* snprintf that cuts silently: names and reasons are cut at their
 * buffers on purpose (vsnprintf keeps -Wformat-truncation quiet). */
void mm_disc_fmt(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds a log file, once. */
void mm_disc_log(struct mm_disc *d, const char *path, const char *why);

#endif

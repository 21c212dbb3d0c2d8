/*
 * config_schema: the one table that describes every configuration key.
 *
 * Each row names a section, a key, its type, default, bounds and whether a
 * SIGHUP may change it. Parsing, `mailmon config get/set/check`, the
 * commented default config (`mailmon config defaults`, kept in
 * etc/mailmon.conf) and reload checks are all driven from it, so a key
 * cannot be documented and parsed differently.
 *
 * Sections ending in ".*" are templates for named instances: the row
 * {"service.*", "interval"} covers [service.imap], [service.smtp], ...
 *
 * Each module keeps its rows beside its code in one struct mm_conf_table
 * (src/mta/queue_schema.c, src/services/service_schema.c, ...), and
 * mm_conf_tables[] lists them all; walk every row with mm_conf_key_count()
 * and mm_conf_key_at(). A new module adds its table there and a row in
 * the daemon's module table (src/daemon/modules.c).
 */
#ifndef MAILMON_CORE_CONFIG_SCHEMA_H
#define MAILMON_CORE_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum mm_conf_type {
	MM_CT_STRING,
	MM_CT_INT,
	MM_CT_BOOL,
	MM_CT_DURATION,
	MM_CT_SIZE,
	MM_CT_HOST,     /* IP address or host name */
	MM_CT_HOSTPORT,
	MM_CT_MAILBOX,
	MM_CT_ENUM,
	MM_CT_PATH,
	MM_CT_LIST, /* comma-separated strings */
	MM_CT_NUMBER, /* a finite decimal number; min..max when min < max */
};

struct mm_conf_section {
	const char *name; /* "alarm.diskavail" or template "service.*" */
	const char *help; /* one paragraph, for the default config */
};

struct mm_conf_key {
	const char *section;
	const char *name;
	enum mm_conf_type type;
	const char *def;     /* default, as it would be written; NULL = unset */
	int64_t min, max;    /* MM_CT_INT, MM_CT_DURATION (ms) */
	const char *choices; /* MM_CT_ENUM: "a|b|c" */
	bool reloadable;     /* may SIGHUP change it without a restart? */
	const char *help;
};

#define MM_CONF_DUR_MAX ((int64_t)366 * 86400 * 1000)

/* One module's sections and rows. */
struct mm_conf_table {
	const char *module;
	const struct mm_conf_section *sections;
	size_t nsections;
	const struct mm_conf_key *keys;
	size_t nkeys;
};
#define MM_CONF_TABLE(mod, secs, rows)                                                         \
	{mod, secs, sizeof secs / sizeof secs[0], rows, sizeof rows / sizeof rows[0]}

extern const struct mm_conf_table mm_conf_table_daemon, mm_conf_table_http, mm_conf_table_mta,
	mm_conf_table_queue, mm_conf_table_logs, mm_conf_table_counters, mm_conf_table_alarm,
	mm_conf_table_services, mm_conf_table_history, mm_conf_table_e2e, mm_conf_table_snmp,
	mm_conf_table_disk, mm_conf_table_cpu,
	mm_conf_table_cluster;
extern const struct mm_conf_table mm_conf_table_baseline;
extern const struct mm_conf_table mm_conf_table_isolate;
extern const struct mm_conf_table *const mm_conf_tables[];
extern const size_t mm_conf_ntables;

/* Every row and section of every table, in table order. */
size_t mm_conf_key_count(void);
const struct mm_conf_key *mm_conf_key_at(size_t i);
size_t mm_conf_section_count(void);
const struct mm_conf_section *mm_conf_section_at(size_t i);

/* The schema section that a concrete section name falls under, or NULL. */
const struct mm_conf_section *mm_conf_find_section(const char *section);
/* The row for key in concrete section, or NULL. */
const struct mm_conf_key *mm_conf_find_key(const char *section, const char *key);
/* Checks value against row's type and bounds; the message says what was
 * expected but not where (the caller adds file, line and key). */
int mm_conf_validate(const struct mm_conf_key *row, const char *value,
		     struct mm_err *err);
/* Human name of a type, for help and errors ("duration", "host:port"). */
const char *mm_conf_type_name(enum mm_conf_type type);

#endif

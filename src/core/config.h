/*
 * config: a parsed, validated mailmon configuration.
 *
 * mm_config_load() reads an INI file with libinih and checks every section
 * and key against the schema (config_schema.h). Every problem found is one
 * diagnostic "FILE:LINE: [section] key: what is wrong; what was expected",
 * with a "did you mean" when a known name is close. A config with any
 * diagnostic is not returned: callers keep their last good one (SIGHUP).
 *
 * Values are looked up by section and key; a key absent from the file has
 * its schema default. The typed getters never fail on a loaded config
 * because every value was validated at load.
 *
 * Ownership: struct mm_config and struct mm_diags own all their strings;
 * free with mm_config_free() and mm_diags_free().
 */
#ifndef MAILMON_CORE_CONFIG_H
#define MAILMON_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config_schema.h"

struct mm_diags {
	char **msgs;
	size_t n, cap;
};

struct mm_conf_entry {
	char *section;
	char *key;
	char *value;
	int line;
	const struct mm_conf_key *row;
};

struct mm_config {
	char *path;
	struct mm_conf_entry *entries;
	size_t n, cap;
	char **sections; /* concrete section names, in file order */
	size_t nsections, seccap;
};

/* Parses path. Returns the config, or NULL with at least one diagnostic
 * in diags (which the caller initialises to zero). */
struct mm_config *mm_config_load(const char *path, struct mm_diags *diags);
/* Whether the open file fd (named path in errors) may configure a
 * program that runs commands as root: a regular file, not writable by
 * group or others, owned by root or by this process's user. Returns -1
 * with err naming the file and its mode otherwise. mm_config_load applies
 * it; so must every loader of a file the config names as code to run. */
int mm_config_file_trusted(int fd, const char *path, struct mm_err *err);
/* Same, from a string; name is used in diagnostics. */
struct mm_config *mm_config_load_string(const char *text, const char *name,
					struct mm_diags *diags);
/* A config with every key at its default (no file). */
struct mm_config *mm_config_defaults(void);
void mm_config_free(struct mm_config *conf);

void mm_diags_add(struct mm_diags *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mm_diags_free(struct mm_diags *d);

/* The entry set in the file, or NULL when the key has its default. */
const struct mm_conf_entry *mm_config_entry(const struct mm_config *conf,
					    const char *section, const char *key);
/* Value as text: the file's, else the default, else NULL. */
const char *mm_config_get(const struct mm_config *conf, const char *section,
			  const char *key);
int64_t mm_config_int(const struct mm_config *conf, const char *section,
		      const char *key);
int64_t mm_config_duration_ms(const struct mm_config *conf, const char *section,
			      const char *key);
uint64_t mm_config_size(const struct mm_config *conf, const char *section,
			const char *key);
bool mm_config_bool(const struct mm_config *conf, const char *section,
		    const char *key);

/* A list key split at commas, items trimmed, empty ones dropped: a
 * NULL-terminated array the caller frees with mm_config_list_free. */
char **mm_config_list(const struct mm_config *conf, const char *section, const char *key);
void mm_config_list_free(char **list);

/* Splits "alarm.diskavail.threshold" into section and key (at the last
 * dot). Returns -1 when there is no dot or a part is empty. */
int mm_config_split_name(const char *name, char *section, size_t seccap,
			 char *key, size_t keycap);

/* Calls fn for each concrete section under template prefix ("service"
 * yields [service.imap] as "imap"), in file order. */
void mm_config_each_instance(const struct mm_config *conf, const char *prefix,
			     void (*fn)(const char *name, void *arg), void *arg);
/* The same names as an array (*n of them, file order) of pointers into
 * conf, valid while conf lives; the caller frees the array only. */
const char **mm_config_instances(const struct mm_config *conf, const char *prefix, size_t *n);

#endif

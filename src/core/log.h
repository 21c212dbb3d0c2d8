/*
 * log: the daemon's log sink, stderr in the foreground or syslog.
 *
 * Only program edges log (mailmond's loop, the CLI); library code returns
 * errors instead. The logger is a value owned by the caller (the daemon
 * keeps one in its context), not a global.
 */
#ifndef MAILMON_CORE_LOG_H
#define MAILMON_CORE_LOG_H

#include <stdbool.h>
#include <syslog.h>

struct mm_log {
	bool use_syslog;
	int min_level; /* a syslog priority: LOG_DEBUG .. LOG_ERR */
	const char *ident;
};

void mm_log_open(struct mm_log *log, const char *ident, bool use_syslog);
void mm_log_close(struct mm_log *log);
/* Level from "debug|info|notice|warning|error"; -1 when unknown. */
int mm_log_level_from_name(const char *name);
/* "debug" .. "error": the name of a level, as the config writes it. */
const char *mm_log_level_name(int level);
void mm_log(const struct mm_log *log, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define mm_log_err(l, ...) mm_log((l), LOG_ERR, __VA_ARGS__)
#define mm_log_warn(l, ...) mm_log((l), LOG_WARNING, __VA_ARGS__)
#define mm_log_notice(l, ...) mm_log((l), LOG_NOTICE, __VA_ARGS__)
#define mm_log_info(l, ...) mm_log((l), LOG_INFO, __VA_ARGS__)
#define mm_log_debug(l, ...) mm_log((l), LOG_DEBUG, __VA_ARGS__)

#endif

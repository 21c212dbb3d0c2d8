/*
 * log: the daemon's log sink, after the syslog conventions.
 *
 * Sinks: syslog (facility daemon, ident[pid]) when mailmond runs in the
 * background; standard error with -f, where each line starts with a
 * "<N>" priority prefix when stderr is the systemd journal (JOURNAL_STREAM)
 * and with "TIME ident[pid]: level: " otherwise; or a file of its own
 * ([daemon] log_file), written the same way, which mm_log_reopen() opens
 * again after rotation (SIGUSR1).
 *
 * Every event is one line: control characters in a message (a newline in
 * a command's stderr, say) become blanks, and a line is written with one
 * write(2), so concurrent writers never interleave within a line. Detail
 * goes as key=value after the event text; mm_log_event() quotes values
 * that need it ("a b" -> "a b" in double quotes, with \" and \\).
 *
 * Only program edges log (mailmond's loop, the CLI); library code returns
 * errors instead. The logger is a value owned by the caller (the daemon
 * keeps one in its context), not a global; mm_log_close() frees what it
 * holds.
 */
#ifndef MAILMON_CORE_LOG_H
#define MAILMON_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#include "core/err.h"

#define MM_LOG_LINE_MAX 2048

enum mm_log_sink { MM_LOG_STDERR, MM_LOG_JOURNAL, MM_LOG_SYSLOG, MM_LOG_FILE };

struct mm_log {
	enum mm_log_sink sink;
	int min_level; /* a syslog priority: LOG_DEBUG .. LOG_ERR */
	const char *ident;
	int fd;	       /* MM_LOG_FILE: the open file */
	char *path;    /* MM_LOG_FILE: its name, for reopening */
};

/* Background (use_syslog) or foreground; keeps a file sink already set
 * by mm_log_open_file(). */
void mm_log_open(struct mm_log *log, const char *ident, bool use_syslog);
/* Appends to path (created 0640) from now on; -1 with err. */
int mm_log_open_file(struct mm_log *log, const char *path, struct mm_err *err);
/* Opens the file sink's path again (after logrotate moved it). 0, also
 * for other sinks; -1 with err, the old file then stays in use. */
int mm_log_reopen(struct mm_log *log, struct mm_err *err);
void mm_log_close(struct mm_log *log);
/* Level from "debug|info|notice|warning|error"; -1 when unknown. */
int mm_log_level_from_name(const char *name);
/* "debug" .. "error": the name of a level, as the config writes it. */
const char *mm_log_level_name(int level);
void mm_log(const struct mm_log *log, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Logs "EVENT key=value ..." from NULL-terminated key, value pairs
 * (a NULL value is written as key=-). */
void mm_log_event(const struct mm_log *log, int level, const char *event, ...)
	__attribute__((sentinel));
/* Appends " key=value" to buf (of cap bytes, NUL-terminated), quoting the
 * value when it is empty or holds blanks, quotes, '=' or backslashes. */
void mm_log_kv(char *buf, size_t cap, const char *key, const char *value);
/* The one-line form of msg in place: control characters become blanks. */
void mm_log_one_line(char *msg);

#define mm_log_err(l, ...) mm_log((l), LOG_ERR, __VA_ARGS__)
#define mm_log_warn(l, ...) mm_log((l), LOG_WARNING, __VA_ARGS__)
#define mm_log_notice(l, ...) mm_log((l), LOG_NOTICE, __VA_ARGS__)
#define mm_log_info(l, ...) mm_log((l), LOG_INFO, __VA_ARGS__)
#define mm_log_debug(l, ...) mm_log((l), LOG_DEBUG, __VA_ARGS__)

#endif

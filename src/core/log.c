/* log: see log.h. Foreground lines carry a timestamp and level so that a
 * postmaster reading a terminal or a journal gets the same facts. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void mm_log_open(struct mm_log *log, const char *ident, bool use_syslog)
{
	log->ident = ident;
	log->use_syslog = use_syslog;
	log->min_level = LOG_INFO;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void mm_log_close(struct mm_log *log)
{
	if (log->use_syslog)
		closelog();
}

int mm_log_level_from_name(const char *name)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {{"debug", LOG_DEBUG},	{"info", LOG_INFO},
		      {"notice", LOG_NOTICE},	{"warning", LOG_WARNING},
		      {"error", LOG_ERR}};
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
		if (strcmp(name, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

const char *mm_log_level_name(int level)
{
	switch (level) {
	case LOG_DEBUG: return "debug";
	case LOG_INFO: return "info";
	case LOG_NOTICE: return "notice";
	case LOG_WARNING: return "warning";
	default: return "error";
	}
}

void mm_log(const struct mm_log *log, int level, const char *fmt, ...)
{
	if (level > log->min_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (log->use_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s %s[%s]: ", stamp, log->ident ? log->ident : "mailmon",
			mm_log_level_name(level));
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

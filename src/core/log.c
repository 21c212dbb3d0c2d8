/* log: see log.h. Each line is formatted whole into a buffer, made one
 * line, and written with one call, whatever the sink. */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/xalloc.h"

/* Is stderr the systemd journal? JOURNAL_STREAM is "DEV:INODE" of it. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void mm_log_open(struct mm_log *log, const char *ident, bool use_syslog)
{
	log->ident = ident;
	log->min_level = LOG_INFO;
	if (log->sink == MM_LOG_FILE)
		return;
	if (use_syslog) {
		log->sink = MM_LOG_SYSLOG;
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	} else {
		log->sink = stderr_is_journal() ? MM_LOG_JOURNAL : MM_LOG_STDERR;
	}
}

static int open_file(const char *path, struct mm_err *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return mm_err_sys(err, errno, "log file %s", path);
	return fd;
}

int mm_log_open_file(struct mm_log *log, const char *path, struct mm_err *err)
{
	int fd = open_file(path, err);
	if (fd < 0)
		return -1;
	if (log->sink == MM_LOG_FILE)
		close(log->fd);
	free(log->path);
	log->path = xstrdup(path);
	log->fd = fd;
	log->sink = MM_LOG_FILE;
	return 0;
}

int mm_log_reopen(struct mm_log *log, struct mm_err *err)
{
	if (log->sink != MM_LOG_FILE)
		return 0;
	int fd = open_file(log->path, err);
	if (fd < 0)
		return -1;
	close(log->fd);
	log->fd = fd;
	return 0;
}

void mm_log_close(struct mm_log *log)
{
	if (log->sink == MM_LOG_SYSLOG)
		closelog();
	if (log->sink == MM_LOG_FILE)
		close(log->fd);
	free(log->path);
	log->path = NULL;
	log->sink = MM_LOG_STDERR;
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

void mm_log_one_line(char *msg)
{
	for (unsigned char *p = (unsigned char *)msg; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

void mm_log_kv(char *buf, size_t cap, const char *key, const char *value)
{
	size_t n = strlen(buf);
	if (n + 1 >= cap)
		return;
	const char *v = value ? value : "-";
	bool quote = *v == '\0' || strpbrk(v, " \t\"=\\") != NULL;
	int w = snprintf(buf + n, cap - n, " %s=%s", key, quote ? "\"" : "");
	if (w < 0 || (size_t)w >= cap - n) {
		buf[n] = '\0';
		return;
	}
	n += (size_t)w;
	for (; *v && n + 2 < cap; v++) {
		if (quote && (*v == '"' || *v == '\\'))
			buf[n++] = '\\';
		buf[n++] = *v;
	}
	if (quote && n + 1 < cap)
		buf[n++] = '"';
	buf[n] = '\0';
}

/* Writes one finished message to the sink. */
static void emit(const struct mm_log *log, int level, char *msg)
{
	mm_log_one_line(msg);
	if (log->sink == MM_LOG_SYSLOG) {
		syslog(level, "%s", msg);
		return;
	}
	char line[MM_LOG_LINE_MAX + 128];
	int n;
	if (log->sink == MM_LOG_JOURNAL) {
		/* journald takes the priority from the prefix and stamps the time */
		n = snprintf(line, sizeof line, "<%d>%s\n", level, msg);
	} else {
		char stamp[40];
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S%z", &tm);
		n = snprintf(line, sizeof line, "%s %s[%d]: %s: %s\n", stamp,
			     log->ident ? log->ident : "mailmon", (int)getpid(),
			     mm_log_level_name(level), msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line) {
		n = sizeof line - 1;
		line[n - 1] = '\n';
	}
	ssize_t w = write(log->sink == MM_LOG_FILE ? log->fd : 2, line, (size_t)n);
	(void)w; /* nowhere left to report a failed log write */
}

void mm_log(const struct mm_log *log, int level, const char *fmt, ...)
{
	if (level > log->min_level)
		return;
	char msg[MM_LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	emit(log, level, msg);
}

void mm_log_event(const struct mm_log *log, int level, const char *event, ...)
{
	if (level > log->min_level)
		return;
	char msg[MM_LOG_LINE_MAX];
	snprintf(msg, sizeof msg, "%s", event);
	va_list ap;
	va_start(ap, event);
	const char *key;
	while ((key = va_arg(ap, const char *)) != NULL)
		mm_log_kv(msg, sizeof msg, key, va_arg(ap, const char *));
	va_end(ap);
	emit(log, level, msg);
}

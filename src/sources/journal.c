/*
 * journal: see journal.h.
 *
 * The line is built in one buffer owned by the reader (line_max + 1
 * bytes), so reading allocates nothing per entry; the cursor string is
 * fetched once per read call, not once per entry.
 */
#include "sources/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "core/clock.h"
#include "core/xalloc.h"
#include "sources/linebuf.h"

#define READ_LIMIT_DEFAULT (4u << 20)

struct mm_journal {
	sd_journal *sj;
	char **prefix; /* SYSLOG_IDENTIFIER prefixes */
	size_t nprefix, prefcap;
	size_t line_max, read_limit;
	bool start_at_end;
	bool positioned;    /* seek done */
	char *skip_cursor;  /* the saved entry, to step over once */
	char *cursor;
	char *line;
	struct mm_journal_stats st;
};

static const char *const default_match[] = {"postfix", "dovecot", NULL};

void mm_journal_free(struct mm_journal *j)
{
	if (!j)
		return;
	if (j->sj)
		sd_journal_close(j->sj);
	for (size_t i = 0; i < j->nprefix; i++)
		free(j->prefix[i]);
	free(j->prefix);
	free(j->skip_cursor);
	free(j->cursor);
	free(j->line);
	free(j);
}

struct mm_journal *mm_journal_open(const struct mm_journal_opts *o, struct mm_err *err)
{
	struct mm_journal *j = xcalloc(1, sizeof *j);
	j->line_max = o->line_max ? o->line_max : MM_LINE_MAX_DEFAULT;
	j->read_limit = o->read_limit ? o->read_limit : READ_LIMIT_DEFAULT;
	j->start_at_end = o->start_at_end;
	j->line = xmalloc(j->line_max + 1);
	int r;
	if (o->files)
		r = sd_journal_open_files(&j->sj, (const char **)o->files, 0);
	else if (o->directory)
		r = sd_journal_open_directory(&j->sj, o->directory, 0);
	else
		r = sd_journal_open(&j->sj, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		j->sj = NULL;
		mm_err_sys(err, -r, "cannot open the journal%s%s", o->directory ? " in " : "",
			   o->directory ? o->directory : "");
		mm_journal_free(j);
		return NULL;
	}
	sd_journal_set_data_threshold(j->sj, j->line_max + 64);
	const char *const *m = o->match && o->match[0] ? o->match : default_match;
	for (; *m; m++) {
		if (!**m)
			continue;
		if (strchr(*m, '=')) {
			r = sd_journal_add_match(j->sj, *m, 0);
			if (r < 0) {
				mm_err_sys(err, -r, "journal match \"%s\"", *m);
				mm_journal_free(j);
				return NULL;
			}
		} else {
			j->prefix = xgrow(j->prefix, &j->prefcap, j->nprefix + 1,
					  sizeof *j->prefix);
			j->prefix[j->nprefix++] = xstrdup(*m);
		}
	}
	return j;
}

int mm_journal_start(struct mm_journal *j, const char *cursor, struct mm_err *err)
{
	j->positioned = true;
	if (cursor) {
		int r = sd_journal_seek_cursor(j->sj, cursor);
		if (r >= 0) {
			j->skip_cursor = xstrdup(cursor);
			j->cursor = xstrdup(cursor);
			return 0;
		}
		mm_err_sys(err, -r, "saved journal cursor is unusable");
	}
	if (j->start_at_end) {
		sd_journal_seek_tail(j->sj);
		/* Land on the newest entry: it counts as consumed, and its
		 * cursor is the position to save. */
		char *c = NULL;
		if (sd_journal_previous(j->sj) > 0 && sd_journal_get_cursor(j->sj, &c) >= 0 && c) {
			free(j->cursor);
			j->cursor = c;
		}
	} else {
		sd_journal_seek_head(j->sj);
	}
	return cursor ? -1 : 0;
}

/* Gets FIELD's value (without "FIELD="); false when absent. */
static bool field(sd_journal *sj, const char *name, const char **v, size_t *len)
{
	const void *data;
	size_t n;
	if (sd_journal_get_data(sj, name, &data, &n) < 0)
		return false;
	size_t skip = strlen(name) + 1;
	if (n < skip)
		return false;
	*v = (const char *)data + skip;
	*len = n - skip;
	return true;
}

static bool wanted(const struct mm_journal *j, const char *ident, size_t len)
{
	if (j->nprefix == 0)
		return true;
	for (size_t i = 0; i < j->nprefix; i++) {
		size_t pl = strlen(j->prefix[i]);
		if (len >= pl && memcmp(ident, j->prefix[i], pl) == 0)
			return true;
	}
	return false;
}

/* Appends src to the line at *used, capped at line_max; newlines become
 * spaces so one entry is one line. Returns false when it was cut. */
static bool put(struct mm_journal *j, size_t *used, const char *src, size_t n, bool clean)
{
	size_t room = j->line_max - *used;
	bool cut = n > room;
	if (cut)
		n = room;
	char *dst = j->line + *used;
	memcpy(dst, src, n);
	if (clean)
		for (size_t i = 0; i < n; i++)
			if (dst[i] == '\n' || dst[i] == '\r')
				dst[i] = ' ';
	*used += n;
	return !cut;
}

/* Formats the current entry; returns its length, or 0 to skip it. */
static size_t format_entry(struct mm_journal *j, bool *capped)
{
	const char *ident, *msg, *host, *pid;
	size_t identlen, msglen, hostlen, pidlen;
	if (!field(j->sj, "SYSLOG_IDENTIFIER", &ident, &identlen) || !wanted(j, ident, identlen))
		return 0;
	if (!field(j->sj, "MESSAGE", &msg, &msglen))
		return 0;
	if (!field(j->sj, "_HOSTNAME", &host, &hostlen)) {
		host = "-";
		hostlen = 1;
	}
	if (!field(j->sj, "SYSLOG_PID", &pid, &pidlen) && !field(j->sj, "_PID", &pid, &pidlen))
		pidlen = 0;

	uint64_t usec = 0;
	sd_journal_get_realtime_usec(j->sj, &usec);
	time_t secs = (time_t)(usec / 1000000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char ts[48];
	int tl = snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06u+00:00 ",
			  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			  tm.tm_sec, (unsigned)(usec % 1000000));
	size_t used = 0;
	bool ok = put(j, &used, ts, (size_t)tl, false);
	ok = ok && put(j, &used, host, hostlen, true);
	ok = ok && put(j, &used, " ", 1, false);
	ok = ok && put(j, &used, ident, identlen, true);
	if (pidlen) {
		ok = ok && put(j, &used, "[", 1, false);
		ok = ok && put(j, &used, pid, pidlen, true);
		ok = ok && put(j, &used, "]", 1, false);
	}
	ok = ok && put(j, &used, ": ", 2, false);
	ok = ok && put(j, &used, msg, msglen, true);
	*capped = !ok;
	return used;
}

int mm_journal_read(struct mm_journal *j, mm_line_fn *fn, void *arg, struct mm_err *err)
{
	if (!j->positioned)
		mm_journal_start(j, NULL, NULL);
	size_t budget = j->read_limit;
	bool moved = false;
	int rc = 0;
	for (;;) {
		if (budget == 0) {
			rc = 1;
			break;
		}
		int r = sd_journal_next(j->sj);
		if (r < 0) {
			rc = mm_err_sys(err, -r, "reading the journal");
			break;
		}
		if (r == 0)
			break;
		moved = true;
		if (j->skip_cursor) {
			bool same = sd_journal_test_cursor(j->sj, j->skip_cursor) > 0;
			free(j->skip_cursor);
			j->skip_cursor = NULL;
			if (same)
				continue; /* consumed before the restart */
		}
		j->st.entries++;
		bool capped = false;
		size_t len = format_entry(j, &capped);
		if (len == 0) {
			j->st.skipped++;
			continue;
		}
		j->line[len] = '\0';
		fn(j->line, len, arg);
		j->st.lines++;
		j->st.capped += capped;
		budget = len >= budget ? 0 : budget - len;
	}
	if (moved) {
		char *c = NULL;
		if (sd_journal_get_cursor(j->sj, &c) >= 0 && c) {
			free(j->cursor);
			j->cursor = c;
		}
		j->st.last_read_ms = mm_wall_ms();
	}
	return rc;
}

const char *mm_journal_cursor(const struct mm_journal *j)
{
	return j->cursor;
}

const struct mm_journal_stats *mm_journal_stats(const struct mm_journal *j)
{
	return &j->st;
}

int mm_journal_fd(struct mm_journal *j)
{
	int fd = sd_journal_get_fd(j->sj);
	return fd < 0 ? -1 : fd;
}

void mm_journal_process(struct mm_journal *j)
{
	sd_journal_process(j->sj);
}

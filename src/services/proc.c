/* proc: see proc.h. */
#include "services/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/pidfile.h"
#include "core/strutil.h"

int mm_proc_match_init(struct mm_proc_match *m, const char *pidfile, const char *name,
		       const char *cmdline_re, struct mm_err *err)
{
	memset(m, 0, sizeof *m);
	if (pidfile)
		mm_strlcpy(m->pidfile, pidfile, sizeof m->pidfile);
	if (name)
		mm_strlcpy(m->name, name, sizeof m->name);
	if (cmdline_re && *cmdline_re) {
		int rc = regcomp(&m->re, cmdline_re, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char buf[128];
			regerror(rc, &m->re, buf, sizeof buf);
			return mm_err_set(err, "process_cmdline \"%s\": %s", cmdline_re, buf);
		}
		m->has_re = true;
		snprintf(m->re_src, sizeof m->re_src, "%s", cmdline_re);
	}
	if (!m->pidfile[0] && !m->name[0] && !m->has_re)
		return mm_err_set(err, "a process check needs a pidfile, a name or a cmdline");
	return 0;
}

void mm_proc_match_free(struct mm_proc_match *m)
{
	if (m->has_re)
		regfree(&m->re);
	m->has_re = false;
}

void mm_proc_match_parent(struct mm_proc_match *m, const char *parent_pidfile)
{
	mm_strlcpy(m->parent_pidfile, parent_pidfile ? parent_pidfile : "",
		   sizeof m->parent_pidfile);
}

static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

bool mm_proc_read_stat(const char *root, pid_t pid, struct mm_proc_stat *st)
{
	char path[256], buf[1024];
	snprintf(path, sizeof path, "%s/%d/stat", root, (int)pid);
	if (read_small(path, buf, sizeof buf) <= 0)
		return false;
	/* comm may hold spaces and ')': it ends at the last ')'. */
	char *open_p = strchr(buf, '('), *close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p || close_p[1] != ' ')
		return false;
	size_t cl = (size_t)(close_p - open_p - 1);
	if (cl >= sizeof st->comm)
		cl = sizeof st->comm - 1;
	memcpy(st->comm, open_p + 1, cl);
	st->comm[cl] = '\0';
	/* Fields from 3 (state): state ppid pgrp session tty tpgid flags
	 * minflt cminflt majflt cmajflt utime(14) stime(15) cutime cstime
	 * priority nice threads itrealvalue starttime(22) vsize rss(24). */
	char state;
	long ppid;
	unsigned long long ut, stt, start, rss;
	int n = sscanf(close_p + 2,
		       "%c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
		       "%llu %*u %llu",
		       &state, &ppid, &ut, &stt, &start, &rss);
	if (n != 6)
		return false;
	st->state = state;
	st->ppid = (pid_t)ppid;
	st->utime = ut;
	st->stime = stt;
	st->starttime = start;
	st->rss_pages = rss;
	return true;
}

int mm_proc_children(const char *root, pid_t parent, const char *name, pid_t *pids,
		     uint64_t *starts, size_t cap)
{
	DIR *dir = opendir(root);
	if (!dir)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(de->d_name);
		struct mm_proc_stat st;
		if (!mm_proc_read_stat(root, pid, &st) || st.state == 'Z' || st.state == 'X' ||
		    st.ppid != parent || strcmp(st.comm, name) != 0)
			continue;
		if ((size_t)n < cap) {
			pids[n] = pid;
			starts[n] = st.starttime;
		}
		n++;
	}
	closedir(dir);
	return n;
}

static bool cmdline_matches(const char *root, pid_t pid, const regex_t *re)
{
	char path[256], buf[4096];
	snprintf(path, sizeof path, "%s/%d/cmdline", root, (int)pid);
	ssize_t n = read_small(path, buf, sizeof buf);
	if (n <= 0)
		return false;
	for (ssize_t i = 0; i < n - 1; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	return regexec(re, buf, 0, NULL, 0) == 0;
}

static double uptime_s(const char *root)
{
	char path[256], buf[128];
	snprintf(path, sizeof path, "%s/uptime", root);
	if (read_small(path, buf, sizeof buf) <= 0)
		return 0;
	return strtod(buf, NULL);
}

void mm_proc_scan(struct mm_proc_match *m, const char *root, int64_t mono_ms,
		  struct mm_proc_stats *out)
{
	memset(out, 0, sizeof *out);
	out->cpu_pct = -1;
	long tck = sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE);
	double up = uptime_s(root);
	pid_t main_pid = 0;
	if (m->pidfile[0]) {
		struct mm_err err;
		if (mm_pidfile_read(m->pidfile, &main_pid, &err) < 0) {
			out->exhausted |= mm_errno_exhausted(errno);
			mm_strlcpy(out->detail, err.msg, sizeof out->detail);
			main_pid = -1;
		}
	}
	pid_t parent = 0;
	if (m->parent_pidfile[0]) {
		struct mm_err err = {{0}};
		if (mm_pidfile_read(m->parent_pidfile, &parent, &err) < 0 || parent <= 0) {
			mm_strlcpy(out->detail, err.msg, sizeof out->detail);
			parent = -1; /* no parent: nothing matches */
		}
	}
	uint64_t ticks = 0;
	uint64_t oldest_start = UINT64_MAX;
	bool main_alive = false;
	DIR *dir = opendir(root);
	if (!dir)
		out->exhausted |= mm_errno_exhausted(errno);
	struct dirent *de;
	while (dir && (de = readdir(dir))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(de->d_name);
		struct mm_proc_stat st;
		errno = 0;
		if (!mm_proc_read_stat(root, pid, &st) || st.state == 'Z' || st.state == 'X') {
			out->exhausted |= mm_errno_exhausted(errno);
			continue;
		}
		/* Only a pidfile's process has workers (its children); in name
		 * mode main_pid is just the oldest match found so far. */
		bool is_main = m->pidfile[0] && main_pid > 0 && pid == main_pid;
		bool is_worker = m->pidfile[0] && main_pid > 0 && st.ppid == main_pid;
		bool by_name = false;
		if (!m->pidfile[0]) {
			by_name = (!m->name[0] || strcmp(st.comm, m->name) == 0) &&
				  (!parent || st.ppid == parent) &&
				  (!m->has_re || cmdline_matches(root, pid, &m->re));
		}
		if (!is_main && !is_worker && !by_name)
			continue;
		if (is_main)
			main_alive = true;
		if (is_worker)
			out->workers++;
		if (by_name)
			out->count++;
		if (st.state == 'T' || st.state == 't') {
			if (!out->stopped++)
				out->stopped_pid = pid;
		}
		ticks += st.utime + st.stime;
		out->rss_bytes += st.rss_pages * (uint64_t)page;
		/* Oldest worker; with a name match, the oldest match. */
		if ((is_worker || by_name) && st.starttime < oldest_start) {
			oldest_start = st.starttime;
			out->oldest_pid = pid;
		}
		if (by_name && out->oldest_pid == pid)
			main_pid = pid;
	}
	if (dir)
		closedir(dir);
	if (m->pidfile[0]) {
		out->count = main_alive ? 1 : 0;
		out->main_pid = main_pid > 0 ? main_pid : 0;
		if (!main_alive && !out->detail[0])
			snprintf(out->detail, sizeof out->detail, "pid %d from %s is not running",
				 (int)main_pid, m->pidfile);
	} else {
		out->main_pid = main_pid;
	}
	if (oldest_start != UINT64_MAX && tck > 0)
		out->oldest_age_s = (int64_t)(up - (double)oldest_start / (double)tck);
	if (m->prev_mono_ms && mono_ms > m->prev_mono_ms && ticks >= m->prev_ticks && tck > 0)
		out->cpu_pct = (double)(ticks - m->prev_ticks) * 1000.0 / (double)tck /
			       (double)(mono_ms - m->prev_mono_ms) * 100.0;
	m->prev_ticks = ticks;
	m->prev_mono_ms = mono_ms;
}

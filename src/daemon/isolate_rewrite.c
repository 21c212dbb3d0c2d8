/* isolate_rewrite: see isolate_rewrite.h. */
#include "daemon/isolate_rewrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/pidfile.h"
#include "daemon/daemon.h"
#include "daemon/privsep.h"
#include "services/proc.h"

#define MAX_REWRITE 64

uint64_t mm_isolate_boot_ticks(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	return (uint64_t)ts.tv_sec * (uint64_t)hz + (uint64_t)ts.tv_nsec / (1000000000UL / (uint64_t)hz);
}

/* The master's pid: from QDIR/pid/master.pid, or through the root opener
 * when separated. */
static int master_pid(struct mm_daemon *d, const char *qdir, pid_t *pid, struct mm_err *err)
{
	const struct mm_mta_opener *op = mm_privsep_queue_opener(d);
	if (!op) {
		if (!qdir || !*qdir)
			return mm_err_set(err, "the queue directory is not known yet");
		char path[700];
		snprintf(path, sizeof path, "%s/pid/master.pid", qdir);
		return mm_pidfile_read(path, pid, err);
	}
	int fd = op->open(op->ctx, 0, "pid/master.pid");
	if (fd < 0)
		return mm_err_set(err, "pid/master.pid of the queue directory (through the root "
				       "opener): %s",
				  strerror(errno));
	char buf[64];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return mm_err_set(err, "pid/master.pid of the queue directory: empty or unreadable");
	buf[n] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	if (v <= 0 || (*end && *end != '\n' && *end != ' '))
		return mm_err_set(err, "pid/master.pid of the queue directory: not a pid");
	*pid = (pid_t)v;
	return 0;
}

int mm_isolate_rewrite_check(struct mm_daemon *d, const char *qdir, uint64_t since,
			     struct mm_rewrite_check *out, struct mm_err *err)
{
	memset(out, 0, sizeof *out);
	if (master_pid(d, qdir, &out->master, err) < 0)
		return -1;
	if (!mm_pid_alive(out->master))
		return mm_err_set(err, "the Postfix master (pid %d) is not running",
				  (int)out->master);
	pid_t pids[MAX_REWRITE];
	uint64_t starts[MAX_REWRITE];
	int n = mm_proc_children("/proc", out->master, "trivial-rewrite", pids, starts, MAX_REWRITE);
	if (n < 0)
		return mm_err_set(err, "/proc: %s", strerror(errno));
	out->total = n;
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	uint64_t now = mm_isolate_boot_ticks(), oldest = UINT64_MAX;
	for (int i = 0; i < n && i < MAX_REWRITE; i++) {
		if (starts[i] >= since)
			continue;
		out->stale++;
		if (starts[i] < oldest) {
			oldest = starts[i];
			out->pid = pids[i];
			out->age_s = (int64_t)((now - starts[i]) / (uint64_t)hz);
			out->before_s = (int64_t)((since - starts[i]) / (uint64_t)hz);
		}
	}
	return 0;
}

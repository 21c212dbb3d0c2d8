/*
 * pidfile: see pidfile.h. Liveness reads the state field of /proc/PID/stat
 * because an exited daemon stays visible to kill(pid, 0) as a zombie until
 * it is reaped, which on these machines can take seconds.
 */
#include "core/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mm_pid_alive(pid_t pid)
{
	char path[64], buf[512];
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* The state follows the last ')' (the command name may hold one). */
	char *rp = strrchr(buf, ')');
	if (!rp || rp[1] != ' ')
		return 0;
	return rp[2] != 'Z' && rp[2] != 'X';
}

int mm_pidfile_read(const char *path, pid_t *pid, struct mm_err *err)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return mm_err_sys(err, errno, "%s", path);
	long v = 0;
	int ok = fscanf(fp, "%ld", &v);
	fclose(fp);
	if (ok != 1 || v <= 0 || v > 4194304)
		return mm_err_set(err, "%s: no pid in file", path);
	*pid = (pid_t)v;
	return 0;
}

int mm_pidfile_write(const char *path, struct mm_err *err)
{
	pid_t old;
	if (mm_pidfile_read(path, &old, NULL) == 0) {
		if (mm_pid_alive(old) && old != getpid())
			return mm_err_set(err, "%s: mailmond already runs as pid %d", path,
					  (int)old);
		unlink(path); /* stale */
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return mm_err_sys(err, errno, "%s: cannot create pid file", path);
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)len) != len) {
		int e = errno;
		close(fd);
		unlink(path);
		return mm_err_sys(err, e, "%s: write", path);
	}
	close(fd);
	return 0;
}

void mm_pidfile_remove(const char *path)
{
	pid_t pid;
	if (mm_pidfile_read(path, &pid, NULL) == 0 && pid == getpid())
		unlink(path);
}

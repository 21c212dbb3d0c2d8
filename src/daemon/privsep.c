/*
 * privsep: see privsep.h. The helper is a plain blocking loop (one
 * request at a time, each bounded by the service's command_timeout); the
 * unprivileged side reads its answers from the event loop.
 */
#include "daemon/privsep.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/cmdline.h"
#include "core/strutil.h"
#include "core/utf8.h"
#include "core/xalloc.h"
#include "privsep/psmsg.h"
#include "services/service_conf.h"

#define MAX_PENDING 64

struct pending {
	uint32_t id;
	mm_child_done_fn *cb;
	void *arg;
};

struct mm_privsep {
	struct mm_daemon *d;
	int fd;
	pid_t helper;
	struct event *ev;
	uint8_t buf[2048];
	size_t n;
	struct pending pend[MAX_PENDING];
	uint32_t next_id;
	uid_t uid;
	char user[64];
	bool dead;
};

/* ---- the helper (root) ---- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Runs argv with stdio on /dev/null, at most timeout_ms; the wait status,
 * or -ETIMEDOUT / -errno. */
static int run_bounded(char **argv, int64_t timeout_ms, uint32_t *ms)
{
	int64_t t0 = mm_mono_ms();
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		setsid();
		execvp(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (mm_mono_ms() - t0 > timeout_ms) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			*ms = (uint32_t)(mm_mono_ms() - t0);
			return -ETIMEDOUT;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	*ms = (uint32_t)(mm_mono_ms() - t0);
	return st;
}

/* One RUN request: the command comes from the helper's own load of the
 * root-owned config, never from the request. */
static void serve_run(int fd, const char *conf_path, const struct mm_ps_msg *req)
{
	struct mm_ps_msg ans = {.type = MM_PS_RUN_DONE};
	ans.u.run_done.id = req->u.run.id;
	struct mm_diags diags = {0};
	struct mm_config *conf = mm_config_load(conf_path, &diags);
	struct mm_service_conf sc;
	memset(&sc, 0, sizeof sc);
	struct mm_err err = {{0}};
	const char *name = req->u.run.name;
	const char *line = NULL;
	if (!conf) {
		snprintf(ans.u.run_done.text, MM_PS_TEXT, "helper: %s",
			 diags.n ? diags.msgs[0] : "config does not load");
		ans.u.run_done.status = -EINVAL;
	} else if (strncmp(name, "service.", 8) != 0 ||
		   mm_service_conf_load(conf, name + 8, &sc, &err) < 0) {
		snprintf(ans.u.run_done.text, MM_PS_TEXT, "helper: [%s]: %.180s", name,
			 err.msg[0] ? err.msg : "not a service section");
		ans.u.run_done.status = -ENOENT;
	} else {
		line = req->u.run.index == MM_PS_CMD_RESTART ? sc.restart
		       : req->u.run.index == MM_PS_CMD_START ? sc.start
		       : req->u.run.index == MM_PS_CMD_STOP  ? sc.stop
							     : NULL;
		char **argv = line ? mm_cmdline_argv(line, sc.shell, &err) : NULL;
		if (!argv) {
			snprintf(ans.u.run_done.text, MM_PS_TEXT, "helper: [%s]: %.180s", name,
				 line ? err.msg : "no such command in the config");
			ans.u.run_done.status = -ENOENT;
		} else {
			ans.u.run_done.status = run_bounded(argv, sc.command_timeout_ms,
							    &ans.u.run_done.ms);
			free(argv);
		}
		mm_service_conf_free(&sc);
	}
	mm_config_free(conf);
	mm_diags_free(&diags);
	uint8_t out[512];
	int n = mm_ps_encode(&ans, out, sizeof out);
	if (n < 0 || write_all(fd, out, (size_t)n) < 0)
		_exit(0);
}

static void helper_main(int fd, const char *conf_path)
{
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Nothing of the daemon's: its sockets, files and maps stay there. */
	if (dup2(fd, 3) < 0)
		_exit(1);
	close_range(4, ~0U, 0);
	fd = 3;
	uint8_t buf[2048];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof buf - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(0); /* mailmond is gone */
		n += (size_t)r;
		for (;;) {
			struct mm_ps_msg m;
			size_t used = 0;
			struct mm_err err;
			int rc = mm_ps_decode(buf, n, &m, &used, &err);
			if (rc == 0)
				break;
			if (rc < 0 || m.type != MM_PS_RUN)
				_exit(2); /* a confused or hostile peer: no second try */
			serve_run(fd, conf_path, &m);
			memmove(buf, buf + used, n - used);
			n -= used;
		}
	}
}

/* ---- mailmond (unprivileged) ---- */

static void fail_all(struct mm_privsep *ps, const char *why)
{
	ps->dead = true;
	for (size_t i = 0; i < MAX_PENDING; i++) {
		if (!ps->pend[i].id)
			continue;
		struct pending p = ps->pend[i];
		ps->pend[i].id = 0;
		struct mm_child_result res = {.exit_code = -1, .out = "", .err = why};
		p.cb(&res, p.arg);
	}
}

static void deliver(struct mm_privsep *ps, const struct mm_ps_msg *m)
{
	for (size_t i = 0; i < MAX_PENDING; i++) {
		if (ps->pend[i].id != m->u.run_done.id)
			continue;
		struct pending p = ps->pend[i];
		ps->pend[i].id = 0;
		int st = m->u.run_done.status;
		struct mm_child_result res = {.ms = m->u.run_done.ms, .out = "",
					      .err = m->u.run_done.text};
		if (st == -ETIMEDOUT) {
			res.timed_out = true;
			res.exit_code = -1;
		} else if (st < 0) {
			res.exit_code = -1;
			if (!m->u.run_done.text[0])
				res.err = strerror(-st);
		} else if (WIFSIGNALED(st)) {
			res.exit_code = -1;
			res.signal = WTERMSIG(st);
		} else {
			res.exit_code = WEXITSTATUS(st);
		}
		p.cb(&res, p.arg);
		return;
	}
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct mm_privsep *ps = arg;
	ssize_t r = read(fd, ps->buf + ps->n, sizeof ps->buf - ps->n);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		mm_log_err(&ps->d->log, "privsep: the privileged helper is gone; no restart "
					"command can run until mailmond restarts");
		event_del(ps->ev);
		fail_all(ps, "the privileged helper is gone");
		return;
	}
	ps->n += (size_t)r;
	for (;;) {
		struct mm_ps_msg m;
		size_t used = 0;
		struct mm_err err;
		int rc = mm_ps_decode(ps->buf, ps->n, &m, &used, &err);
		if (rc == 0)
			return;
		if (rc < 0 || m.type != MM_PS_RUN_DONE) {
			mm_log_err(&ps->d->log, "privsep: %s", rc < 0 ? err.msg : "unexpected answer");
			event_del(ps->ev);
			fail_all(ps, "the privileged helper's answer was malformed");
			return;
		}
		deliver(ps, &m);
		memmove(ps->buf, ps->buf + used, ps->n - used);
		ps->n -= used;
	}
}

/* The state and run directories, and what is in them, become the user's:
 * it keeps writing its files there after the drop. */
static void hand_over(const char *dir, uid_t uid, gid_t gid)
{
	if (!dir || !*dir)
		return;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	if (fchown(dfd, uid, gid) < 0) {
		/* reported by whatever later fails to write there */
	}
	DIR *dp = fdopendir(dfd);
	struct dirent *de;
	while (dp && (de = readdir(dp))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fchownat(dfd, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
			/* as above */
		}
	}
	if (dp)
		closedir(dp);
	else
		close(dfd);
}

int mm_privsep_start(struct mm_daemon *d, struct mm_err *err)
{
	const char *user = mm_config_get(d->conf, "daemon", "user");
	if (!user || !*user)
		return 0;
	if (geteuid() != 0)
		return mm_err_set(err, "daemon.user = %s: mailmond must start as root to separate "
				       "privileges (it runs as uid %u)", user, (unsigned)geteuid());
	if (!d->conf_path)
		return mm_err_set(err, "daemon.user needs a config file (the helper reads it)");
	struct passwd *pw = getpwnam(user);
	if (!pw || pw->pw_uid == 0)
		return mm_err_set(err, "daemon.user = %s: %s", user,
				  pw ? "must not be root" : "no such user");
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return mm_err_sys(err, errno, "privsep: socketpair");
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return mm_err_sys(err, errno, "privsep: fork");
	}
	if (pid == 0) {
		close(sv[0]);
		helper_main(sv[1], d->conf_path);
		_exit(0);
	}
	close(sv[1]);
	hand_over(mm_config_get(d->conf, "daemon", "state_directory"), uid, gid);
	hand_over(mm_config_get(d->conf, "daemon", "run_directory"), uid, gid);
	if (initgroups(user, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0 ||
	    setuid(0) == 0 || geteuid() != uid) {
		int e = errno;
		kill(pid, SIGKILL);
		close(sv[0]);
		return mm_err_sys(err, e, "privsep: cannot drop to %s", user);
	}
	struct mm_privsep *ps = xcalloc(1, sizeof *ps);
	ps->d = d;
	ps->fd = sv[0];
	ps->helper = pid;
	ps->uid = uid;
	mm_strlcpy(ps->user, user, sizeof ps->user);
	evutil_make_socket_nonblocking(ps->fd);
	ps->ev = event_new(d->base, ps->fd, EV_READ | EV_PERSIST, on_readable, ps);
	event_add(ps->ev, NULL);
	d->privsep = ps;
	mm_log_notice(&d->log, "privsep: running as %s (uid %u); helper pid %d keeps root for "
			       "restart, start and stop commands",
		      user, (unsigned)uid, (int)pid);
	return 0;
}

uint32_t mm_privsep_run(struct mm_daemon *d, const char *service, enum mm_ps_cmd kind,
			mm_child_done_fn *cb, void *arg)
{
	struct mm_privsep *ps = d->privsep;
	if (!ps || ps->dead)
		return 0;
	size_t slot = MAX_PENDING;
	for (size_t i = 0; i < MAX_PENDING; i++)
		if (!ps->pend[i].id) {
			slot = i;
			break;
		}
	if (slot == MAX_PENDING)
		return 0;
	struct mm_ps_msg m = {.type = MM_PS_RUN};
	if (++ps->next_id == 0)
		ps->next_id = 1;
	m.u.run.id = ps->next_id;
	m.u.run.index = (uint32_t)kind;
	snprintf(m.u.run.name, sizeof m.u.run.name, "service.%s", service);
	uint8_t out[256];
	int n = mm_ps_encode(&m, out, sizeof out);
	if (n < 0 || send(ps->fd, out, (size_t)n, MSG_NOSIGNAL) != n)
		return 0;
	ps->pend[slot] = (struct pending){m.u.run.id, cb, arg};
	return m.u.run.id;
}

void mm_privsep_cancel(struct mm_daemon *d, uint32_t id)
{
	struct mm_privsep *ps = d->privsep;
	for (size_t i = 0; ps && id && i < MAX_PENDING; i++)
		if (ps->pend[i].id == id)
			ps->pend[i].id = 0;
}

json_t *mm_privsep_json(const struct mm_daemon *d)
{
	const struct mm_privsep *ps = d->privsep;
	uid_t euid = geteuid();
	struct passwd *pw = getpwuid(euid);
	json_t *procs = json_array();
	json_array_append_new(
		procs, json_pack("{s:s, s:i, s:i, s:i, s:o}", "role",
				 ps ? "logs, HTTP, probes, queue scan (unprivileged)"
				    : "logs, HTTP, probes, queue scan, restart and stop commands",
				 "pid", (int)getpid(), "uid", (int)getuid(), "euid", (int)euid, "user",
				 mm_json_text(pw ? pw->pw_name : NULL)));
	if (ps)
		json_array_append_new(
			procs, json_pack("{s:s, s:i, s:i, s:i, s:s, s:b}", "role",
					 "restart, start and stop commands of the config's services",
					 "pid", (int)ps->helper, "uid", 0, "euid", 0, "user", "root",
					 "alive", !ps->dead));
	return json_pack("{s:b, s:o, s:s}", "separated", ps != NULL, "processes", procs, "note",
			 ps ? "separated: the process that serves HTTP holds no privilege"
			 : euid == 0 ? "not separated ([daemon] user unset): the process that serves "
				       "HTTP runs as root"
				     : "not separated: one unprivileged process");
}

void mm_privsep_free(struct mm_daemon *d)
{
	struct mm_privsep *ps = d->privsep;
	if (!ps)
		return;
	if (ps->ev)
		event_free(ps->ev);
	close(ps->fd); /* the helper reads EOF and exits */
	waitpid(ps->helper, NULL, 0);
	free(ps);
	d->privsep = NULL;
}

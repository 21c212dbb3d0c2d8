/*
 * privsep: see privsep.h. Each helper is a plain blocking loop
 * (src/privsep/ps_helper.c, one request at a time); the runner's answers
 * are read from the event loop, the opener's synchronously by the queue
 * threads (src/privsep/ps_client.c).
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
#include "privsep/ps_client.h"
#include "privsep/ps_helper.h"
#include "privsep/psmsg.h"

#define MAX_PENDING 64

struct pending {
	uint32_t id;
	mm_child_done_fn *cb;
	void *arg;
};

struct mm_privsep {
	struct mm_daemon *d;
	int fd;	     /* to the runner */
	pid_t helper; /* the runner */
	pid_t opener; /* the queue opener; its socket is in q */
	struct mm_ps_client q;
	bool dropped;
	uint64_t runs;
	struct event *ev;
	uint8_t buf[2048];
	size_t n;
	struct pending pend[MAX_PENDING];
	uint32_t next_id;
	uid_t uid;
	gid_t gid;
	char user[64];
	bool dead;
};

/* ---- the helpers (root) ---- */

/* A helper's process: nothing of the daemon's (its sockets, files and
 * maps stay there) but stdio and the socket, then the role's loop. */
static void helper_main(int fd, const char *conf_path, enum mm_ps_role role)
{
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(fd, 3) < 0)
		_exit(1);
	close_range(4, ~0U, 0);
	_exit(mm_ps_helper_serve(3, conf_path, role));
}

/* Forks one helper on a new socketpair; its pid, and *fd the
 * unprivileged end; -1 with err. */
static pid_t fork_helper(const char *conf_path, enum mm_ps_role role, int *fd,
			 struct mm_err *err)
{
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
		helper_main(sv[1], conf_path, role);
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
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
		mm_log_err(&ps->d->log, "privsep: the privileged runner is gone; no restart "
					"or lock command can run until mailmond restarts");
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
 * it keeps writing its files there after the drop. The config file stays
 * root's even when it lies there: the helpers trust only a root-owned
 * config. */
static void hand_over(const char *dir, uid_t uid, gid_t gid, const char *conf_path)
{
	if (!dir || !*dir)
		return;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	if (fchown(dfd, uid, gid) < 0) {
		/* reported by whatever later fails to write there */
	}
	struct stat conf;
	bool have_conf = stat(conf_path, &conf) == 0;
	DIR *dp = fdopendir(dfd);
	struct dirent *de;
	while (dp && (de = readdir(dp))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (have_conf && fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_dev == conf.st_dev && st.st_ino == conf.st_ino)
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
	struct mm_privsep *ps = xcalloc(1, sizeof *ps);
	ps->d = d;
	ps->uid = pw->pw_uid;
	ps->gid = pw->pw_gid;
	mm_strlcpy(ps->user, user, sizeof ps->user);
	int qfd = -1;
	ps->fd = -1;
	ps->helper = fork_helper(d->conf_path, MM_PS_ROLE_RUN, &ps->fd, err);
	if (ps->helper > 0)
		ps->opener = fork_helper(d->conf_path, MM_PS_ROLE_OPEN, &qfd, err);
	mm_ps_client_init(&ps->q, qfd, 5000);
	d->privsep = ps;
	if (ps->helper < 0 || ps->opener < 0) {
		mm_privsep_free(d);
		return -1;
	}
	return 0;
}

int mm_privsep_drop(struct mm_daemon *d, struct mm_err *err)
{
	struct mm_privsep *ps = d->privsep;
	if (!ps)
		return 0;
	hand_over(mm_config_get(d->conf, "daemon", "state_directory"), ps->uid, ps->gid,
		  d->conf_path);
	hand_over(mm_config_get(d->conf, "daemon", "run_directory"), ps->uid, ps->gid,
		  d->conf_path);
	/* [daemon] log_file was opened (made) as root: the user must be able
	 * to reopen it after logrotate (which creates it as the user, see
	 * packaging/logrotate). The group stays. */
	if (d->log.sink == MM_LOG_FILE && d->log.fd >= 0 && fchown(d->log.fd, ps->uid, (gid_t)-1) < 0)
		mm_log_warn(&d->log, "privsep: log file %s stays root's (%s): SIGUSR1 cannot "
				     "reopen it after the drop", d->log.path, strerror(errno));
	if (initgroups(ps->user, ps->gid) < 0 || setgid(ps->gid) < 0 || setuid(ps->uid) < 0 ||
	    setuid(0) == 0 || geteuid() != ps->uid)
		return mm_err_sys(err, errno, "privsep: cannot drop to %s", ps->user);
	ps->dropped = true;
	evutil_make_socket_nonblocking(ps->fd);
	ps->ev = event_new(d->base, ps->fd, EV_READ | EV_PERSIST, on_readable, ps);
	event_add(ps->ev, NULL);
	mm_log_notice(&d->log, "privsep: running as %s (uid %u); root helpers: pid %d runs "
			       "restart and lock commands, pid %d opens queue files",
		      ps->user, (unsigned)ps->uid, (int)ps->helper, (int)ps->opener);
	return 0;
}

const struct mm_mta_opener *mm_privsep_queue_opener(struct mm_daemon *d)
{
	return d->privsep ? mm_ps_client_opener(&d->privsep->q) : NULL;
}

/* Sends m (with a fresh id written at *id) to the runner and keeps cb for
 * its answer; the id, or 0 when it could not ask. */
static uint32_t ask(struct mm_privsep *ps, struct mm_ps_msg *m, uint32_t *id,
		    mm_child_done_fn *cb, void *arg)
{
	size_t slot = MAX_PENDING;
	for (size_t i = 0; i < MAX_PENDING; i++)
		if (!ps->pend[i].id) {
			slot = i;
			break;
		}
	if (slot == MAX_PENDING)
		return 0;
	if (++ps->next_id == 0)
		ps->next_id = 1;
	*id = ps->next_id;
	uint8_t out[MM_PS_HDR + 512];
	int n = mm_ps_encode(m, out, sizeof out);
	/* Never send what the helper would take as hostile (a path with a
	 * byte outside printable ASCII, say): it would exit. */
	struct mm_ps_msg check;
	size_t used;
	struct mm_err err;
	if (n < 0 || mm_ps_decode(out, (size_t)n, &check, &used, &err) != 1 ||
	    send(ps->fd, out, (size_t)n, MSG_NOSIGNAL) != n)
		return 0;
	ps->pend[slot] = (struct pending){*id, cb, arg};
	ps->runs++;
	return *id;
}

uint32_t mm_privsep_run(struct mm_daemon *d, const char *service, enum mm_ps_cmd kind,
			mm_child_done_fn *cb, void *arg)
{
	struct mm_privsep *ps = d->privsep;
	if (!ps || ps->dead)
		return 0;
	struct mm_ps_msg m = {.type = MM_PS_RUN};
	m.u.run.index = (uint32_t)kind;
	snprintf(m.u.run.name, sizeof m.u.run.name, "service.%s", service);
	return ask(ps, &m, &m.u.run.id, cb, arg);
}

uint32_t mm_privsep_postfix_reload(struct mm_daemon *d, mm_child_done_fn *cb, void *arg)
{
	struct mm_privsep *ps = d->privsep;
	if (!ps || ps->dead)
		return 0;
	struct mm_ps_msg m = {.type = MM_PS_RUN};
	m.u.run.index = 0;
	snprintf(m.u.run.name, sizeof m.u.run.name, "isolate");
	return ask(ps, &m, &m.u.run.id, cb, arg);
}

uint32_t mm_privsep_isolate_move(struct mm_daemon *d, const char *dest, mm_child_done_fn *cb,
				 void *arg)
{
	struct mm_privsep *ps = d->privsep;
	if (!ps || ps->dead)
		return 0;
	struct mm_ps_msg m = {.type = MM_PS_RUN};
	m.u.run.index = 1;
	if (snprintf(m.u.run.name, sizeof m.u.run.name, "isolate/%s", dest) >=
	    (int)sizeof m.u.run.name)
		return 0;
	return ask(ps, &m, &m.u.run.id, cb, arg);
}

uint32_t mm_privsep_disk_run(struct mm_daemon *d, const char *path, bool lock,
			     mm_child_done_fn *cb, void *arg)
{
	struct mm_privsep *ps = d->privsep;
	if (!ps || ps->dead || strlen(path) >= MM_PS_TEXT)
		return 0;
	struct mm_ps_msg m = {.type = MM_PS_DISK_RUN};
	m.u.disk_run.lock = lock;
	snprintf(m.u.disk_run.path, sizeof m.u.disk_run.path, "%s", path);
	return ask(ps, &m, &m.u.disk_run.id, cb, arg);
}

void *mm_privsep_cancel(struct mm_daemon *d, uint32_t id)
{
	struct mm_privsep *ps = d->privsep;
	for (size_t i = 0; ps && id && i < MAX_PENDING; i++)
		if (ps->pend[i].id == id) {
			ps->pend[i].id = 0;
			return ps->pend[i].arg;
		}
	return NULL;
}

json_t *mm_privsep_json(const struct mm_daemon *d)
{
	struct mm_privsep *ps = d->privsep;
	uid_t euid = geteuid();
	struct passwd *pw = getpwuid(euid);
	json_t *procs = json_array();
	json_array_append_new(
		procs,
		json_pack("{s:s, s:s, s:i, s:i, s:i, s:o}", "name", "mailmond", "role",
			  ps ? "logs, HTTP (holds the listening sockets), probes, peers, queue "
			       "parsing, alarms; no privilege"
			     : "everything: logs, HTTP, probes, queue scan, restart and lock commands",
			  "pid", (int)getpid(), "uid", (int)getuid(), "euid", (int)euid, "user",
			  mm_json_text(pw ? pw->pw_name : NULL)));
	if (ps) {
		json_array_append_new(
			procs, json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:b, s:I}", "name",
					 "runner", "role",
					 "runs the restart, start and stop commands of the "
					 "config's [service.*], the [disk] lock and unlock commands and "
					 "[isolate]'s postfix reload and postqueue -i",
					 "pid", (int)ps->helper, "uid", 0, "euid", 0, "user", "root",
					 "alive", !ps->dead, "requests", (json_int_t)ps->runs));
		struct mm_ps_client_stats qs = mm_ps_client_stats(&ps->q);
		json_array_append_new(
			procs,
			json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:b, s:I, s:I}", "name", "opener",
				  "role",
				  "opens queue files and directories read-only below the "
				  "config's queue directories and passes the descriptor",
				  "pid", (int)ps->opener, "uid", 0, "euid", 0, "user", "root", "alive",
				  !qs.dead, "requests", (json_int_t)qs.asked, "refused",
				  (json_int_t)qs.refused));
	}
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
	if (ps->fd >= 0)
		close(ps->fd); /* the helpers read EOF and exit */
	mm_ps_client_free(&ps->q);
	if (ps->helper > 0)
		waitpid(ps->helper, NULL, 0);
	if (ps->opener > 0)
		waitpid(ps->opener, NULL, 0);
	free(ps);
	d->privsep = NULL;
}

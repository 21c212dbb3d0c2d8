/*
 * ps_run: the helper's command runs (ps_handlers.h). The command line is
 * looked up in the helper's own load of the root-owned config: a
 * service's restart, start or stop command ([service.NAME]), or the
 * [disk] lock or unlock command for a path the config watches (with
 * MAILMON_DISK_PATH and MAILMON_DISK_ACTION set, as without separation),
 * or [isolate]'s `postfix -c DIR reload` (section "isolate", index 0),
 * or [isolate]'s move of a released destination's deferred mail (section
 * "isolate/DEST", index 1: postqueue -c DIR -j, then postqueue -c DIR -i
 * ID for each deferred message with a recipient at DEST, as
 * cluster/isolate_queue.h reads them; DEST must be a domain, and every ID
 * passed is a checked queue ID).
 * The child gets /dev/null for stdio and its own session; it is killed
 * after the section's command timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/cmdline.h"
#include "core/config.h"
#include "core/envp.h"
#include "core/fdpass.h"
#include "cluster/isolate_queue.h"
#include "core/childproc.h"
#include "host/disk_paths.h"
#include "privsep/ps_handlers.h"
#include "services/service_conf.h"

/* Runs argv (with envp when set) with stdio on /dev/null, at most
 * timeout_ms; the wait status, or -ETIMEDOUT / -errno. */
static int run_bounded(char **argv, char **envp, int64_t timeout_ms, uint32_t *ms)
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
		if (envp)
			execvpe(argv[0], argv, envp);
		else
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

/* Splits line and runs it; the answer's status and text are set. */
static void run_line(const char *what, const char *line, bool shell, char **envp,
		     int64_t timeout_ms, struct mm_ps_msg *ans)
{
	struct mm_err err = {{0}};
	char **argv = line ? mm_cmdline_argv(line, shell, &err) : NULL;
	if (!argv) {
		snprintf(ans->u.run_done.text, MM_PS_TEXT, "helper: %.60s: %.170s", what,
			 line ? err.msg : "no such command in the config");
		ans->u.run_done.status = -ENOENT;
		return;
	}
	ans->u.run_done.status = run_bounded(argv, envp, timeout_ms, &ans->u.run_done.ms);
	free(argv);
}

static void serve_service(const struct mm_config *conf, const struct mm_ps_msg *req,
			  struct mm_ps_msg *ans)
{
	const char *name = req->u.run.name;
	struct mm_service_conf sc;
	memset(&sc, 0, sizeof sc);
	struct mm_err err = {{0}};
	if (strncmp(name, "service.", 8) != 0 ||
	    mm_service_conf_load(conf, name + 8, &sc, &err) < 0) {
		snprintf(ans->u.run_done.text, MM_PS_TEXT, "helper: [%.63s]: %.170s", name,
			 err.msg[0] ? err.msg : "not a service section");
		ans->u.run_done.status = -ENOENT;
		return;
	}
	const char *line = req->u.run.index == 0   ? sc.restart
			   : req->u.run.index == 1 ? sc.start
						   : sc.stop;
	char what[96];
	snprintf(what, sizeof what, "[%.63s]", name);
	run_line(what, line, sc.shell, NULL, sc.command_timeout_ms, ans);
	mm_service_conf_free(&sc);
}

static void serve_disk(const struct mm_config *conf, const struct mm_ps_msg *req,
		       struct mm_ps_msg *ans)
{
	const char *path = req->u.disk_run.path;
	const char *action = req->u.disk_run.lock ? "lock" : "unlock";
	if (!mm_disk_path_configured(conf, path)) {
		snprintf(ans->u.run_done.text, MM_PS_TEXT,
			 "helper: %.150s is not a partition of the config's [disk] paths", path);
		ans->u.run_done.status = -EPERM;
		return;
	}
	char key[32];
	snprintf(key, sizeof key, "%s_command", action);
	const char *line = mm_config_get(conf, "disk", key);
	const char *const kv[][2] = {{"MAILMON_DISK_PATH", path}, {"MAILMON_DISK_ACTION", action}};
	char **envp = mm_envp_new(kv, 2);
	char what[48];
	snprintf(what, sizeof what, "[disk] %s", key);
	run_line(what, line && *line ? line : NULL, mm_config_bool(conf, "disk", "shell"), envp,
		 mm_config_duration_ms(conf, "disk", "command_timeout"), ans);
	mm_envp_free(envp);
}

/* RUN of section "isolate" (index 0): [isolate]'s one root command,
 * `postfix -c DIR reload`, DIR and the command directory from this config;
 * nothing of the request but the index is used. */
/* [isolate]'s Postfix config directory, with COMMAND_DIRECTORY/name in
 * prog, when [isolate] is enabled, the request's index is index and ok
 * holds; else NULL with the refusal in ans. */
static const char *isolate_cmd(const struct mm_config *conf, const struct mm_ps_msg *req,
			       uint32_t index, bool ok, const char *name, char *prog, size_t cap,
			       struct mm_ps_msg *ans)
{
	const char *dir = mm_config_get(conf, "mta", "config_directory");
	if (req->u.run.index != index || !mm_config_bool(conf, "isolate", "enable") || !dir ||
	    !ok) {
		snprintf(ans->u.run_done.text, MM_PS_TEXT,
			 "helper: [isolate] is not enabled in the config, or no such command");
		ans->u.run_done.status = -ENOENT;
		return NULL;
	}
	const char *cd = mm_config_get(conf, "mta", "command_directory");
	snprintf(prog, cap, "%s/%s", cd && *cd ? cd : "/usr/sbin", name);
	return dir;
}

static void serve_isolate(const struct mm_config *conf, const struct mm_ps_msg *req,
			  struct mm_ps_msg *ans)
{
	char prog[600];
	const char *dir = isolate_cmd(conf, req, 0, true, "postfix", prog, sizeof prog, ans);
	if (!dir)
		return;
	char *argv[] = {prog, "-c", (char *)dir, "reload", NULL};
	ans->u.run_done.status = run_bounded(argv, NULL, 60000, &ans->u.run_done.ms);
}

/* RUN of section "isolate/DEST" (index 1): DEST's deferred mail moved
 * back to the incoming queue, one postqueue -i per message, sequentially,
 * at most MM_ISOLATE_MOVE_MAX messages and none started after
 * MM_ISOLATE_MOVE_MS. The answer text has the counts
 * (mm_isolate_move_format); status -EIO when postqueue -j failed. */
static void serve_isolate_move(const struct mm_config *conf, const struct mm_ps_msg *req,
			       struct mm_ps_msg *ans)
{
	const char *dest = req->u.run.name + strlen("isolate/");
	char prog[600];
	const char *dir = isolate_cmd(conf, req, 1, mm_isolate_dest_ok(dest), "postqueue", prog,
				      sizeof prog, ans);
	if (!dir)
		return;
	struct mm_isolate_pq pq;
	mm_isolate_pq_init(&pq, dest);
	char *argv[] = {prog, "-c", (char *)dir, "-j", NULL};
	struct mm_child_params p;
	mm_isolate_pq_params(conf, argv, &pq, &p);
	struct mm_child_result res;
	struct mm_err err = {{0}};
	if (mm_child_run(&p, &res, &err) < 0) {
		snprintf(ans->u.run_done.text, MM_PS_TEXT, "helper: postqueue -j: %.200s", err.msg);
		ans->u.run_done.status = -EIO;
		mm_isolate_pq_free(&pq);
		return;
	}
	mm_isolate_pq_end(&pq);
	int64_t deadline = mm_mono_ms() + MM_ISOLATE_MOVE_MS;
	size_t next = 0, moved = 0, failed = 0;
	char last[120] = "";
	for (; next < pq.nids && mm_mono_ms() < deadline; next++) {
		char *mv[] = {prog, "-c", (char *)dir, "-i", pq.ids[next], NULL};
		uint32_t ms = 0;
		int st = run_bounded(mv, NULL, 30000, &ms);
		if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			moved++;
		} else {
			failed++;
			snprintf(last, sizeof last, "postqueue -i %s: %s %d", pq.ids[next],
				 st < 0 ? "error" : "wait status", st);
		}
	}
	mm_isolate_move_format(ans->u.run_done.text, MM_PS_TEXT, moved, pq.nids - next, failed,
			       pq.over, pq.bad + pq.long_lines, last);
	ans->u.run_done.status = 0;
	mm_isolate_pq_free(&pq);
}

int mm_ps_serve_run(int fd, const char *conf_path, const struct mm_ps_msg *req)
{
	struct mm_ps_msg ans = {.type = MM_PS_RUN_DONE};
	ans.u.run_done.id = req->type == MM_PS_RUN ? req->u.run.id : req->u.disk_run.id;
	struct mm_diags diags = {0};
	struct mm_config *conf = mm_config_load(conf_path, &diags);
	if (!conf) {
		snprintf(ans.u.run_done.text, MM_PS_TEXT, "helper: %.240s",
			 diags.n ? diags.msgs[0] : "config does not load");
		ans.u.run_done.status = -EINVAL;
	} else if (req->type == MM_PS_RUN && strcmp(req->u.run.name, "isolate") == 0) {
		serve_isolate(conf, req, &ans);
	} else if (req->type == MM_PS_RUN && strncmp(req->u.run.name, "isolate/", 8) == 0) {
		serve_isolate_move(conf, req, &ans);
	} else if (req->type == MM_PS_RUN) {
		serve_service(conf, req, &ans);
	} else {
		serve_disk(conf, req, &ans);
	}
	mm_config_free(conf);
	mm_diags_free(&diags);
	/* The answer's text is printable ASCII on the wire: a config path or
	 * error in UTF-8 must not make the answer malformed. */
	for (char *c = ans.u.run_done.text; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	uint8_t out[512];
	int n = mm_ps_encode(&ans, out, sizeof out);
	return n < 0 ? -1 : mm_fd_send(fd, out, (size_t)n, -1);
}

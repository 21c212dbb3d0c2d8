/* ps_helper_test: the privileged helpers on a socketpair, as forked
 * processes the way mailmond runs them, against a config and a queue
 * directory in a temp dir. Allowed requests are served; forged ones (a
 * path outside the queue layout, a symlink, an unknown instance, a
 * section or partition the config does not have) are refused with an
 * errno, and malformed bytes or another role's message end the helper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fdpass.h"
#include "privsep/ps_client.h"
#include "privsep/ps_helper.h"
#include "privsep/psmsg.h"

struct fixture {
	char dir[64];
	char conf[128];
	char mark[128];
};

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/mm-pshelper-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char p[256];
	const char *dirs[] = {"queue", "queue/deferred", "queue/deferred/A", "queue/bounce",
			      "queue/defer", "disk"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", f->dir, dirs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	snprintf(p, sizeof p, "%s/queue/deferred/A/ABCDEF12345", f->dir);
	put(p, "queue file", 0700);
	snprintf(p, sizeof p, "%s/queue/bounce/ABCDEF12345", f->dir);
	put(p, "bounce log", 0600);
	snprintf(p, sizeof p, "%s/queue/deferred/A/SYMLNK12345", f->dir);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	snprintf(p, sizeof p, "%s/queue/deferred/B", f->dir);
	assert_int_equal(symlink("/etc", p), 0);
	snprintf(f->mark, sizeof f->mark, "%s/locked", f->dir);
	snprintf(f->conf, sizeof f->conf, "%s/mailmon.conf", f->dir);
	char text[2048];
	snprintf(text, sizeof text,
		 "[mta]\nconfig_directory = /etc/postfix\nqueue_directory = %s/queue\n"
		 "[service.three]\nurl = tcp://127.0.0.1:1\nrestart = /bin/sh -c 'exit 3'\n"
		 "[disk]\npaths = %s/disk\nshell = yes\n"
		 "lock_command = echo \"$MAILMON_DISK_ACTION $MAILMON_DISK_PATH\" > %s\n",
		 f->dir, f->dir, f->mark);
	put(f->conf, text, 0600);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f);
	return 0;
}

/* Forks a helper of role on a socketpair; *fd is our end. */
static pid_t spawn(const struct fixture *f, enum mm_ps_role role, int *fd)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(mm_ps_helper_serve(sv[1], f->conf, role));
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

static int helper_exit(pid_t pid, int fd)
{
	close(fd);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_opener(void **state)
{
	struct fixture *f = *state;
	int fd;
	pid_t pid = spawn(f, MM_PS_ROLE_OPEN, &fd);
	struct mm_ps_client c;
	mm_ps_client_init(&c, fd, 5000);
	int q = mm_ps_client_queue_open(&c, 0, "deferred/A/ABCDEF12345");
	assert_true(q >= 0);
	char buf[32] = {0};
	assert_int_equal(read(q, buf, sizeof buf - 1), 10);
	assert_string_equal(buf, "queue file");
	assert_int_equal(write(q, "x", 1), -1); /* read-only */
	close(q);
	int d = mm_ps_client_queue_open(&c, 0, "deferred");
	struct stat st;
	assert_true(d >= 0 && fstat(d, &st) == 0 && S_ISDIR(st.st_mode));
	close(d);
	static const struct {
		unsigned instance;
		const char *rel;
		int want;
	} refused[] = {
		{0, "deferred/A/SYMLNK12345", ELOOP}, /* a symlinked file */
		{0, "deferred/B/passwd", ENOTDIR}, /* a symlinked hash dir (O_NOFOLLOW|O_DIRECTORY) */
		{0, "bounce/ABCDEF12345", EPERM},     /* not a queue of the layout */
		{0, "deferred/A/ABC", EPERM},	      /* not a queue id */
		{0, "deferred/AB/ABCDEF12345", EPERM},
		{0, "deferred/A/B/C/D/ABCDEF12345", EPERM}, /* too deep */
		{0, "deferred/A/NOSUCHFILE1", ENOENT},
		{1, "deferred", ENXIO},  /* the config has one instance */
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		errno = 0;
		int r = mm_ps_client_queue_open(&c, refused[i].instance, refused[i].rel);
		if (r >= 0 || errno != refused[i].want)
			fail_msg("%s: fd %d errno %d, want %d", refused[i].rel, r, errno,
				 refused[i].want);
	}
	/* Listings: each entry with its lstat identity (a symlink is one,
	 * never followed); a file is not a directory. */
	struct mm_mta_dirent *ents = NULL;
	size_t n = 0;
	assert_int_equal(mm_ps_client_queue_list(&c, 0, "deferred/A", &ents, &n), 0);
	assert_int_equal(n, 2);
	char pth[256];
	snprintf(pth, sizeof pth, "%s/queue/deferred/A/ABCDEF12345", f->dir);
	struct stat want;
	assert_int_equal(lstat(pth, &want), 0);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ents[i].name, "ABCDEF12345") == 0) {
			assert_true(S_ISREG(ents[i].mode));
			assert_int_equal(ents[i].ino, want.st_ino);
			assert_int_equal(ents[i].size, 10);
			assert_int_equal(ents[i].mtime_ns, (int64_t)want.st_mtim.tv_sec * 1000000000 +
								   want.st_mtim.tv_nsec);
		} else {
			assert_string_equal(ents[i].name, "SYMLNK12345");
			assert_true(S_ISLNK(ents[i].mode));
		}
	}
	free(ents);
	assert_int_equal(mm_ps_client_queue_list(&c, 0, "deferred", &ents, &n), 0);
	assert_int_equal(n, 2); /* A (a directory) and B (a symlink) */
	free(ents);
	errno = 0;
	assert_int_equal(mm_ps_client_queue_list(&c, 0, "deferred/A/ABCDEF12345", &ents, &n), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(mm_ps_client_queue_list(&c, 0, "deferred/B", &ents, &n), -1);
	assert_int_equal(errno, ELOOP); /* the symlinked hash dir, not followed */
	/* A config the helper does not trust (group-writable) is no queue:
	 * EACCES, never the ENOENT of a queue directory that does not exist. */
	assert_int_equal(chmod(f->conf, 0620), 0);
	errno = 0;
	assert_int_equal(mm_ps_client_queue_open(&c, 0, "deferred"), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(chmod(f->conf, 0600), 0);
	d = mm_ps_client_queue_open(&c, 0, "deferred");
	assert_true(d >= 0);
	close(d);
	struct mm_ps_client_stats s = mm_ps_client_stats(&c);
	assert_int_equal(s.asked, 16);
	assert_int_equal(s.refused, 11);
	assert_false(s.dead);
	/* Forged bytes going up the tree: the helper does not answer, it
	 * exits, and the client gives up at once afterwards. */
	uint8_t raw[MM_PS_HDR + 4 + 2 * MM_PS_NAME] = {MM_PS_QUEUE_OPEN, 0, 0, 0,
						       4 + 2 * MM_PS_NAME, 0, 0, 0};
	memcpy(raw + MM_PS_HDR + 4, "deferred", 8);
	memcpy(raw + MM_PS_HDR + 4 + MM_PS_NAME, "../../etc/shadow", 16);
	assert_int_equal(mm_fd_send(fd, raw, sizeof raw, -1), 0);
	int st_pid = 0;
	assert_int_equal(waitpid(pid, &st_pid, 0), pid);
	assert_int_equal(WEXITSTATUS(st_pid), 2);
	errno = 0;
	assert_int_equal(mm_ps_client_queue_open(&c, 0, "deferred"), -1);
	assert_int_equal(errno, EPIPE);
	assert_true(mm_ps_client_stats(&c).dead);
	mm_ps_client_free(&c);
}

/* Sends a request to the runner and reads its answer. */
static void ask(int fd, const struct mm_ps_msg *req, struct mm_ps_msg *ans)
{
	uint8_t buf[512];
	int n = mm_ps_encode(req, buf, sizeof buf);
	assert_true(n > 0);
	assert_int_equal(mm_fd_send(fd, buf, (size_t)n, -1), 0);
	size_t have = 0, used = 0;
	struct mm_err err;
	for (;;) {
		int got = -1;
		ssize_t r = mm_fd_recv(fd, buf + have, sizeof buf - have, &got);
		assert_true(r > 0);
		assert_int_equal(got, -1);
		have += (size_t)r;
		int d = mm_ps_decode(buf, have, ans, &used, &err);
		assert_true(d >= 0);
		if (d == 1)
			break;
	}
	assert_int_equal(ans->type, MM_PS_RUN_DONE);
}

static void test_runner(void **state)
{
	struct fixture *f = *state;
	int fd;
	pid_t pid = spawn(f, MM_PS_ROLE_RUN, &fd);
	struct mm_ps_msg req = {.type = MM_PS_RUN}, ans;
	req.u.run.id = 1;
	strcpy(req.u.run.name, "service.three");
	ask(fd, &req, &ans);
	assert_int_equal(ans.u.run_done.id, 1);
	assert_true(WIFEXITED(ans.u.run_done.status));
	assert_int_equal(WEXITSTATUS(ans.u.run_done.status), 3);
	/* a section the config does not have */
	req.u.run.id = 2;
	strcpy(req.u.run.name, "service.nope");
	ask(fd, &req, &ans);
	assert_int_equal(ans.u.run_done.status, -ENOENT);
	assert_non_null(strstr(ans.u.run_done.text, "[service.nope]"));
	/* a command the section does not have (stop) */
	req.u.run.id = 3;
	req.u.run.index = 2;
	strcpy(req.u.run.name, "service.three");
	ask(fd, &req, &ans);
	assert_int_equal(ans.u.run_done.status, -ENOENT);
	/* not a service section */
	strcpy(req.u.run.name, "disk");
	ask(fd, &req, &ans);
	assert_int_equal(ans.u.run_done.status, -ENOENT);
	/* the lock command, for a watched path only */
	struct mm_ps_msg dr = {.type = MM_PS_DISK_RUN};
	dr.u.disk_run.id = 4;
	dr.u.disk_run.lock = 1;
	strcpy(dr.u.disk_run.path, "/etc");
	ask(fd, &dr, &ans);
	assert_int_equal(ans.u.run_done.status, -EPERM);
	assert_int_equal(access(f->mark, F_OK), -1);
	snprintf(dr.u.disk_run.path, sizeof dr.u.disk_run.path, "%s/disk", f->dir);
	ask(fd, &dr, &ans);
	assert_int_equal(ans.u.run_done.id, 4);
	assert_int_equal(ans.u.run_done.status, 0);
	char want[200], got[200] = {0};
	snprintf(want, sizeof want, "lock %s/disk\n", f->dir);
	int m = open(f->mark, O_RDONLY);
	assert_true(m >= 0);
	assert_true(read(m, got, sizeof got - 1) > 0);
	close(m);
	assert_string_equal(got, want);
	/* the unlock command is not configured */
	dr.u.disk_run.lock = 0;
	ask(fd, &dr, &ans);
	assert_int_equal(ans.u.run_done.status, -ENOENT);
	/* another role's message ends the runner */
	struct mm_ps_msg qo = {.type = MM_PS_QUEUE_OPEN};
	strcpy(qo.u.queue_open.queue, "deferred");
	uint8_t buf[256];
	int n = mm_ps_encode(&qo, buf, sizeof buf);
	assert_int_equal(mm_fd_send(fd, buf, (size_t)n, -1), 0);
	assert_int_equal(helper_exit(pid, fd), 2);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_opener, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runner, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

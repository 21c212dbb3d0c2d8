/*
 * postfix: the "postfix" MTA backend (mta.h), over one or more Postfix
 * instances (one config directory each).
 *
 * Modes ([queue] mode):
 *   direct     read the queue files (queue_scan.c); needs root or the
 *              postfix user
 *   postqueue  run `postqueue -c DIR -j` (postqueue_json.c); any user
 *   auto       direct when every queue directory can be opened, else
 *              postqueue (decided at open, reported by mode())
 * With params.opener (mailmond separated from root), direct and auto read
 * the queue files through it (the privileged helper lists the directories
 * and opens the files), without inotify: every scan walks the listings,
 * still opening and parsing only new or changed files.
 *
 * The queue directory of each instance is [mta] queue_directory when set
 * (single instance only), else `postconf -c DIR -h queue_directory`.
 * Each instance's name is its syslog_name (`postconf -c DIR -x -h
 * syslog_name`: the tag before the "/" of its log lines, "postfix-out"),
 * or the config directory's last component when postconf cannot tell.
 *
 * Ownership: the handle owns one scanner per instance (direct) or the
 * postqueue message list; snapshots borrow from them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/childproc.h"
#include "core/xalloc.h"
#include "mta/mta.h"
#include "mta/postfix/postqueue_json.h"
#include "mta/postfix/queue_scan.h"

struct pf {
	struct mm_mta_params p;
	char *conf_dirs[MM_MTA_MAX_INSTANCES];
	char *queue_dirs[MM_MTA_MAX_INSTANCES];
	char *names[MM_MTA_MAX_INSTANCES]; /* syslog_name of each */
	char *cmd_dir;
	bool direct;
	bool fell_back; /* auto mode chose postqueue: the queue was unreadable */
	struct mm_pf_scanner *scan[MM_MTA_MAX_INSTANCES];
	struct mm_pf_pq pq;
};

struct collect {
	char buf[4096];
	size_t len;
};

static int collect(void *arg, const char *buf, size_t len)
{
	struct collect *c = arg;
	size_t take = len < sizeof c->buf - 1 - c->len ? len : sizeof c->buf - 1 - c->len;
	memcpy(c->buf + c->len, buf, take);
	c->len += take;
	c->buf[c->len] = '\0';
	return 0;
}

/* `postconf -c DIR [-x] -h PARAM`, its first line into c; 0 or -1. */
static int ask_param(const char *cmd_dir, int64_t timeout_ms, const char *conf_dir,
		     const char *param, bool expand, struct collect *c, struct mm_err *err)
{
	char prog[4096];
	snprintf(prog, sizeof prog, "%s/postconf", cmd_dir);
	char *argv[] = {prog, (char *)"-c", (char *)conf_dir, (char *)"-h", (char *)param, NULL,
			NULL};
	if (expand) { /* -x before -h PARAM */
		argv[3] = (char *)"-x";
		argv[4] = (char *)"-h";
		argv[5] = (char *)param;
	}
	c->len = 0;
	c->buf[0] = '\0';
	struct mm_child_params cp = {.argv = argv, .timeout_ms = timeout_ms,
				     .max_output = sizeof c->buf, .keep_stderr = true,
				     .on_data = collect, .data_arg = c};
	struct mm_child_result res;
	if (mm_child_run(&cp, &res, err) < 0)
		return -1;
	c->buf[strcspn(c->buf, "\r\n")] = '\0';
	return 0;
}

/* `postconf -c DIR -h queue_directory`. */
static char *ask_queue_dir(const char *cmd_dir, int64_t timeout_ms, const char *conf_dir,
			   struct mm_err *err)
{
	struct collect c;
	if (ask_param(cmd_dir, timeout_ms, conf_dir, "queue_directory", false, &c, err) < 0)
		return NULL;
	if (c.buf[0] != '/') {
		mm_err_set(err, "%s: queue_directory is \"%s\", not an absolute path", conf_dir,
			   c.buf);
		return NULL;
	}
	return xstrdup(c.buf);
}

/* The instance's syslog_name, or the last component of its config
 * directory when postconf fails or prints something unusable (the name
 * only labels series; the scan does not depend on it). */
static char *ask_name(const char *cmd_dir, int64_t timeout_ms, const char *conf_dir)
{
	struct collect c;
	struct mm_err err = {{0}};
	if (ask_param(cmd_dir, timeout_ms, conf_dir, "syslog_name", true, &c, &err) == 0 &&
	    c.buf[0] && strlen(c.buf) < 64 && !strchr(c.buf, ' ') && !strchr(c.buf, '$') &&
	    !strchr(c.buf, '/'))
		return xstrdup(c.buf);
	const char *e = conf_dir + strlen(conf_dir);
	while (e > conf_dir + 1 && e[-1] == '/')
		e--;
	const char *b = e;
	while (b > conf_dir && b[-1] != '/')
		b--;
	return xstrndup(b, (size_t)(e - b));
}

static void pf_close(void *vh)
{
	struct pf *h = vh;
	for (size_t i = 0; i < MM_MTA_MAX_INSTANCES; i++) {
		mm_pf_scanner_free(h->scan[i]);
		free(h->names[i]);
		free(h->conf_dirs[i]);
		free(h->queue_dirs[i]);
	}
	mm_pf_pq_free(&h->pq);
	free(h->cmd_dir);
	free(h);
}

static bool readable(const char *qdir)
{
	static const char *const sub[] = {"incoming", "active", "deferred", "hold"};
	for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
		char path[4200];
		snprintf(path, sizeof path, "%s/%s", qdir, sub[i]);
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			return false;
		if (fd >= 0)
			close(fd);
	}
	return true;
}

static void *pf_open(const struct mm_mta_params *p, struct mm_err *err)
{
	if (p->ninstances == 0) {
		mm_err_set(err, "postfix: no config directory given");
		return NULL;
	}
	struct pf *h = xcalloc(1, sizeof *h);
	h->p = *p;
	h->cmd_dir = xstrdup(p->command_directory ? p->command_directory : "/usr/sbin");
	const char *mode = p->mode ? p->mode : "auto";
	bool want_direct = strcmp(mode, "postqueue") != 0;
	for (size_t i = 0; i < p->ninstances; i++) {
		if (!p->config_dirs[i] || p->config_dirs[i][0] != '/') {
			mm_err_set(err, "postfix: config directory \"%s\" must be an absolute path",
				   p->config_dirs[i] ? p->config_dirs[i] : "");
			goto fail;
		}
		h->conf_dirs[i] = xstrdup(p->config_dirs[i]);
		h->p.config_dirs[i] = h->conf_dirs[i];
		h->names[i] = ask_name(h->cmd_dir, p->command_timeout_ms, p->config_dirs[i]);
		if (!want_direct)
			continue;
		if (p->queue_directory && p->ninstances == 1)
			h->queue_dirs[i] = xstrdup(p->queue_directory);
		else if (!(h->queue_dirs[i] = ask_queue_dir(h->cmd_dir, p->command_timeout_ms,
							    p->config_dirs[i], err)))
			goto fail;
	}
	h->direct = want_direct;
	if (strcmp(mode, "auto") == 0 && !p->opener) {
		for (size_t i = 0; i < p->ninstances && h->direct; i++)
			h->direct = readable(h->queue_dirs[i]);
		h->fell_back = !h->direct;
	}
	if (h->direct) {
		/* inotify needs read access to the directories: not through
		 * the helper. */
		struct mm_pf_scan_opts o = {.reasons = p->reasons,
					    .watch = p->watch && !p->opener,
					    .full_every_ms = p->full_every_ms,
					    .opener = p->opener};
		for (size_t i = 0; i < p->ninstances; i++)
			h->scan[i] = mm_pf_scanner_new(h->queue_dirs[i], (unsigned)i, &o);
	}
	return h;
fail:
	pf_close(h);
	return NULL;
}

static int pf_scan(void *vh, unsigned qmask, struct mm_qsnap *snap, struct mm_err *err)
{
	struct pf *h = vh;
	int64_t t0 = mm_mono_us();
	mm_qsnap_reset(snap);
	snap->taken_s = mm_wall_ms() / 1000;
	snap->qmask = qmask;
	if (h->direct) {
		for (size_t i = 0; i < h->p.ninstances; i++)
			if (mm_pf_scanner_scan(h->scan[i], qmask, snap, err) < 0)
				return -1;
		snap->stats.duration_us = mm_mono_us() - t0;
		return 0;
	}
	mm_pf_pq_clear(&h->pq);
	for (size_t i = 0; i < h->p.ninstances; i++)
		if (mm_pf_postqueue_read(h->cmd_dir, h->conf_dirs[i], (unsigned)i,
					 h->p.command_timeout_ms, h->p.command_max_bytes, &h->pq,
					 err) < 0) {
			if (h->fell_back && err) {
				char msg[MM_ERR_MAX];
				snprintf(msg, sizeof msg, "%s", err->msg);
				mm_err_set(err, "queue directory not readable (direct mode needs root "
					   "or the postfix user), and postqueue failed: %.380s", msg);
			}
			return -1;
		}
	snap->stats.full = true;
	snap->stats.malformed = h->pq.bad_lines;
	snap->stats.oversize = h->pq.oversize;
	for (size_t i = 0; i < h->pq.n; i++) {
		snap->stats.files++;
		snap->stats.parsed++;
		if (qmask & MM_QMASK(h->pq.msgs[i]->queue))
			mm_qsnap_add(snap, h->pq.msgs[i]);
	}
	snap->stats.duration_us = mm_mono_us() - t0;
	return 0;
}

/* The privileged helper's view: instance i's queue directory. */
static char *pf_queue_dir(const struct mm_mta_params *p, size_t i, struct mm_err *err)
{
	if (i >= p->ninstances || !p->config_dirs[i] || p->config_dirs[i][0] != '/') {
		mm_err_set(err, "postfix: no instance %zu", i);
		return NULL;
	}
	if (p->queue_directory && p->ninstances == 1)
		return xstrdup(p->queue_directory);
	return ask_queue_dir(p->command_directory ? p->command_directory : "/usr/sbin",
			     p->command_timeout_ms, p->config_dirs[i], err);
}

static const char *pf_mode(void *vh)
{
	return ((struct pf *)vh)->direct ? "direct" : "postqueue";
}

static size_t pf_ninstances(void *vh)
{
	return ((struct pf *)vh)->p.ninstances;
}

static const char *pf_instance_name(void *vh, size_t i)
{
	return ((struct pf *)vh)->names[i];
}

const struct mm_mta_backend mm_mta_postfix = {
	.name = "postfix",
	.open = pf_open,
	.scan = pf_scan,
	.mode = pf_mode,
	.close = pf_close,
	.queue_dir = pf_queue_dir,
	.rel_ok = mm_pf_queue_rel_ok,
	.ninstances = pf_ninstances,
	.instance_name = pf_instance_name,
};

/*
 * queue_scan: see queue_scan.h.
 *
 * The cache is a chained hash table keyed by queue id. Each entry records
 * the file's identity and directory, and either a parsed message or why
 * the file is not one (in progress, malformed), so a bad file is not
 * re-read until it changes. A full walk marks every entry it meets with
 * the walk's generation and drops the unmarked ones of the walked queues
 * afterwards. An incremental rescan applies inotify events one file at a
 * time: a name that still exists is re-checked, a name that is gone drops
 * the entry if it was last seen in that directory (a move to another queue
 * arrives as a second event there).
 */
#include "mta/postfix/queue_scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/strpool.h"
#include "core/xalloc.h"
#include "mta/postfix/defer_log.h"
#include "mta/postfix/queue_file.h"
#include "mta/qmsg.h"
#include "mta/reason_class.h"

#define MAX_ID 40
#define MAX_DEPTH 3
#define DEFER_QUEUE 0xff /* dirs[].queue of the defer/ log tree */

enum ent_state { ST_MSG, ST_IN_PROGRESS, ST_MALFORMED, ST_OVERSIZE };

struct ent {
	struct ent *next;
	struct mm_qmsg *msg; /* ST_MSG only */
	uint64_t ino, size;
	int64_t mtime_ns, ctime_ns;
	uint32_t mode, gen;
	uint16_t dir;
	uint8_t state;
	bool racy; /* changed too recently to trust the identity next time */
	char id[MAX_ID + 1];
};

/* What identifies a version of a file: stat fields kept per entry. */
struct ident {
	uint64_t ino, size;
	int64_t mtime_ns, ctime_ns, mtime_s;
	uint32_t mode;
};

struct qdir {
	char *rel; /* "deferred/6" */
	uint8_t queue;
	int wd;
	int fd; /* open during a full walk with parallel parsing, else -1 */
};

/* A file a full walk met that is not in the cache: opened and parsed by
 * the parse threads, then settled into the cache in walk order. */
struct job {
	uint16_t dir;
	char name[MAX_ID + 1];
	int err;	     /* errno of open or fstat, else 0 */
	bool notreg, symlink;
	uint8_t state;	     /* ST_* */
	bool dropped;	     /* recipients over the cap */
	struct ident id;
	struct mm_qmsg *msg; /* ST_MSG */
	char *problem;	     /* malformed: what, heap */
};

#define PARALLEL_MIN 2000 /* new files before parsing in threads pays */
#define PARSE_THREADS 4 /* syscall-bound: more threads than cores overlap the waits */

struct mm_pf_scanner {
	char *qdir;
	unsigned instance;
	struct mm_pf_scan_opts opts;
	struct ent **tab;
	size_t nb, n;
	uint32_t gen;
	struct qdir *dirs;
	size_t ndirs, dcap;
	int ifd;
	bool need_full;
	int64_t last_full_ms;
	int64_t now_ns; /* wall clock at scan start */
	struct mm_pf_qfile qf;
	struct mm_pf_defer dl;
	struct mm_strpool pool;
	char *dbuf;
	struct mm_qscan_stats *st; /* of the scan in progress */
	bool noatime;		   /* O_NOATIME still allowed */
	bool collect;		   /* full walk: queue new files as jobs */
	struct job *jobs;
	size_t njobs, jcap;
};

static const char *const walk_queues[] = {"incoming", "active", "deferred",
					   "hold",     "maildrop", "corrupt"};

static uint64_t hash_id(const char *s)
{
	return mm_hash64(s, strlen(s));
}

static bool id_ok(const char *name)
{
	size_t n = 0;
	for (const char *p = name; *p; p++, n++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	return n >= 6 && n <= MAX_ID;
}

/* Keeps the first "WHERE: WHAT" of a scan for the log. */
static void problem(struct mm_pf_scanner *s, const char *where, const char *what)
{
	if (!s->st->first_problem[0])
		snprintf(s->st->first_problem, sizeof s->st->first_problem, "%.120s: %.120s", where,
			 what);
}

/* -- the cache ------------------------------------------------------------ */

static struct ent **slot(struct mm_pf_scanner *s, const char *id)
{
	struct ent **pp = &s->tab[hash_id(id) % s->nb];
	while (*pp && strcmp((*pp)->id, id) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void grow_table(struct mm_pf_scanner *s)
{
	size_t nb = s->nb ? s->nb * 2 : 1024;
	struct ent **tab = xcalloc(nb, sizeof *tab);
	for (size_t i = 0; i < s->nb; i++) {
		struct ent *e = s->tab[i], *next;
		for (; e; e = next) {
			next = e->next;
			size_t b = hash_id(e->id) % nb;
			e->next = tab[b];
			tab[b] = e;
		}
	}
	free(s->tab);
	s->tab = tab;
	s->nb = nb;
}

static void drop_msg(struct mm_pf_scanner *s, struct ent *e)
{
	mm_qmsg_free(e->msg, &s->pool);
	e->msg = NULL;
}

static void remove_ent(struct mm_pf_scanner *s, struct ent **pp)
{
	struct ent *e = *pp;
	*pp = e->next;
	drop_msg(s, e);
	free(e);
	s->n--;
}

static size_t add_dir(struct mm_pf_scanner *s, const char *rel, uint8_t queue)
{
	for (size_t i = 0; i < s->ndirs; i++)
		if (strcmp(s->dirs[i].rel, rel) == 0)
			return i;
	s->dirs = xgrow(s->dirs, &s->dcap, s->ndirs + 1, sizeof *s->dirs);
	struct qdir *d = &s->dirs[s->ndirs];
	d->rel = xstrdup(rel);
	d->queue = queue;
	d->wd = -1;
	d->fd = -1;
	if (s->ifd >= 0) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", s->qdir, rel);
		d->wd = inotify_add_watch(s->ifd, path,
					  IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
						  IN_CLOSE_WRITE | IN_ATTRIB | IN_ONLYDIR);
		if (d->wd < 0)
			s->need_full = true; /* cannot watch it: keep walking */
	}
	return s->ndirs++;
}

/* -- reading one message ---------------------------------------------------- */

/* Fills in each recipient's delay reason from the message's defer log, if
 * it has one. The log sits under defer/ at the same hashed path as the
 * deferred queue file, or hashed by the id's first characters. */
static void read_reasons(struct mm_pf_scanner *s, struct mm_qmsg *m, const char *dirrel)
{
	char rel[160];
	if (strncmp(dirrel, "deferred/", 9) == 0)
		snprintf(rel, sizeof rel, "defer/%.64s/%s", dirrel + 9, m->id);
	else
		snprintf(rel, sizeof rel, "defer/%c/%s", m->id[0], m->id);
	int fd;
	if (s->opts.opener) {
		fd = s->opts.opener->open(s->opts.opener->ctx, s->instance, rel);
	} else {
		char path[4200];
		snprintf(path, sizeof path, "%s/%s", s->qdir, rel);
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		for (uint32_t i = 0; i < m->nrcpt; i++) {
			mm_strpool_put(&s->pool, m->rcpt[i].reason);
			m->rcpt[i].reason = NULL;
			m->rcpt[i].rclass = MM_RC_NONE;
			m->rcpt[i].code = 0;
			m->rcpt[i].cause = MM_RC_NONE;
		}
		return;
	}
	if (!s->dbuf)
		s->dbuf = xmalloc(MM_PF_DEFER_MAX_BYTES);
	size_t len = 0;
	while (len < MM_PF_DEFER_MAX_BYTES) {
		ssize_t r = read(fd, s->dbuf + len, MM_PF_DEFER_MAX_BYTES - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	char extra;
	if (len == MM_PF_DEFER_MAX_BYTES && read(fd, &extra, 1) == 1)
		s->st->oversize++; /* parse what fits; newest entries may be cut */
	close(fd);
	s->st->defer_logs++;
	mm_pf_defer_parse(s->dbuf, len, &s->dl);
	s->st->oversize += s->dl.oversize;
	for (uint32_t i = 0; i < m->nrcpt; i++) {
		struct mm_qrcpt *r = &m->rcpt[i];
		const struct mm_pf_defer_ent *de = mm_pf_defer_find(&s->dl, r->addr);
		mm_strpool_put(&s->pool, r->reason);
		r->reason = NULL;
		r->code = 0;
		r->rclass = MM_RC_NONE;
		r->cause = MM_RC_NONE;
		if (de && (de->reason || de->status)) {
			if (de->reason)
				r->reason = mm_strpool_get(&s->pool, de->reason, strlen(de->reason));
			r->rclass = (uint8_t)mm_rclass_of(de->reason, de->status, &r->code);
			uint16_t ccode;
			r->cause = (uint8_t)mm_rclass_cause(de->reason, de->status, &ccode);
		}
	}
}

/* Parses the open file fd into e (which has its identity set). */
static int64_t ts_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static struct ident ident_of(const struct stat *st)
{
	return (struct ident){.ino = (uint64_t)st->st_ino, .size = (uint64_t)st->st_size,
			      .mtime_ns = ts_ns(st->st_mtim), .ctime_ns = ts_ns(st->st_ctim),
			      .mtime_s = (int64_t)st->st_mtim.tv_sec, .mode = (uint32_t)st->st_mode};
}

static bool same_identity(const struct ent *e, const struct stat *st)
{
	return !e->racy && e->ino == (uint64_t)st->st_ino && e->size == (uint64_t)st->st_size &&
	       e->mtime_ns == ts_ns(st->st_mtim) && e->ctime_ns == ts_ns(st->st_ctim) &&
	       e->mode == (uint32_t)st->st_mode;
}

static void set_ident(struct mm_pf_scanner *s, struct ent *e, const struct ident *id)
{
	e->ino = id->ino;
	e->size = id->size;
	e->mtime_ns = id->mtime_ns;
	e->ctime_ns = id->ctime_ns;
	e->mode = id->mode;
	e->racy = e->ctime_ns >= s->now_ns - 1000000000LL;
}

static void set_identity(struct mm_pf_scanner *s, struct ent *e, const struct stat *st)
{
	struct ident id = ident_of(st);
	set_ident(s, e, &id);
}

/* Parses the open queue file fd. Returns the message, or NULL with
 * *state (ST_MALFORMED, ST_OVERSIZE) and problem set. Thread-safe: uses
 * only qf, which belongs to the caller. */
static struct mm_qmsg *parse_file(struct mm_pf_qfile *qf, int fd, const struct ident *fid,
				  const char *id, uint8_t queue, unsigned instance, uint8_t *state,
				  char *problem, size_t pcap)
{
	struct mm_pf_src src = {.read_at = mm_pf_fd_read_at, .ctx = &fd};
	enum mm_pf_status rc = mm_pf_qfile_parse(&src, qf);
	if (rc != MM_PF_OK) {
		*state = rc == MM_PF_OVERSIZE ? ST_OVERSIZE : ST_MALFORMED;
		snprintf(problem, pcap, "%s", qf->problem);
		return NULL;
	}
	struct mm_qrcpt rc_stack[64];
	struct mm_qrcpt *rcpt = qf->nrcpt <= 64 ? rc_stack : xcalloc(qf->nrcpt, sizeof *rcpt);
	for (size_t i = 0; i < qf->nrcpt; i++)
		rcpt[i] = (struct mm_qrcpt){.addr = mm_pf_qfile_rcpt(qf, i)};
	struct mm_qmsg tmpl = {
		.id = id,
		.sender = mm_pf_qfile_sender(qf),
		.arrival = qf->arrival >= 0 ? qf->arrival : fid->mtime_s,
		.size = qf->has_size_rec ? qf->size : fid->size,
		.queue = queue,
		.instance = (uint8_t)instance,
		.nrcpt = (uint32_t)qf->nrcpt,
		.rcpt = rcpt,
	};
	struct mm_qmsg *m = mm_qmsg_new(&tmpl);
	*state = ST_MSG;
	if (rcpt != rc_stack)
		free(rcpt);
	return m;
}

/* Sets e's parse result (msg or a problem state) and reads reasons. */
static void settle_msg(struct mm_pf_scanner *s, struct ent *e, struct mm_qmsg *msg,
		       uint8_t state, const char *why, bool dropped)
{
	drop_msg(s, e);
	s->st->parsed++;
	e->state = state;
	e->msg = msg;
	if (!msg) {
		char qrel[256];
		snprintf(qrel, sizeof qrel, "%s/%s", s->dirs[e->dir].rel, e->id);
		problem(s, qrel, why);
		return;
	}
	if (dropped)
		s->st->oversize++;
	if (s->opts.reasons)
		read_reasons(s, e->msg, s->dirs[e->dir].rel);
}

static void parse_into(struct mm_pf_scanner *s, struct ent *e, int fd, const struct stat *st)
{
	uint8_t state = ST_MALFORMED;
	char why[96];
	struct ident fid = ident_of(st);
	struct mm_qmsg *m = parse_file(&s->qf, fd, &fid, e->id, s->dirs[e->dir].queue, s->instance,
				       &state, why, sizeof why);
	settle_msg(s, e, m, state, why, s->qf.rcpt_dropped > 0);
}

/* Opens a queue file without updating its atime: deferred files have
 * their mtime in the future (the next retry), so with relatime every read
 * would write the inode. O_NOATIME needs the file's owner or root.
 * Through the opener (the privileged helper) the file is di's rel/name. */
static int open_file(struct mm_pf_scanner *s, int dfd, size_t di, const char *name)
{
	if (s->opts.opener) {
		char rel[300];
		snprintf(rel, sizeof rel, "%s/%s", s->dirs[di].rel, name);
		return s->opts.opener->open(s->opts.opener->ctx, s->instance, rel);
	}
	bool *noatime = &s->noatime;
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
	if (__atomic_load_n(noatime, __ATOMIC_RELAXED)) {
		int fd = openat(dfd, name, flags | O_NOATIME);
		if (fd >= 0 || errno != EPERM)
			return fd;
		__atomic_store_n(noatime, false, __ATOMIC_RELAXED);
	}
	return openat(dfd, name, flags);
}

/* Looks at one directory entry: the file name in queue dir index di (open
 * as dfd; -1 when listed through the opener, with its identity in
 * listed). Returns nothing: every outcome is a counter or a cache entry. */
static void visit(struct mm_pf_scanner *s, int dfd, size_t di, const char *name,
		  const struct stat *listed)
{
	if (!id_ok(name))
		return;
	struct ent **pp = slot(s, name);
	struct ent *e = *pp;
	if (e && e->gen == s->gen && e->dir != di) {
		s->st->duplicates++; /* moved while we walked; seen already */
		return;
	}
	if (!e && s->collect) {
		s->jobs = xgrow(s->jobs, &s->jcap, s->njobs + 1, sizeof *s->jobs);
		struct job *j = &s->jobs[s->njobs++];
		memset(j, 0, sizeof *j);
		j->dir = (uint16_t)di;
		snprintf(j->name, sizeof j->name, "%s", name);
		return;
	}
	struct stat st;
	int fd = -1;
	if (e && listed) {
		st = *listed;
	} else if (e && !s->opts.opener) {
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			goto stat_failed;
	} else {
		/* Through the helper the directory cannot be searched by this
		 * process: the file is stat'ed through its descriptor. */
		fd = open_file(s, dfd, di, name);
		if (fd < 0 && errno == ELOOP) {
			return; /* a symlink is not a queue file */
		}
		if (fd < 0 || fstat(fd, &st) < 0)
			goto stat_failed;
	}
	if (!S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	s->st->files++;
	if (!e) {
		if (s->n >= s->nb)
			grow_table(s);
		pp = slot(s, name);
		e = xcalloc(1, sizeof *e);
		snprintf(e->id, sizeof e->id, "%s", name);
		e->next = NULL;
		*pp = e;
		s->n++;
		e->ino = (uint64_t)-1;
	}
	e->gen = s->gen;
	bool moved = e->dir != di;
	e->dir = (uint16_t)di;
	if (same_identity(e, &st) && !(moved && e->state == ST_MSG && s->opts.reasons &&
				      s->dirs[di].queue == MM_Q_DEFERRED)) {
		if (e->msg)
			e->msg->queue = s->dirs[di].queue;
		s->st->reused++;
		goto out;
	}
	set_identity(s, e, &st);
	if ((st.st_mode & S_IRWXU) != S_IRWXU) {
		drop_msg(s, e);
		e->state = ST_IN_PROGRESS; /* Postfix chmods 0700 when complete */
		goto out;
	}
	if (fd < 0) {
		fd = open_file(s, dfd, di, name);
		if (fd < 0)
			goto open_failed;
	}
	parse_into(s, e, fd, &st);
out:
	if (fd >= 0)
		close(fd);
	return;
stat_failed:
open_failed:;
	int saved = errno; /* close() may change errno */
	if (fd >= 0)
		close(fd);
	if (saved == ENOENT) {
		s->st->vanished++;
		e = *slot(s, name);
		if (e && e->dir == di)
			remove_ent(s, slot(s, name));
		return;
	}
	char qrel[256];
	snprintf(qrel, sizeof qrel, "%s/%s", s->dirs[di].rel, name);
	s->st->unreadable++;
	problem(s, qrel, strerror(saved));
}

/* Walks directory rel (queue q) recursively. top: the queue's own dir,
 * whose failure fails the scan. */
static int walk(struct mm_pf_scanner *s, const char *rel, uint8_t q, int depth, bool top,
		struct mm_err *err)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", s->qdir, rel);
	/* A directory descriptor from the helper lists (getdents needs no
	 * search right); its files are opened through the helper too. */
	int dfd = s->opts.opener ? s->opts.opener->open(s->opts.opener->ctx, s->instance, rel)
				 : open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dir) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		if (e == ENOENT && (top || depth > 0))
			return 0; /* maildrop or corrupt may not exist; subdir removed */
		if (top && s->opts.opener)
			return mm_err_sys(err, e, "the privileged helper cannot open %s (it takes "
					  "the queue directory from its own load of the config, "
					  "which must be root's and not group- or world-writable)",
					  path);
		if (top)
			return mm_err_sys(err, e, "cannot read %s (direct mode needs root or the "
					  "postfix user; use [queue] mode = postqueue or "
					  "--mode postqueue otherwise)", path);
		s->st->unreadable++;
		problem(s, rel, strerror(e));
		return 0;
	}
	size_t di = add_dir(s, rel, q);
	if (s->collect && q != DEFER_QUEUE && s->dirs[di].fd < 0)
		s->dirs[di].fd = fcntl(dirfd(dir), F_DUPFD_CLOEXEC, 0);
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		const char *name = de->d_name;
		if (name[0] == '.')
			continue;
		bool isdir = de->d_type == DT_DIR;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;
			isdir = fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				S_ISDIR(st.st_mode);
		}
		if (isdir) {
			if (depth < MAX_DEPTH && strlen(name) == 1) {
				char sub[256];
				int n = snprintf(sub, sizeof sub, "%s/%s", rel, name);
				if (n > 0 && (size_t)n < sizeof sub)
					walk(s, sub, q, depth + 1, false, err);
			}
			continue;
		}
		if (q != DEFER_QUEUE)
			visit(s, dirfd(dir), di, name, NULL);
	}
	closedir(dir);
	return 0;
}

/* walk() through the opener's listings: the helper lstat()s each entry,
 * so an unchanged file costs no request of its own. */
static int walk_listed(struct mm_pf_scanner *s, const char *rel, uint8_t q, int depth,
		       bool top, struct mm_err *err)
{
	const struct mm_mta_opener *o = s->opts.opener;
	struct mm_mta_dirent *ents = NULL;
	size_t n = 0;
	if (o->list(o->ctx, s->instance, rel, &ents, &n) < 0) {
		int e = errno;
		if (e == ENOENT && (top || depth > 0))
			return 0; /* maildrop or corrupt may not exist; subdir removed */
		if (top)
			return mm_err_sys(err, e, "the privileged helper cannot list %s/%s (it "
					  "takes the queue directory from its own load of the "
					  "config, which must be root's and not group- or "
					  "world-writable)", s->qdir, rel);
		s->st->unreadable++;
		problem(s, rel, strerror(e));
		return 0;
	}
	size_t di = add_dir(s, rel, q);
	for (size_t i = 0; i < n; i++) {
		const struct mm_mta_dirent *de = &ents[i];
		if (S_ISDIR(de->mode)) {
			if (depth < MAX_DEPTH && strlen(de->name) == 1) {
				char sub[256];
				int k = snprintf(sub, sizeof sub, "%s/%s", rel, de->name);
				if (k > 0 && (size_t)k < sizeof sub)
					walk_listed(s, sub, q, depth + 1, false, err);
			}
			continue;
		}
		if (q == DEFER_QUEUE)
			continue;
		struct stat st;
		memset(&st, 0, sizeof st);
		st.st_mode = (mode_t)de->mode;
		st.st_ino = (ino_t)de->ino;
		st.st_size = (off_t)de->size;
		st.st_mtim.tv_sec = (time_t)(de->mtime_ns / 1000000000);
		st.st_mtim.tv_nsec = (long)(de->mtime_ns % 1000000000);
		st.st_ctim.tv_sec = (time_t)(de->ctime_ns / 1000000000);
		st.st_ctim.tv_nsec = (long)(de->ctime_ns % 1000000000);
		if (S_ISREG(st.st_mode))
			visit(s, -1, di, de->name, &st);
	}
	free(ents);
	return 0;
}

/* -- parallel parsing of a full walk's new files ------------------------------ */

struct jobrun {
	struct mm_pf_scanner *s;
	size_t from, step;
};

/* Opens, checks and parses every step-th job. Touches only its jobs, the
 * read-only directory table and its own parse buffers. */
static void *job_worker(void *arg)
{
	struct jobrun *r = arg;
	struct mm_pf_scanner *s = r->s;
	struct mm_pf_qfile qf = {0};
	for (size_t i = r->from; i < s->njobs; i += r->step) {
		struct job *j = &s->jobs[i];
		int fd = open_file(s, s->dirs[j->dir].fd, j->dir, j->name);
		if (fd < 0) {
			if (errno == ELOOP)
				j->symlink = true;
			else
				j->err = errno;
			continue;
		}
		struct stat st;
		if (fstat(fd, &st) < 0) {
			j->err = errno;
		} else if (!S_ISREG(st.st_mode)) {
			j->notreg = true;
		} else if ((st.st_mode & S_IRWXU) != S_IRWXU) {
			j->id = ident_of(&st);
			j->state = ST_IN_PROGRESS;
		} else {
			char why[96];
			j->id = ident_of(&st);
			j->msg = parse_file(&qf, fd, &j->id, j->name, s->dirs[j->dir].queue,
					    s->instance, &j->state, why, sizeof why);
			if (!j->msg)
				j->problem = xstrdup(why);
			j->dropped = qf.rcpt_dropped > 0;
		}
		close(fd);
	}
	mm_pf_qfile_free(&qf);
	return NULL;
}

/* Puts one parsed job into the cache, as visit() would have. */
static void settle_job(struct mm_pf_scanner *s, struct job *j)
{
	if (j->symlink || j->notreg)
		return;
	if (j->err) {
		if (j->err == ENOENT) {
			s->st->vanished++;
			return;
		}
		char qrel[256];
		snprintf(qrel, sizeof qrel, "%s/%s", s->dirs[j->dir].rel, j->name);
		s->st->unreadable++;
		problem(s, qrel, strerror(j->err));
		return;
	}
	s->st->files++;
	struct ent *e = *slot(s, j->name);
	if (e && e->gen == s->gen) {
		s->st->duplicates++; /* also met in another directory of this walk */
		mm_qmsg_free(j->msg, NULL);
		j->msg = NULL;
		return;
	}
	if (!e) {
		if (s->n >= s->nb)
			grow_table(s);
		struct ent **pp = slot(s, j->name);
		e = xcalloc(1, sizeof *e);
		memcpy(e->id, j->name, sizeof e->id);
		*pp = e;
		s->n++;
	}
	e->gen = s->gen;
	e->dir = j->dir;
	set_ident(s, e, &j->id);
	if (j->state == ST_IN_PROGRESS) {
		drop_msg(s, e);
		e->state = ST_IN_PROGRESS;
		return;
	}
	settle_msg(s, e, j->msg, j->state, j->problem ? j->problem : "", j->dropped);
}

static void run_jobs(struct mm_pf_scanner *s)
{
	size_t nthreads = s->njobs >= PARALLEL_MIN ? PARSE_THREADS : 1;
	pthread_t th[PARSE_THREADS];
	struct jobrun runs[PARSE_THREADS];
	size_t started = 0;
	for (size_t t = 1; t < nthreads; t++) {
		runs[t] = (struct jobrun){s, t, nthreads};
		if (pthread_create(&th[t], NULL, job_worker, &runs[t]) != 0)
			break;
		started = t;
	}
	if (started + 1 < nthreads) {
		/* A thread did not start: the caller does the rest alone. */
		for (size_t t = 1; t <= started; t++)
			pthread_join(th[t], NULL);
		started = 0;
		nthreads = 1;
	}
	runs[0] = (struct jobrun){s, 0, nthreads};
	job_worker(&runs[0]);
	for (size_t t = 1; t <= started; t++)
		pthread_join(th[t], NULL);
	for (size_t i = 0; i < s->njobs; i++) {
		settle_job(s, &s->jobs[i]);
		free(s->jobs[i].problem);
	}
	/* The list is as long as the queue on a first walk: give it back. */
	free(s->jobs);
	s->jobs = NULL;
	s->njobs = s->jcap = 0;
	for (size_t i = 0; i < s->ndirs; i++)
		if (s->dirs[i].fd >= 0) {
			close(s->dirs[i].fd);
			s->dirs[i].fd = -1;
		}
}

/* Drops entries of the walked queues that the walk did not meet. */
static void sweep(struct mm_pf_scanner *s, unsigned qmask)
{
	for (size_t i = 0; i < s->nb; i++) {
		struct ent **pp = &s->tab[i];
		while (*pp) {
			struct ent *e = *pp;
			uint8_t q = s->dirs[e->dir].queue;
			if (e->gen != s->gen && q != DEFER_QUEUE && (qmask & MM_QMASK(q)))
				remove_ent(s, pp);
			else
				pp = &e->next;
		}
	}
}

static int full_walk(struct mm_pf_scanner *s, unsigned qmask, struct mm_err *err)
{
	s->st->full = true;
	s->collect = true;
	for (unsigned q = 0; q < MM_Q_N; q++) {
		if (!(qmask & MM_QMASK(q)))
			continue;
		int rc = s->opts.opener && s->opts.opener->list
				 ? walk_listed(s, walk_queues[q], (uint8_t)q, 0, true, err)
				 : walk(s, walk_queues[q], (uint8_t)q, 0, true, err);
		if (rc < 0) {
			s->collect = false;
			run_jobs(s); /* settle what was found; the scan still fails */
			return -1;
		}
	}
	s->collect = false;
	run_jobs(s);
	if (s->ifd >= 0 && s->opts.reasons)
		walk(s, "defer", DEFER_QUEUE, 0, false, err); /* only to watch it */
	sweep(s, qmask);
	return 0;
}

/* -- inotify ----------------------------------------------------------------- */

static size_t dir_of_wd(struct mm_pf_scanner *s, int wd)
{
	for (size_t i = 0; i < s->ndirs; i++)
		if (s->dirs[i].wd == wd)
			return i;
	return (size_t)-1;
}

static void on_event(struct mm_pf_scanner *s, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		s->need_full = true;
		return;
	}
	size_t di = dir_of_wd(s, ev->wd);
	if (di == (size_t)-1 || !ev->len)
		return;
	if (ev->mask & IN_IGNORED) {
		s->dirs[di].wd = -1;
		return;
	}
	char rel[256];
	snprintf(rel, sizeof rel, "%s", s->dirs[di].rel);
	uint8_t q = s->dirs[di].queue;
	if (ev->mask & IN_ISDIR) {
		if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && strlen(ev->name) == 1) {
			char sub[300];
			snprintf(sub, sizeof sub, "%s/%s", rel, ev->name);
			struct mm_err err;
			walk(s, sub, q, 1, false, &err); /* watch it and read what is there */
		}
		return;
	}
	if (q == DEFER_QUEUE) {
		struct ent *e = *slot(s, ev->name);
		if (e && e->msg)
			read_reasons(s, e->msg, s->dirs[e->dir].rel);
		return;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", s->qdir, rel);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		s->need_full = true;
		return;
	}
	s->gen++; /* a fresh mark, so a move is not taken for a duplicate */
	visit(s, dfd, di, ev->name, NULL);
	close(dfd);
}

/* Applies the queued events. Returns false when a full walk is needed. */
static bool apply_events(struct mm_pf_scanner *s)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t r = read(s->ifd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (char *p = buf; p < buf + r;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
			on_event(s, ev);
			p += sizeof *ev + ev->len;
		}
	}
	return !s->need_full;
}

/* -- public ------------------------------------------------------------------ */

static bool one_char_dir(const char *p, size_t n)
{
	return n == 1 && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			  (*p >= '0' && *p <= '9'));
}

bool mm_pf_queue_rel_ok(const char *rel)
{
	/* The master's pid file: [isolate] finds the instance's
	 * trivial-rewrite processes by their parent (a pid is no secret). */
	if (strcmp(rel, "pid/master.pid") == 0)
		return true;
	static const char *const top[] = {"incoming", "active",	 "deferred", "hold",
					  "maildrop", "corrupt", "defer"};
	size_t n = strcspn(rel, "/");
	bool known = false;
	for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
		known |= strlen(top[i]) == n && strncmp(rel, top[i], n) == 0;
	if (!known)
		return false;
	int hashdirs = 0;
	for (const char *p = rel + n; *p;) {
		p++; /* the '/' */
		size_t k = strcspn(p, "/");
		char id[MAX_ID + 1];
		if (one_char_dir(p, k) && hashdirs < MAX_DEPTH) {
			hashdirs++;
		} else if (k <= MAX_ID && !p[k]) {
			memcpy(id, p, k);
			id[k] = '\0';
			return id_ok(id); /* the last component */
		} else {
			return false;
		}
		p += k;
	}
	return true;
}

struct mm_pf_scanner *mm_pf_scanner_new(const char *queue_dir, unsigned instance,
					const struct mm_pf_scan_opts *opts)
{
	struct mm_pf_scanner *s = xcalloc(1, sizeof *s);
	s->qdir = xstrdup(queue_dir);
	s->instance = instance;
	s->opts = *opts;
	s->ifd = opts->watch ? inotify_init1(IN_NONBLOCK | IN_CLOEXEC) : -1;
	s->need_full = true;
	s->noatime = true;
	grow_table(s);
	return s;
}

bool mm_pf_scanner_incremental(const struct mm_pf_scanner *s)
{
	return s->ifd >= 0 && !s->need_full;
}

int mm_pf_scanner_scan(struct mm_pf_scanner *s, unsigned qmask, struct mm_qsnap *snap,
		       struct mm_err *err)
{
	struct mm_qscan_stats st = {0};
	int64_t t0 = mm_mono_us();
	s->st = &st;
	s->now_ns = mm_wall_ms() * 1000000;
	int rc = 0;
	bool incremental = s->ifd >= 0 && !s->need_full &&
			   (s->opts.full_every_ms <= 0 ||
			    mm_mono_ms() - s->last_full_ms < s->opts.full_every_ms);
	if (incremental)
		incremental = apply_events(s);
	if (!incremental) {
		s->need_full = false;
		s->gen++;
		if (s->ifd >= 0)
			apply_events(s); /* discard: the walk sees the result */
		s->need_full = false;
		rc = full_walk(s, s->ifd >= 0 ? MM_QMASK_ALL : qmask, err);
		s->last_full_ms = mm_mono_ms();
		if (rc < 0)
			s->need_full = true;
	}
	/* Racy entries need no pass of their own: a later write to one raises
	 * an inotify event, and visit() never trusts a racy identity. */
	for (size_t i = 0; i < s->nb; i++)
		for (struct ent *e = s->tab[i]; e; e = e->next) {
			uint8_t q = s->dirs[e->dir].queue;
			if (q == DEFER_QUEUE || !(qmask & MM_QMASK(q)))
				continue;
			if (incremental)
				st.files++;
			switch (e->state) {
			case ST_MSG: mm_qsnap_add(snap, e->msg); break;
			case ST_IN_PROGRESS: st.in_progress++; break;
			case ST_MALFORMED: st.malformed++; break;
			case ST_OVERSIZE: st.oversize++; break;
			}
		}
	st.duration_us = mm_mono_us() - t0;
	struct mm_qscan_stats *t = &snap->stats;
	t->files += st.files;
	t->parsed += st.parsed;
	t->reused += st.reused;
	t->vanished += st.vanished;
	t->in_progress += st.in_progress;
	t->malformed += st.malformed;
	t->oversize += st.oversize;
	t->unreadable += st.unreadable;
	t->duplicates += st.duplicates;
	t->defer_logs += st.defer_logs;
	t->full = t->full || st.full;
	if (!t->first_problem[0])
		memcpy(t->first_problem, st.first_problem, sizeof t->first_problem);
	s->st = NULL;
	return rc;
}

void mm_pf_scanner_free(struct mm_pf_scanner *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nb; i++) {
		struct ent *e = s->tab[i], *next;
		for (; e; e = next) {
			next = e->next;
			mm_qmsg_free(e->msg, &s->pool);
			free(e);
		}
	}
	free(s->tab);
	for (size_t i = 0; i < s->ndirs; i++)
		free(s->dirs[i].rel);
	free(s->dirs);
	free(s->jobs);
	if (s->ifd >= 0)
		close(s->ifd);
	mm_pf_qfile_free(&s->qf);
	mm_pf_defer_free(&s->dl);
	mm_strpool_free(&s->pool);
	free(s->dbuf);
	free(s->qdir);
	free(s);
}

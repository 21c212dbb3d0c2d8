/*
 * tailer: see tailer.h.
 *
 * State: one open fd (the file being read, which after a rotation may no
 * longer be the one at the path), the next read offset rd_off, and a
 * linebuf whose `consumed` is the file offset after the last delivered
 * line. Reads use pread() at rd_off so the offset is ours, not the fd's.
 *
 * The end of the file is where every decision is taken: shrunk below
 * rd_off -> truncated (copytruncate), restart at 0; the path names another
 * file -> the one we hold was rotated away, and since we are at its end
 * (and it has been quiet for the grace time) we switch. Deciding only at
 * EOF is what guarantees that an old file is always finished first.
 */
#include "sources/tailer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/xalloc.h"
#include "sources/backlog.h"

#define READ_LIMIT_DEFAULT (4u << 20)
#define CHUNK_DEFAULT (256u << 10)

struct mm_tailer {
	char *path, *path1; /* PATH and PATH.1 */
	struct mm_tailer_opts o;
	int fd;
	uint64_t dev, ino;
	int next_fd; /* while finishing: the file that followed at PATH, or -1 */
	uint64_t next_dev, next_ino;
	uint64_t rd_off;
	bool finishing;	 /* fd is no longer the file at PATH */
	bool first;	 /* no saved position: start_at_end applies */
	bool started;
	bool waiting_noted;
	int64_t last_data_mono, rot_seen_mono;
	uint64_t last_len, last_hash; /* last delivered line before consumed */
	struct mm_linebuf lb;
	struct mm_tailer_stats st;
	struct mm_backlog *bl; /* rotated files to read before PATH, or NULL */
};

/* Every tailer message is a notice (rotation, truncation, a file missing). */
#define notice(t, ...) mm_logsink_printf(&(t)->o.notice, LOG_NOTICE, __VA_ARGS__)

struct mm_tailer *mm_tailer_new(const char *path, const struct mm_tailer_opts *opts)
{
	struct mm_tailer *t = xcalloc(1, sizeof *t);
	t->path = xstrdup(path);
	t->path1 = xasprintf("%s.1", path);
	if (opts)
		t->o = *opts;
	if (!t->o.line_max)
		t->o.line_max = MM_LINE_MAX_DEFAULT;
	if (!t->o.read_limit)
		t->o.read_limit = READ_LIMIT_DEFAULT;
	if (!t->o.chunk)
		t->o.chunk = CHUNK_DEFAULT;
	t->fd = -1;
	t->next_fd = -1;
	mm_linebuf_init(&t->lb, t->o.chunk, t->o.line_max);
	return t;
}

void mm_tailer_free(struct mm_tailer *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	if (t->next_fd >= 0)
		close(t->next_fd);
	mm_linebuf_free(&t->lb);
	mm_backlog_free(t->bl);
	free(t->path);
	free(t->path1);
	free(t);
}

const char *mm_tailer_path(const struct mm_tailer *t)
{
	return t->path;
}

const char *mm_tailer_state(const struct mm_tailer *t)
{
	struct stat st;
	if (t->fd < 0 && stat(t->path, &st) == 0 && !S_ISREG(st.st_mode))
		return S_ISFIFO(st.st_mode)  ? "not a regular file: a FIFO; waiting for a file"
		       : S_ISDIR(st.st_mode) ? "not a regular file: a directory; waiting for a file"
		       : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)
			       ? "not a regular file: a device; waiting for a file"
			       : "not a regular file; waiting for a file";
	if (t->fd < 0)
		return "waiting for file";
	return t->finishing ? "finishing rotated file" : "reading";
}

const struct mm_tailer_stats *mm_tailer_stats(const struct mm_tailer *t)
{
	return &t->st;
}

void mm_tailer_position(const struct mm_tailer *t, struct mm_filepos *out)
{
	memset(out, 0, sizeof *out);
	if (t->bl) {
		mm_backlog_position(t->bl, out);
		return;
	}
	if (t->fd < 0)
		return;
	/* A rotated file read to its very end (waiting out the grace time):
	 * the resume point is the start of the file now at PATH. Saving the
	 * old file instead would lose PATH's lines if it, too, is rotated
	 * away before a restart. */
	struct stat fs, ps;
	if (t->finishing && t->rd_off == t->lb.consumed && fstat(t->fd, &fs) == 0 &&
	    (uint64_t)fs.st_size == t->rd_off) {
		if (t->next_fd >= 0) {
			out->dev = t->next_dev;
			out->ino = t->next_ino;
			return;
		}
		if (stat(t->path, &ps) == 0 && S_ISREG(ps.st_mode) &&
		    ((uint64_t)ps.st_ino != t->ino || (uint64_t)ps.st_dev != t->dev)) {
			out->dev = (uint64_t)ps.st_dev;
			out->ino = (uint64_t)ps.st_ino;
			return;
		}
	}
	out->dev = t->dev;
	out->ino = t->ino;
	out->offset = t->lb.consumed;
	out->line_len = t->last_len;
	out->line_hash = t->last_hash;
}

/* Opens path read-only; a regular file only (a FIFO or device has no
 * position to resume). Returns the fd and fills st, or -1 with errno. */
static int open_regular(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	int e = 0;
	if (fstat(fd, st) < 0)
		e = errno;
	else if (!S_ISREG(st->st_mode))
		e = EINVAL;
	if (e) {
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Makes fd the file being read, from offset off with the given last line. */
static void adopt(struct mm_tailer *t, int fd, const struct stat *st, uint64_t off,
		  uint64_t last_len, uint64_t last_hash)
{
	if (t->fd >= 0 && t->fd != fd)
		close(t->fd);
	t->fd = fd;
	t->dev = (uint64_t)st->st_dev;
	t->ino = (uint64_t)st->st_ino;
	t->rd_off = off;
	t->last_len = last_len;
	t->last_hash = last_hash;
	t->finishing = false;
	t->rot_seen_mono = 0;
	t->last_data_mono = mm_mono_ms();
	t->waiting_noted = false;
	mm_linebuf_reset(&t->lb, off);
#ifdef POSIX_FADV_SEQUENTIAL
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
}

static int pread_all(int fd, char *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Does the file hold, just before pos->offset, the line that was last
 * delivered when the position was saved? */
static bool verify_line(struct mm_tailer *t, int fd, const struct mm_filepos *pos)
{
	if (pos->offset == 0 || pos->line_len == 0)
		return true; /* nothing to check against */
	if (pos->line_len > pos->offset)
		return false;
	size_t n = pos->line_len > t->o.line_max + 2 ? t->o.line_max : (size_t)pos->line_len;
	char *buf = xmalloc(n ? n : 1);
	bool ok = false;
	if (pread_all(fd, buf, n, pos->offset - pos->line_len) == 0) {
		size_t len = n;
		if (n == pos->line_len)
			mm_line_normalize(buf, n, t->o.line_max, &len);
		ok = mm_hash64(buf, len) == pos->line_hash;
	}
	free(buf);
	return ok;
}

/* The offset just after the last newline of the file (start_at_end). */
static uint64_t last_line_end(struct mm_tailer *t, int fd, uint64_t size)
{
	size_t win = t->o.line_max + 2;
	if (size < win)
		win = (size_t)size;
	if (win == 0)
		return 0;
	char *buf = xmalloc(win);
	uint64_t off = size;
	if (pread_all(fd, buf, win, size - win) == 0) {
		char *nl = memrchr(buf, '\n', win);
		if (nl)
			off = size - win + (uint64_t)(nl - buf) + 1;
		else if (win == size)
			off = 0; /* one unfinished line: read it when it ends */
	}
	free(buf);
	return off;
}

/* Remembers the file that follows the one being finished (fd may be -1:
 * PATH is opened when the switch comes). */
static void set_next(struct mm_tailer *t, int fd)
{
	struct stat st;
	if (t->next_fd >= 0 && t->next_fd != fd)
		close(t->next_fd);
	t->next_fd = -1;
	if (fd >= 0 && fstat(fd, &st) == 0) {
		if ((uint64_t)st.st_ino == t->ino && (uint64_t)st.st_dev == t->dev) {
			close(fd); /* not a successor: the file itself */
			return;
		}
		t->next_fd = fd;
		t->next_dev = (uint64_t)st.st_dev;
		t->next_ino = (uint64_t)st.st_ino;
	} else if (fd >= 0) {
		close(fd);
	}
}

/* Does PATH.1 hold the bytes before pos? Either our file renamed (same
 * inode) or a copy made by copytruncate (other inode, same last line
 * before the offset). Then it is adopted from pos->offset, to be read to
 * its end before the file that followed it: succ, the file at PATH now
 * (-1: opened here). On true the tailer owns succ; on false the caller
 * keeps it. No line written before a rotation is lost, even when PATH
 * is rotated again before the switch. */
static bool finish_rotated(struct mm_tailer *t, const struct mm_filepos *pos, int succ)
{
	struct stat st1, sst;
	int fd1 = open_regular(t->path1, &st1);
	if (fd1 < 0)
		return false;
	bool same_inode = (uint64_t)st1.st_ino == pos->ino && (uint64_t)st1.st_dev == pos->dev;
	bool held = t->fd >= 0 && (uint64_t)st1.st_ino == t->ino && (uint64_t)st1.st_dev == t->dev;
	bool ok = !held && (uint64_t)st1.st_size >= pos->offset &&
		  (same_inode || (pos->offset > 0 && pos->line_len > 0)) && verify_line(t, fd1, pos);
	if (!ok) {
		close(fd1);
		return false;
	}
	if (succ < 0)
		succ = open_regular(t->path, &sst);
	if (t->fd >= 0 && t->fd != succ)
		close(t->fd);
	t->fd = -1;
	adopt(t, fd1, &st1, pos->offset, pos->line_len, pos->line_hash);
	set_next(t, succ);
	t->finishing = true;
	t->rot_seen_mono = mm_mono_ms();
	return true;
}

void mm_tailer_start(struct mm_tailer *t, const struct mm_filepos *saved)
{
	t->started = true;
	if (!saved) {
		t->first = true;
		return;
	}
	if (saved->ino == 0 && saved->dev == 0)
		return; /* no file was open when saved: the next one is new */

	struct stat st;
	int fd = open_regular(t->path, &st);
	if (fd >= 0 && (uint64_t)st.st_ino == saved->ino && (uint64_t)st.st_dev == saved->dev) {
		bool shorter = (uint64_t)st.st_size < saved->offset;
		if (!shorter && verify_line(t, fd, saved)) {
			adopt(t, fd, &st, saved->offset, saved->line_len, saved->line_hash);
			return;
		}
		if (finish_rotated(t, saved, fd)) {
			t->st.truncations++;
			notice(t, "%s: truncated while stopped (copytruncate): finishing the copy %s "
				  "from offset %" PRIu64 " first",
			       t->path, t->path1, saved->offset);
			return;
		}
		if (shorter) {
			t->st.truncations++;
			notice(t, "%s: shorter than the saved offset %" PRIu64
				  " (truncated while stopped): reading from the start",
			       t->path, saved->offset);
		} else {
			t->st.replaced++;
			notice(t, "%s: the line before the saved offset differs (file replaced, "
				  "inode reused): reading from the start",
			       t->path);
		}
		adopt(t, fd, &st, 0, 0, 0);
		return;
	}
	/* PATH is another file, or missing: was ours rotated to PATH.1? */
	if (finish_rotated(t, saved, fd)) {
		notice(t, "%s: rotated while stopped: finishing %s from offset %" PRIu64 " first",
		       t->path, t->path1, saved->offset);
		return;
	}
	/* Rotated more than once, or compressed: PATH.2, PATH.1.gz, dateext */
	char why[640];
	struct mm_backlog *bl = mm_backlog_find(t->path, saved, why, sizeof why);
	if (bl) {
		t->bl = bl;
		t->st.rotations++;
		notice(t, "rotated while stopped: %s", why);
		if (fd >= 0)
			close(fd);
		t->first = false; /* PATH, once reached, is read from its start */
		return;
	}
	t->st.replaced++;
	notice(t, "%s: the saved file (inode %" PRIu64 ") is gone and is not %s; lines written "
		  "to it after offset %" PRIu64 " are lost; reading the new file from the start",
	       t->path, saved->ino, t->path1, saved->offset);
	if (fd >= 0)
		adopt(t, fd, &st, 0, 0, 0);
}

/* No file open: open PATH if it exists now. */
static bool open_current(struct mm_tailer *t)
{
	struct stat st;
	int fd = open_regular(t->path, &st);
	if (fd < 0) {
		t->first = false; /* a file that appears later is all new */
		if (!t->waiting_noted) {
			t->waiting_noted = true;
			if (errno != ENOENT)
				t->st.open_errors++;
			notice(t, "%s: cannot open (%s); waiting for it", t->path, strerror(errno));
		}
		return false;
	}
	uint64_t off = 0;
	if (t->first && t->o.start_at_end)
		off = last_line_end(t, fd, (uint64_t)st.st_size);
	t->first = false;
	adopt(t, fd, &st, off, 0, 0);
	return true;
}

static void deliver(struct mm_tailer *t, mm_line_fn *fn, void *arg)
{
	const char *line, *last = NULL;
	size_t len, lastlen = 0;
	while (mm_linebuf_next(&t->lb, &line, &len)) {
		fn(line, len, arg);
		last = line;
		lastlen = len;
	}
	if (last) {
		t->last_len = t->lb.last_raw;
		t->last_hash = mm_hash64(last, lastlen);
	}
	t->st.lines = t->lb.st;
}

/* The end of a file whose writer is gone: hand out its unfinished line. */
static void flush_partial(struct mm_tailer *t, mm_line_fn *fn, void *arg)
{
	const char *line;
	size_t len;
	if (mm_linebuf_flush(&t->lb, &line, &len))
		fn(line, len, arg);
	t->st.lines = t->lb.st;
}

/* copytruncate: the file shrank below what we read, or was refilled past
 * it with other lines (the last line before our offset changed). Then
 * the unread rest is in the copy PATH.1 if logrotate made one; else
 * restart at 0. Checked before every read, not only at EOF, so that a
 * refilled file is never read from the middle. Returns true when it
 * acted. */
static bool check_truncated(struct mm_tailer *t, mm_line_fn *fn, void *arg)
{
	struct stat fs;
	if (t->finishing || fstat(t->fd, &fs) < 0)
		return false;
	struct mm_filepos cur;
	mm_tailer_position(t, &cur);
	if ((uint64_t)fs.st_size >= t->rd_off && verify_line(t, t->fd, &cur))
		return false;
	t->st.truncations++;
	if (finish_rotated(t, &cur, t->fd)) {
		notice(t, "%s: truncated (copytruncate): finishing the copy %s from offset %" PRIu64
			  " first",
		       t->path, t->path1, cur.offset);
		return true;
	}
	flush_partial(t, fn, arg);
	notice(t, "%s: truncated (size %" PRIu64 ", offset %" PRIu64 "): reading from the start",
	       t->path, (uint64_t)fs.st_size, t->rd_off);
	adopt(t, t->fd, &fs, 0, 0, 0);
	return true;
}

/* At EOF: truncated? rotated? Returns true when reading should go on
 * (restarted or switched to another file). */
static bool at_eof(struct mm_tailer *t, bool check, mm_line_fn *fn, void *arg)
{
	if (check_truncated(t, fn, arg))
		return true;
	int64_t now = mm_mono_ms();
	struct stat ns;
	if (!t->finishing) {
		if (!check || stat(t->path, &ns) < 0)
			return false; /* gone and not recreated yet: keep what we hold */
		if ((uint64_t)ns.st_ino == t->ino && (uint64_t)ns.st_dev == t->dev)
			return false;
		/* Rotated away: hold on to the file that follows it now. */
		t->finishing = true;
		t->rot_seen_mono = now;
		set_next(t, open_regular(t->path, &ns));
	}
	int64_t quiet_since = t->last_data_mono > t->rot_seen_mono ? t->last_data_mono
								   : t->rot_seen_mono;
	if (t->o.rotate_grace_ms > 0 && now - quiet_since < t->o.rotate_grace_ms)
		return false;
	int fd = t->next_fd;
	t->next_fd = -1;
	if (fd >= 0) {
		if (fstat(fd, &ns) < 0) {
			close(fd);
			return false;
		}
	} else {
		fd = open_regular(t->path, &ns);
		if (fd < 0)
			return false; /* not recreated yet */
		if ((uint64_t)ns.st_ino == t->ino && (uint64_t)ns.st_dev == t->dev) {
			close(fd);
			return false;
		}
	}
	flush_partial(t, fn, arg);
	t->st.rotations++;
	notice(t, "%s: rotated: finished the old file at offset %" PRIu64 ", now reading the next one",
	       t->path, t->rd_off);
	adopt(t, fd, &ns, 0, 0, 0);
	return true;
}

/* The rotated files found at start (backlog.h), read_limit bytes per
 * poll. Returns true when more is waiting; false once all are read (PATH
 * comes next, from its start). */
static bool read_backlog(struct mm_tailer *t, mm_line_fn *fn, void *arg)
{
	size_t budget = t->o.read_limit;
	const char *line;
	size_t len;
	char why[512] = "";
	for (;;) {
		int rc = mm_backlog_next(t->bl, &line, &len, why, sizeof why);
		if (why[0]) {
			t->st.read_errors++;
			notice(t, "%s: %s", t->path, why);
			why[0] = 0;
		}
		if (rc == 0)
			break;
		fn(line, len, arg);
		t->st.last_read_ms = mm_wall_ms();
		if (len + 1 >= budget)
			return true;
		budget -= len + 1;
	}
	mm_backlog_free(t->bl);
	t->bl = NULL;
	notice(t, "%s: rotated files read; now reading %s from its start", t->path, t->path);
	return false;
}

int mm_tailer_poll(struct mm_tailer *t, bool check_rotation, mm_line_fn *fn, void *arg)
{
	if (!t->started)
		mm_tailer_start(t, NULL);
	if (t->bl && read_backlog(t, fn, arg))
		return 1;
	if (t->fd < 0 && !open_current(t))
		return 0;
	check_truncated(t, fn, arg);
	size_t budget = t->o.read_limit;
	for (;;) {
		if (budget == 0)
			return 1;
		char *p;
		size_t n;
		mm_linebuf_space(&t->lb, &p, &n);
		if (n > budget)
			n = budget;
		ssize_t r = pread(t->fd, p, n, (off_t)t->rd_off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			t->st.read_errors++;
			notice(t, "%s: read error (%s); reopening", t->path, strerror(errno));
			close(t->fd);
			t->fd = -1;
			return 0;
		}
		if (r > 0) {
			mm_linebuf_commit(&t->lb, (size_t)r);
			t->rd_off += (uint64_t)r;
			budget -= (size_t)r;
			t->last_data_mono = mm_mono_ms();
			t->st.last_read_ms = mm_wall_ms();
			deliver(t, fn, arg);
			continue;
		}
		if (!at_eof(t, check_rotation, fn, arg))
			break;
	}
	return 0;
}

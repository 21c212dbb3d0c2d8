/* atomicfile: see atomicfile.h. */
#include "core/atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xalloc.h"

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync of the directory makes the rename itself durable. */
static void sync_dir(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int mm_file_replace(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
		    gid_t gid, struct mm_err *err)
{
	char *dircopy = xstrdup(path), *basecopy = xstrdup(path);
	char *tmp = xasprintf("%s/.%s.XXXXXX", dirname(dircopy), basename(basecopy));
	int rc = -1;
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		mm_err_sys(err, errno, "%s: cannot create", tmp);
		goto out;
	}
	if (write_all(fd, data, len) < 0) {
		mm_err_sys(err, errno, "%s: write", tmp);
		goto out_close;
	}
	/* fchmod, not the open mode: the umask must not change the result. */
	if (fchmod(fd, mode) < 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)) {
		mm_err_sys(err, errno, "%s: cannot set mode and owner", tmp);
		goto out_close;
	}
	if (fsync(fd) < 0) {
		mm_err_sys(err, errno, "%s: fsync", tmp);
		goto out_close;
	}
	if (close(fd) < 0) {
		fd = -1;
		mm_err_sys(err, errno, "%s: close", tmp);
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		mm_err_sys(err, errno, "%s: cannot rename to %s", tmp, path);
		goto out_unlink;
	}
	sync_dir(path);
	rc = 0;
	goto out;
out_close:
	close(fd);
out_unlink:
	unlink(tmp);
out:
	free(tmp);
	free(dircopy);
	free(basecopy);
	return rc;
}

int mm_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			 struct mm_err *err)
{
	return mm_file_replace(path, data, len, mode, (uid_t)-1, (gid_t)-1, err);
}

char *mm_file_read_capped(const char *path, size_t cap, size_t *len, int *errno_out,
			  struct mm_err *err)
{
	int e = 0;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		mm_err_sys(err, e, "%s", path);
		goto out;
	}
	size_t used = 0, size = 4096;
	buf = xmalloc(size + 1);
	for (;;) {
		if (used == size) {
			if (size >= cap) {
				e = EFBIG;
				mm_err_set(err, "%s: larger than %zu bytes", path, cap);
				free(buf);
				buf = NULL;
				break;
			}
			size = size * 2 > cap ? cap : size * 2;
			buf = xrealloc(buf, size + 1);
		}
		ssize_t r = read(fd, buf + used, size - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			mm_err_sys(err, e, "%s: read", path);
			free(buf);
			buf = NULL;
			break;
		}
		if (r == 0) {
			buf[used] = '\0';
			*len = used;
			break;
		}
		used += (size_t)r;
	}
	close(fd);
out:
	if (errno_out)
		*errno_out = e;
	return buf;
}

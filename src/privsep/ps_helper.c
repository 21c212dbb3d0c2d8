/*
 * ps_helper: see ps_helper.h. The loop reads whole messages (psmsg.h)
 * from a stream socket and hands each to its role's handler.
 */
#include "privsep/ps_helper.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "privsep/ps_handlers.h"
#include "privsep/psmsg.h"

int mm_ps_helper_serve(int fd, const char *conf_path, enum mm_ps_role role)
{
	struct mm_ps_qdirs dirs;
	memset(&dirs, 0, sizeof dirs);
	uint8_t buf[2048];
	size_t n = 0;
	int rc = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof buf - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out; /* mailmond is gone */
		n += (size_t)r;
		for (;;) {
			struct mm_ps_msg m;
			size_t used = 0;
			struct mm_err err;
			int d = mm_ps_decode(buf, n, &m, &used, &err);
			if (d == 0)
				break;
			bool run = m.type == MM_PS_RUN || m.type == MM_PS_DISK_RUN;
			bool open = m.type == MM_PS_QUEUE_OPEN || m.type == MM_PS_QUEUE_LIST;
			if (d < 0 || (role == MM_PS_ROLE_RUN && !run) ||
			    (role == MM_PS_ROLE_OPEN && !open)) {
				rc = 2; /* a confused or hostile peer: no second try */
				goto out;
			}
			int w = run ? mm_ps_serve_run(fd, conf_path, &m)
				    : mm_ps_serve_open(fd, &dirs, conf_path, &m);
			if (w < 0) {
				rc = 1;
				goto out;
			}
			memmove(buf, buf + used, n - used);
			n -= used;
		}
	}
out:
	mm_ps_qdirs_free(&dirs);
	return rc;
}

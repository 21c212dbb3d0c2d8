/* fuzz_privsep_msg: the privsep message decoder on arbitrary bytes, as
 * the helper reads them from a compromised unprivileged process. Every
 * message it accepts must re-encode to exactly the bytes it consumed, and
 * its names and paths must be safe (queue names and files relative and
 * never climbing, disk lock paths absolute and never climbing). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privsep/psmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct mm_ps_msg m;
		size_t used = 0;
		struct mm_err err;
		int rc = mm_ps_decode(data + off, size - off, &m, &used, &err);
		if (rc <= 0)
			break;
		if (used < MM_PS_HDR || used > size - off)
			abort();
		uint8_t buf[1024];
		int n = mm_ps_encode(&m, buf, sizeof buf);
		if (n != (int)used || memcmp(buf, data + off, used) != 0)
			abort();
		if ((m.type == MM_PS_QUEUE_OPEN || m.type == MM_PS_QUEUE_LIST) &&
		    (strstr(m.u.queue_open.file, "..") || m.u.queue_open.file[0] == '/' ||
		     strchr(m.u.queue_open.queue, '/') || !m.u.queue_open.queue[0]))
			abort();
		/* a listed name is one plain component */
		if (m.type == MM_PS_QUEUE_ENTRY &&
		    (!m.u.entry.name[0] || strpbrk(m.u.entry.name, "/.")))
			abort();
		/* a lock path is absolute and never climbs */
		if (m.type == MM_PS_DISK_RUN &&
		    (m.u.disk_run.path[0] != '/' || strstr(m.u.disk_run.path, "/..") ||
		     strstr(m.u.disk_run.path, "//") || m.u.disk_run.lock > 1))
			abort();
		off += used;
	}
	return 0;
}

/*
 * ps_handlers: the request handlers of the privileged helper (private to
 * src/privsep; ps_helper.c dispatches to them). Each answers its request
 * on fd and returns 0, or -1 when the answer could not be written.
 *
 *   mm_ps_serve_run(fd, conf_path, req)     MM_PS_RUN and MM_PS_DISK_RUN
 *   mm_ps_serve_open(fd, dirs, conf_path, req)
 *                                           MM_PS_QUEUE_OPEN and
 *                                           MM_PS_QUEUE_LIST; dirs caches
 *                                           the queue directories
 *   mm_ps_qdirs_free(dirs)
 */
#ifndef MAILMON_PRIVSEP_PS_HANDLERS_H
#define MAILMON_PRIVSEP_PS_HANDLERS_H

#include <stdint.h>
#include <sys/stat.h>

#include "mta/mta.h"
#include "privsep/psmsg.h"

struct mm_ps_qdirs {
	char *type;			     /* [mta] type they came from */
	char *dirs[MM_MTA_MAX_INSTANCES];    /* one per [queue] instance */
	char *problem[MM_MTA_MAX_INSTANCES]; /* why dirs[i] is NULL */
	size_t n;
	int err;	     /* errno when they could not be had (never ENOENT) */
	struct stat conf_st; /* the config file they were read from */
	int64_t at_ms;	     /* when (monotonic); 0: never */
};

int mm_ps_serve_run(int fd, const char *conf_path, const struct mm_ps_msg *req);
int mm_ps_serve_open(int fd, struct mm_ps_qdirs *dirs, const char *conf_path,
		     const struct mm_ps_msg *req);
void mm_ps_qdirs_free(struct mm_ps_qdirs *dirs);

#endif

/*
 * ps_client: the unprivileged side's synchronous requests to the opener
 * helper (ps_helper.h, MM_PS_ROLE_OPEN), usable from any thread: the
 * queue scan thread and its parse threads share one socket under a mutex.
 *
 *   mm_ps_client_init(c, fd, timeout_ms)   takes fd (a blocking stream
 *                                          socket to the helper)
 *   mm_ps_client_queue_open(c, instance, rel)
 *       asks for rel ("deferred/A/1B2C3D4E5F", or a queue directory) below
 *       instance's queue directory; the read-only descriptor, or -1 with
 *       errno: the helper's refusal (ENOENT, EPERM, ELOOP, ...) or EPIPE
 *       when the helper is gone, did not answer within timeout_ms or
 *       answered garbage (then every later request fails at once)
 *   mm_ps_client_queue_list(c, instance, rel, &out, &n)
 *       the entries of directory rel (names of letters and digits only,
 *       with their lstat identity; *out malloc'ed): 0, or -1 with errno as
 *       above
 *   mm_ps_client_opener(c)  both as a struct mm_mta_opener (mta.h)
 *   mm_ps_client_free(c)    closes the socket (the helper exits)
 *
 * Counters (asked, refused, failed) are read with mm_ps_client_stats.
 */
#ifndef MAILMON_PRIVSEP_PS_CLIENT_H
#define MAILMON_PRIVSEP_PS_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mta/mta.h"

struct mm_ps_client {
	int fd;
	int timeout_ms;
	pthread_mutex_t mu;
	bool dead;		       /* guarded by mu */
	uint64_t asked, refused, lost; /* guarded by mu */
	struct mm_mta_opener opener;
};

struct mm_ps_client_stats {
	uint64_t asked, refused, lost;
	bool dead;
};

void mm_ps_client_init(struct mm_ps_client *c, int fd, int timeout_ms);
int mm_ps_client_queue_open(struct mm_ps_client *c, unsigned instance, const char *rel);
int mm_ps_client_queue_list(struct mm_ps_client *c, unsigned instance, const char *rel,
			    struct mm_mta_dirent **out, size_t *n);
const struct mm_mta_opener *mm_ps_client_opener(struct mm_ps_client *c);
struct mm_ps_client_stats mm_ps_client_stats(struct mm_ps_client *c);
void mm_ps_client_free(struct mm_ps_client *c);

#endif

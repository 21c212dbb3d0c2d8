/*
 * privsep: mailmond's privilege separation (issue 10), after OpenSMTPD.
 *
 * With [daemon] user set and mailmond started as root, once every module
 * is up (the HTTP port bound, the state and run files made) mailmond forks
 * a helper that keeps root, hands the state and run directories to the
 * user, and drops to that user for good (setgroups, setgid, setuid,
 * checked). The unprivileged process goes on parsing logs, serving HTTP
 * and probing peers; the helper does one thing: run a service's restart,
 * start or stop command, named by section and index (psmsg.h), as its own
 * root-owned config says (it loads the config itself, with the same trust
 * checks; it never runs a command line it is sent). Requests and answers
 * are typed, length-checked messages over a socketpair; a malformed
 * request makes the helper exit, and mailmond runs on without restarts.
 *
 *   mm_privsep_start(d, err)   fork the helper and drop; 0 when [daemon]
 *                              user is unset (nothing done)
 *   mm_privsep_run(d, service, kind, cb, arg)
 *                              ask for a command; cb gets the result as a
 *                              struct mm_child_result; returns a request
 *                              id (0: could not ask)
 *   mm_privsep_cancel(d, id)   forget a request (its answer is dropped)
 *   mm_privsep_json(d)         who holds which privilege, for /api/status
 */
#ifndef MAILMON_DAEMON_PRIVSEP_H
#define MAILMON_DAEMON_PRIVSEP_H

#include <stdint.h>

#include "core/childproc.h"
#include "daemon/daemon.h"

enum mm_ps_cmd { MM_PS_CMD_RESTART = 0, MM_PS_CMD_START = 1, MM_PS_CMD_STOP = 2 };

int mm_privsep_start(struct mm_daemon *d, struct mm_err *err);
uint32_t mm_privsep_run(struct mm_daemon *d, const char *service, enum mm_ps_cmd kind,
			mm_child_done_fn *cb, void *arg);
void mm_privsep_cancel(struct mm_daemon *d, uint32_t id);
json_t *mm_privsep_json(const struct mm_daemon *d);
void mm_privsep_free(struct mm_daemon *d);

#endif

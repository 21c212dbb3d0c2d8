/*
 * privsep: mailmond's privilege separation (issue 10), after OpenSMTPD.
 *
 * With [daemon] user set and mailmond started as root, mailmond forks two
 * helpers that keep root before any module starts (so they inherit no
 * socket, thread or file of the modules), and once every module is up
 * (the HTTP port bound, the state and run files made) hands the state and
 * run directories to the user and drops to it for good (initgroups,
 * setgid, setuid, checked). The unprivileged process goes on parsing
 * logs, serving HTTP, probing peers and parsing queue files. The helpers
 * (src/privsep/ps_helper.h) each do one thing, from their own load of
 * the root-owned config, never from a command line or path they are sent:
 *   the runner   runs a service's restart, start or stop command, the
 *                [disk] lock or unlock command for a watched path, and
 *                [isolate]'s postfix reload;
 *   the opener   opens queue files and directories read-only below the
 *                configured queue directories and passes the descriptor
 *                (the queue module reads the queue directly through it).
 * A malformed request makes a helper exit; mailmond runs on without what
 * it did (restarts and locks fail, queue scans report the error).
 *
 *   mm_privsep_start(d, err)   before the modules: fork the helpers; 0
 *                              when [daemon] user is unset (nothing done)
 *   mm_privsep_drop(d, err)    after the modules: drop to the user
 *   mm_privsep_run(d, service, kind, cb, arg)
 *   mm_privsep_disk_run(d, path, lock, cb, arg)
 *                              ask the runner for a command; cb gets the
 *                              result as a struct mm_child_result; returns
 *                              a request id (0: could not ask)
 *   mm_privsep_cancel(d, id)   forget a request (its answer is dropped);
 *                              returns its cb's arg, or NULL
 *   mm_privsep_queue_opener(d) the opener as an mta.h opener, or NULL when
 *                              not separated
 *   mm_privsep_json(d)         who holds which privilege, for /api/status
 */
#ifndef MAILMON_DAEMON_PRIVSEP_H
#define MAILMON_DAEMON_PRIVSEP_H

#include <stdint.h>

#include "core/childproc.h"
#include "daemon/daemon.h"
#include "mta/mta.h"

enum mm_ps_cmd { MM_PS_CMD_RESTART = 0, MM_PS_CMD_START = 1, MM_PS_CMD_STOP = 2 };

int mm_privsep_start(struct mm_daemon *d, struct mm_err *err);
int mm_privsep_drop(struct mm_daemon *d, struct mm_err *err);
uint32_t mm_privsep_run(struct mm_daemon *d, const char *service, enum mm_ps_cmd kind,
			mm_child_done_fn *cb, void *arg);
uint32_t mm_privsep_disk_run(struct mm_daemon *d, const char *path, bool lock,
			     mm_child_done_fn *cb, void *arg);
/* `postfix -c DIR reload` for [isolate] (DIR: [mta] config_directory of
 * the runner's own config, which must have [isolate] enable = yes): a RUN
 * of section "isolate", index 0. Same callback and id as mm_privsep_run. */
uint32_t mm_privsep_postfix_reload(struct mm_daemon *d, mm_child_done_fn *cb, void *arg);
/* [isolate]'s move of a released destination's deferred mail, done by
 * the runner as root (postqueue -j, then postqueue -i per message; see
 * cluster/isolate_queue.h): a RUN of section "isolate/DEST", index 1. Its
 * answer text (res->err) is mm_isolate_move_format's. 0 when DEST is too
 * long for the message or the helper is gone. */
uint32_t mm_privsep_isolate_move(struct mm_daemon *d, const char *dest, mm_child_done_fn *cb,
				 void *arg);
void *mm_privsep_cancel(struct mm_daemon *d, uint32_t id);
const struct mm_mta_opener *mm_privsep_queue_opener(struct mm_daemon *d);
json_t *mm_privsep_json(const struct mm_daemon *d);
void mm_privsep_free(struct mm_daemon *d);

#endif

/*
 * ps_helper: the privileged side of mailmond's privilege separation. Two
 * root processes serve the unprivileged mailmond over socketpairs, each
 * with one job (its role):
 *
 *   MM_PS_ROLE_RUN    runs a [service.NAME] restart/start/stop command
 *                     (MM_PS_RUN) or the [disk] lock/unlock command for a
 *                     watched path (MM_PS_DISK_RUN); answers MM_PS_RUN_DONE
 *   MM_PS_ROLE_OPEN   opens a queue file or directory read-only
 *                     (MM_PS_QUEUE_OPEN); answers MM_PS_QUEUE_DONE with the
 *                     descriptor beside it (SCM_RIGHTS); or lists a queue
 *                     directory (MM_PS_QUEUE_LIST): one MM_PS_QUEUE_ENTRY
 *                     per name with its lstat identity, then
 *                     MM_PS_QUEUE_DONE
 *
 * Every answer comes from the helper's own load of the root-owned config
 * at conf_path (with the config trust checks), made per request (the
 * queue directories are cached for at most 30 s and while the file is
 * unchanged): a command line or a path is never taken from a request.
 * A request that is well formed but not allowed (no such section or
 * command, a path not watched, a queue path outside the backend's layout,
 * a symlink, an instance the config does not have) is refused with an
 * errno in the answer; malformed bytes, or a message type of another
 * role, end the helper (a confused or hostile peer gets no second try).
 *
 *   mm_ps_helper_serve(fd, conf_path, role)
 *       serves fd until EOF (returns 0), a malformed or foreign request
 *       (returns 2) or a failed write (returns 1); blocking, one request
 *       at a time. The handlers are ps_run.c and ps_open.c.
 */
#ifndef MAILMON_PRIVSEP_PS_HELPER_H
#define MAILMON_PRIVSEP_PS_HELPER_H

enum mm_ps_role { MM_PS_ROLE_RUN = 1, MM_PS_ROLE_OPEN = 2 };

int mm_ps_helper_serve(int fd, const char *conf_path, enum mm_ps_role role);

#endif

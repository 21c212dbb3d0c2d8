/*
 * fdpass: one datagram-sized write or read on a Unix stream socket, with
 * at most one file descriptor beside it (SCM_RIGHTS).
 *
 *   mm_fd_send(sock, buf, n, fd)   writes all n bytes; fd (>= 0) rides on
 *                                  the first byte; 0, or -1 with errno
 *   mm_fd_recv(sock, buf, cap, &fd)
 *                                  one recvmsg: the byte count (0 at EOF),
 *                                  or -1 with errno; *fd is the received
 *                                  descriptor (close-on-exec) or -1. Any
 *                                  further descriptors in the same message
 *                                  are closed at once, so a peer cannot
 *                                  fill this process's table
 *
 * No allocation; the caller owns what it receives.
 */
#ifndef MAILMON_CORE_FDPASS_H
#define MAILMON_CORE_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

int mm_fd_send(int sock, const void *buf, size_t n, int fd);
ssize_t mm_fd_recv(int sock, void *buf, size_t cap, int *fd);

#endif

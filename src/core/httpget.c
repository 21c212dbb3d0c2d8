/* httpget: see httpget.h. poll() bounds every wait by the time left. */
#include "core/httpget.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/xalloc.h"

static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mm_mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		return rc;
	}
}

static int connect_to(const char *host, int port, int64_t deadline, struct mm_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		len = sizeof *s4;
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		len = sizeof *s6;
	} else {
		return mm_err_set(err, "%s: not a numeric address", host);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return mm_err_sys(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return mm_err_sys(err, e, "connect to %s:%d", host, port);
	}
	if (wait_fd(fd, POLLOUT, deadline) <= 0) {
		close(fd);
		return mm_err_set(err, "connect to %s:%d: timed out", host, port);
	}
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr) {
		close(fd);
		return mm_err_sys(err, soerr, "connect to %s:%d", host, port);
	}
	return fd;
}

int mm_http_get(const char *host, int port, const char *path, int timeout_ms,
		size_t max_bytes, int *status, char **body, struct mm_err *err)
{
	int64_t deadline = mm_mono_ms() + timeout_ms;
	int fd = connect_to(host, port, deadline, err);
	if (fd < 0)
		return -1;
	char req[1024];
	int rlen = snprintf(req, sizeof req,
			    "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: mailmon\r\n\r\n", path,
			    host);
	if (rlen < 0 || (size_t)rlen >= sizeof req) {
		close(fd);
		return mm_err_set(err, "request path too long");
	}
	int rc = -1;
	size_t cap = 4096, len = 0;
	char *buf = xmalloc(cap);
	for (int off = 0; off < rlen;) {
		if (wait_fd(fd, POLLOUT, deadline) <= 0) {
			mm_err_set(err, "%s:%d: timed out sending request", host, port);
			goto out;
		}
		ssize_t w = send(fd, req + off, (size_t)(rlen - off), MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			mm_err_sys(err, errno, "%s:%d: send", host, port);
			goto out;
		}
		if (w > 0)
			off += (int)w;
	}
	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) <= 0) {
			mm_err_set(err, "%s:%d: no complete answer within %d ms", host, port,
				   timeout_ms);
			goto out;
		}
		if (len + 1 >= cap)
			buf = xgrow(buf, &cap, cap * 2, 1);
		ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			mm_err_sys(err, errno, "%s:%d: recv", host, port);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max_bytes) {
			mm_err_set(err, "%s:%d: answer larger than %zu bytes", host, port,
				   max_bytes);
			goto out;
		}
	}
	buf[len] = '\0';
	int code;
	if (sscanf(buf, "HTTP/%*d.%*d %d", &code) != 1) {
		mm_err_set(err, "%s:%d: not an HTTP answer", host, port);
		goto out;
	}
	char *sep = strstr(buf, "\r\n\r\n");
	if (!sep) {
		mm_err_set(err, "%s:%d: HTTP answer without a header end", host, port);
		goto out;
	}
	*status = code;
	*body = xstrdup(sep + 4);
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

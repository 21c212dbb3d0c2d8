/* fuzz_http_request: one HTTP request per input, through the whole server
 * path of mailmond's API: a real client socket on loopback, evhttp's
 * parser, core/httpd.c's checks (clean text, Host, auth, deadlines), a
 * route that answers JSON with the request's path in it.
 *
 * evhttp in libevent 2.1 cannot adopt an already connected socket, so the
 * "pair" is a listening socket on 127.0.0.1 (port chosen by the kernel)
 * and one connection per input. Invariants: whatever comes back starts
 * with "HTTP/"; a request that reaches the handler passed the checks
 * (re-checked there) and carried the bearer token. */
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/httpd.h"
#include "core/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *base;
static struct mm_httpd *httpd;
static struct sockaddr_in addr;

static void on_route(struct evhttp_request *req, void *arg)
{
	if (mm_httpd_check_request(req) != NULL)
		abort();
	const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (!a || strncasecmp(a, "Bearer ", 7) != 0 || strcmp(a + 7, "s3cret") != 0)
		abort();
	mm_httpd_reply_json(req, 200, json_pack("{s:o}", "uri",
						mm_json_text(evhttp_request_get_uri(req))));
}

static void setup(void)
{
	base = event_base_new();
	static const char *const hosts[] = {"localhost", NULL};
	struct mm_httpd_opts o = {.max_conns = 4, .request_timeout_ms = 1000,
				  .max_header_bytes = 8192, .hosts = hosts,
				  .bearer = "s3cret"};
	httpd = mm_httpd_new(base, &o);
	mm_httpd_route(httpd, "/api/status", on_route, NULL);
	mm_httpd_route(httpd, NULL, on_route, NULL);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof addr;
	if (bind(fd, (struct sockaddr *)&addr, len) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
		abort();
	struct mm_err err;
	if (mm_httpd_listen_fd(httpd, fd, &err) < 0)
		abort();
}

struct client {
	char buf[65536];
	size_t n;
};

static void on_client(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	if (what & EV_TIMEOUT) {
		event_base_loopbreak(base);
		return;
	}
	char tmp[4096];
	ssize_t r = read(fd, tmp, sizeof tmp);
	if (r <= 0) {
		event_base_loopbreak(base);
		return;
	}
	size_t k = (size_t)r < sizeof c->buf - c->n ? (size_t)r : sizeof c->buf - c->n;
	memcpy(c->buf + c->n, tmp, k);
	c->n += k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!base)
		setup();
	if (size > 32768)
		return 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		abort();
	/* Loopback buffers hold 32 KiB at once; the server reads as we loop. */
	if (size && write(fd, data, size) < 0) {
		/* the server may close early (too long); fine */
	}
	shutdown(fd, SHUT_WR);
	evutil_make_socket_nonblocking(fd);
	struct client *c = calloc(1, sizeof *c);
	struct event *ev = event_new(base, fd, EV_READ | EV_PERSIST, on_client, c);
	struct timeval tv = {2, 0};
	event_add(ev, &tv);
	event_base_dispatch(base);
	event_free(ev);
	close(fd);
	if (c->n && (c->n < 5 || memcmp(c->buf, "HTTP/", 5) != 0))
		abort();
	free(c);
	return 0;
}

/*
 * www: the "www" module, mailmond's web dashboard: the static page files
 * of [http] www_directory and Debian's Chart.js, served on the same
 * listener, behind the same checks and auth as the API (core/httpd.c).
 *
 *   GET /               index.html
 *   GET /dashboard.js   the page's script (reads the JSON API)
 *   GET /dashboard.css
 *   GET /chart.min.js   [http] chartjs (Debian's libjs-chart.js)
 *   GET /api/v1/cluster/nodes   the rows of [cluster] nodes, which this
 *                       module fetches every 10 s (cluster/nodeview.h,
 *                       the same rows `mailmon cluster` prints)
 *
 * Only these exact paths are routed: no path from a request ever reaches
 * the file system, so nothing outside the directory can be served. Files
 * are read at each request (an upgrade or an edited page shows without a
 * restart), capped at MAX_FILE bytes. A missing file is a 404 that says
 * which file and which setting, so a wrong www_directory is found at once.
 *
 * The page adds no numbers of its own: everything it shows comes from the
 * API (registry, history, alarms, verdict).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <fcntl.h>
#include <stdlib.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/nodeview.h"
#include "core/clock.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/module.h"

#define MAX_FILE (4 << 20)

struct route {
	const char *path;
	const char *file; /* within www_directory; NULL: the Chart.js file */
	const char *type;
};

static const struct route routes[] = {
	{"/", "index.html", "text/html; charset=utf-8"},
	{"/index.html", "index.html", "text/html; charset=utf-8"},
	{"/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"},
	{"/dashboard.css", "dashboard.css", "text/css; charset=utf-8"},
	{"/chart.min.js", NULL, "text/javascript; charset=utf-8"},
};

/* Reads path (at most MAX_FILE bytes) into buf; -1 with a reason. */
static int read_file(const char *path, struct evbuffer *buf, char *why, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(why, cap, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
		snprintf(why, cap, "%s: not a regular file of at most %d bytes", path, MAX_FILE);
		close(fd);
		return -1;
	}
	/* evbuffer_read reads one chunk at a time: loop to the end. */
	int rc = 0;
	for (off_t left = st.st_size; left > 0;) {
		int n = evbuffer_read(buf, fd, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			if (n < 0)
				snprintf(why, cap, "%s: %s", path, strerror(errno));
			break;
		}
		left -= n;
	}
	close(fd);
	return rc;
}

static void on_file(struct evhttp_request *req, void *arg)
{
	struct mm_daemon *d = ((void **)arg)[0];
	const struct route *r = ((void **)arg)[1];
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		mm_http_reply_json(req, 405, json_pack("{s:s}", "error", "only GET is supported"));
		return;
	}
	char path[1024], why[1200];
	if (r->file)
		snprintf(path, sizeof path, "%s/%s", mm_config_get(d->conf, "http", "www_directory"),
			 r->file);
	else
		snprintf(path, sizeof path, "%s", mm_config_get(d->conf, "http", "chartjs"));
	struct evbuffer *buf = evbuffer_new();
	if (read_file(path, buf, why, sizeof why) < 0) {
		evbuffer_free(buf);
		json_t *msg = json_string(why);
		mm_http_reply_json(req, 404,
				   json_pack("{s:s, s:o}", "error",
					     r->file ? "dashboard file missing: check [http] www_directory"
						     : "Chart.js missing: check [http] chartjs "
						       "(Debian package libjs-chart.js)",
					     "detail", msg ? msg : json_string("?")));
		return;
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	/* The page is data about this mail system: no caching by proxies,
	 * no framing by other sites, no scripts from anywhere else. */
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Content-Security-Policy",
			  "default-src 'self'; img-src 'self' data:; style-src 'self'; "
			  "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
	mm_http_reply_text(req, 200, r->type, buf);
	evbuffer_free(buf);
}

struct mm_www {
	void *args[sizeof routes / sizeof routes[0]][2];
	struct mm_daemon *d;
	struct mm_nodeview *nodes; /* [cluster] nodes; NULL when unset */
	json_t *last;		   /* their last rows */
	int64_t last_ms;
};

/* ---- the cluster rows: mailmond fetches [cluster] nodes ---- */

static void on_nodes(struct mm_nodeview *v, void *arg)
{
	struct mm_www *w = arg;
	json_decref(w->last);
	w->last = mm_nodeview_json(v);
	w->last_ms = mm_wall_ms();
}

static void nodes_job(void *arg, int64_t now_ms)
{
	struct mm_www *w = arg;
	if (w->nodes && !mm_nodeview_busy(w->nodes))
		mm_nodeview_fetch(w->nodes, w->d->base, NULL, on_nodes, w);
}

static void on_cluster_nodes(struct evhttp_request *req, void *arg)
{
	struct mm_www *w = arg;
	json_t *doc;
	if (!w->nodes)
		doc = json_pack("{s:[], s:s}", "nodes", "note", "[cluster] nodes is not set");
	else if (!w->last)
		doc = json_pack("{s:[], s:s}", "nodes", "note", "first fetch in progress");
	else {
		doc = json_deep_copy(w->last);
		json_object_set_new(doc, "taken_ms", json_integer(w->last_ms));
	}
	mm_http_reply_json(req, 200, doc);
}

static int www_init(struct mm_daemon *d, struct mm_err *err)
{
	if (!d->httpd)
		return 0;
	struct mm_www *w = calloc(1, sizeof *w);
	if (!w)
		return mm_err_set(err, "www: out of memory");
	d->www = w;
	w->d = d;
	const char *list = mm_config_get(d->conf, "cluster", "nodes");
	if (list && *list) {
		w->nodes = mm_nodeview_new();
		char *copy = xstrdup(list);
		for (char *save, *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
			if (mm_nodeview_add(w->nodes, t) < 0) {
				mm_err_set(err, "cluster.nodes: %s: not HOST:PORT with a numeric "
						"address (at most %d)", t, MM_NODEVIEW_MAX);
				free(copy); /* t points into it: after the message */
				return -1;
			}
		free(copy);
		mm_schedule_add(&d->sched, "dashboard.nodes", 10000, 0, mm_mono_ms(), nodes_job, w);
	}
	mm_http_route(d, "/api/cluster/nodes", on_cluster_nodes, w); /* and /api/v1/... */
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		w->args[i][0] = d;
		w->args[i][1] = (void *)&routes[i];
		mm_http_route(d, routes[i].path, on_file, w->args[i]);
	}
	return 0;
}

/* Both keys are read at each request: in effect as soon as d->conf is. */
static void www_in_effect(struct mm_daemon *d, json_t *out)
{
	json_object_set_new(out, "http.www_directory",
			    json_string(mm_config_get(d->conf, "http", "www_directory")));
	json_object_set_new(out, "http.chartjs", json_string(mm_config_get(d->conf, "http", "chartjs")));
}

static void www_free(struct mm_daemon *d)
{
	if (!d->www)
		return;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
		mm_http_unroute(d, routes[i].path);
	mm_http_unroute(d, "/api/cluster/nodes");
	/* The schedule still holds the job; the daemon frees it next. */
	for (size_t i = 0; i < d->sched.n; i++)
		if (strcmp(d->sched.jobs[i].name, "dashboard.nodes") == 0)
			d->sched.jobs[i].fn = NULL;
	mm_nodeview_free(d->www->nodes);
	json_decref(d->www->last);
	free(d->www);
	d->www = NULL;
}

const struct mm_module mm_module_www = {
	.name = "www",
	.init = www_init,
	.in_effect = www_in_effect,
	.free = www_free,
};

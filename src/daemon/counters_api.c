/*
 * counters_api: GET /api/counters (see counters_api.h). Each request maps
 * the file read-only, copies it with the seqlock readers and unmaps it: a
 * recreated file (`counters -create`) is picked up at the next request.
 */
#include "daemon/counters_api.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/module.h"
#include "logs/counters_file.h"
#include "logs/counters_json.h"

static void on_counters(struct evhttp_request *req, void *arg)
{
	struct mm_daemon *d = arg;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "GET only");
		return;
	}
	struct mm_err err;
	char *path = mm_cfile_path_from_config(d->conf);
	struct mm_cfile *cf = mm_cfile_open(path, false, &err);
	free(path);
	json_t *doc = cf ? mm_cfile_to_json(cf, &err) : NULL;
	mm_cfile_close(cf);
	int code = 200;
	if (!doc) {
		code = cf ? 503 : 404;
		doc = json_pack("{s:s}", "error", err.msg);
	}
	mm_http_reply_json(req, code, doc);
}

static int counters_api_init(struct mm_daemon *d, struct mm_err *err)
{
	if (d->httpd)
		mm_http_route(d, "/api/counters", on_counters, d);
	return 0;
}

static void counters_api_free(struct mm_daemon *d)
{
	if (d->httpd)
		mm_http_unroute(d, "/api/counters");
}

/* The counters file itself is the log pipeline's (logwatch); this row
 * owns its [counters] rows and the endpoint. */
const struct mm_module mm_module_counters = {
	.name = "counters",
	.conf = {&mm_conf_table_counters},
	.init = counters_api_init,
	.free = counters_api_free,
};

/*
 * notify_conf: reads [alarm]'s notice settings (mail, noticehost, ...,
 * alertmanager_url, exec) into struct mm_notify_conf (see notify.h):
 * the template file is read (capped at TEMPLATE_MAX), the Alertmanager
 * URL checked (http:// and a numeric address: no DNS) and the exec line
 * split.
 *
 * Errors are returned in err, naming the key. Ownership: the conf owns
 * its template text and exec argv; mm_notify_conf_free releases them.
 */
#include "alarm/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "core/cmdline.h"
#include "core/parse.h"

#define TEMPLATE_MAX ((size_t)64 << 10)


int mm_notify_conf_load(const struct mm_config *conf, struct mm_notify_conf *out,
			struct mm_err *err)
{
	memset(out, 0, sizeof *out);
	const char *s = "alarm";
	out->mail = mm_config_bool(conf, s, "mail");
	snprintf(out->host, sizeof out->host, "%s", mm_config_get(conf, s, "noticehost"));
	out->port = (int)mm_config_int(conf, s, "noticeport");
	snprintf(out->from, sizeof out->from, "%s", mm_config_get(conf, s, "noticesender"));
	snprintf(out->to, sizeof out->to, "%s", mm_config_get(conf, s, "noticercpt"));
	out->timeout_ms = mm_config_duration_ms(conf, s, "noticetimeout");
	out->digest_window_ms = mm_config_duration_ms(conf, s, "digest_window");
	out->digest_min = (int)mm_config_int(conf, s, "digest_min");
	out->retry_min_ms = mm_config_duration_ms(conf, s, "retry_min");
	out->retry_max_ms = mm_config_duration_ms(conf, s, "retry_max");
	out->am_timeout_ms = mm_config_duration_ms(conf, s, "alertmanager_timeout");
	out->exec_timeout_ms = mm_config_duration_ms(conf, s, "exec_timeout");
	const char *node = mm_config_get(conf, s, "node");
	if (node && *node)
		snprintf(out->node, sizeof out->node, "%s", node);
	else if (gethostname(out->node, sizeof out->node - 1) < 0)
		snprintf(out->node, sizeof out->node, "localhost");
	const char *tpl = mm_config_get(conf, s, "noticetemplate");
	if (tpl && *tpl) {
		size_t len;
		snprintf(out->template_path, sizeof out->template_path, "%s", tpl);
		out->template_text = mm_file_read_capped(tpl, TEMPLATE_MAX, &len, NULL, err);
		if (!out->template_text) {
			mm_notify_conf_free(out);
			return -1;
		}
	}
	const char *am = mm_config_get(conf, s, "alertmanager_url");
	if (am && *am) {
		/* http://HOST:PORT[/], numeric host: no DNS, ever */
		if (strncmp(am, "http://", 7) != 0 ||
		    mm_parse_hostport(am + 7, 9093, out->am_host, sizeof out->am_host,
				      &out->am_port, err) < 0) {
			mm_notify_conf_free(out);
			return mm_err_set(err, "[alarm] alertmanager_url: expected http://ADDRESS:PORT, "
					       "got \"%s\"", am);
		}
		snprintf(out->am_url, sizeof out->am_url, "%s", am);
	}
	const char *ex = mm_config_get(conf, s, "exec");
	if (ex && *ex) {
		snprintf(out->exec_line, sizeof out->exec_line, "%s", ex);
		out->exec_argv = mm_cmdline_split(ex, err);
		if (!out->exec_argv) {
			mm_notify_conf_free(out);
			return -1;
		}
	}
	return 0;
}

void mm_notify_conf_free(struct mm_notify_conf *nc)
{
	free(nc->template_text);
	free(nc->exec_argv); /* one block (core/cmdline.h) */
	memset(nc, 0, sizeof *nc);
}

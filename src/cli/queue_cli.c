/*
 * queue_cli: see queue_cli.h.
 */
#include "cli/queue_cli.h"

#include <stdio.h>
#include <string.h>

#include "core/config.h"

int mm_queue_cli_add_dir(struct mm_queue_cli *q, const char *prog, const char *dir)
{
	if (q->ndirs >= MM_MTA_MAX_INSTANCES) {
		fprintf(stderr, "%s: at most %d -c options\n", prog, MM_MTA_MAX_INSTANCES);
		return -1;
	}
	if (dir[0] != '/') {
		fprintf(stderr, "%s: -c %s: give an absolute path\n", prog, dir);
		return -1;
	}
	q->dirs[q->ndirs++] = dir;
	return 0;
}

int mm_queue_cli_set_mode(struct mm_queue_cli *q, const char *prog, const char *mode)
{
	if (strcmp(mode, "auto") && strcmp(mode, "direct") && strcmp(mode, "postqueue")) {
		fprintf(stderr, "%s: --mode: expected auto, direct or postqueue\n", prog);
		return -1;
	}
	q->mode = mode;
	return 0;
}

struct mm_mta *mm_queue_cli_open(struct mm_cli *cli, const struct mm_queue_cli *q,
				 const char *prog, struct mm_config **conf_out)
{
	struct mm_config *conf = mm_cli_load_config(cli);
	if (!conf)
		return NULL;
	struct mm_mta_params p;
	const char *dirs[MM_MTA_MAX_INSTANCES];
	size_t n = 0;
	for (size_t i = 0; i < q->ndirs; i++)
		dirs[n++] = q->dirs[i];
	mm_mta_params_from_config(conf, dirs, n, &p);
	if (q->mode)
		p.mode = q->mode;
	p.reasons = q->reasons;
	p.watch = q->watch;
	const char *type = mm_config_get(conf, "mta", "type");
	struct mm_err err = {{0}};
	struct mm_mta *m = mm_mta_open(type, &p, &err);
	if (!m) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		mm_config_free(conf);
		return NULL;
	}
	if (conf_out)
		*conf_out = conf;
	else
		mm_config_free(conf);
	return m;
}

void mm_queue_cli_note(const char *prog, const struct mm_qsnap *snap)
{
	const struct mm_qscan_stats *s = &snap->stats;
	if (!s->malformed && !s->unreadable && !s->oversize)
		return;
	fprintf(stderr, "%s: note: skipped %llu malformed, %llu unreadable, %llu oversize%s%s\n",
		prog, (unsigned long long)s->malformed, (unsigned long long)s->unreadable,
		(unsigned long long)s->oversize, s->first_problem[0] ? "; first: " : "",
		s->first_problem);
}

/*
 * mta: the backend table and the small shared helpers of mta.h.
 *
 * The one place that maps [mta] type to a backend. "exim" and "msgsrv" are
 * valid config values for the log side but have no queue reader yet; asking
 * for their queue is an error that says so.
 */
#include "mta/mta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/xalloc.h"

static const struct mm_mta_backend *const backends[] = {
	&mm_mta_postfix,
	&mm_mta_none,
};

static const char *const queue_names[MM_Q_N] = {
	[MM_Q_INCOMING] = "incoming", [MM_Q_ACTIVE] = "active",	  [MM_Q_DEFERRED] = "deferred",
	[MM_Q_HOLD] = "hold",	      [MM_Q_MAILDROP] = "maildrop", [MM_Q_CORRUPT] = "corrupt",
};

const char *mm_queue_name(unsigned q)
{
	return q < MM_Q_N ? queue_names[q] : "?";
}

int mm_queue_from_name(const char *name)
{
	for (unsigned q = 0; q < MM_Q_N; q++)
		if (strcmp(queue_names[q], name) == 0)
			return (int)q;
	return -1;
}

const struct mm_mta_backend *mm_mta_backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

struct mm_mta *mm_mta_open(const char *type, const struct mm_mta_params *p,
			   struct mm_err *err)
{
	const struct mm_mta_backend *be = mm_mta_backend_find(type);
	if (!be) {
		mm_err_set(err, "mta.type %s: no queue reader for this MTA (have: postfix, none)",
			   type);
		return NULL;
	}
	void *h = be->open(p, err);
	if (!h)
		return NULL;
	struct mm_mta *m = xcalloc(1, sizeof *m);
	m->be = be;
	m->h = h;
	return m;
}

int mm_mta_scan(struct mm_mta *m, unsigned qmask, struct mm_qsnap *snap,
		struct mm_err *err)
{
	return m->be->scan(m->h, qmask, snap, err);
}

const char *mm_mta_mode(const struct mm_mta *m)
{
	return m->be->mode(m->h);
}

size_t mm_mta_ninstances(const struct mm_mta *m)
{
	return m->be->ninstances ? m->be->ninstances(m->h) : 0;
}

const char *mm_mta_instance_name(const struct mm_mta *m, size_t i)
{
	return m->be->instance_name && i < mm_mta_ninstances(m) ? m->be->instance_name(m->h, i)
							      : NULL;
}

void mm_mta_close(struct mm_mta *m)
{
	if (!m)
		return;
	m->be->close(m->h);
	free(m);
}

void mm_mta_params_from_config(const struct mm_config *conf, const char *const *extra_dirs,
			       size_t n_extra, struct mm_mta_params *p)
{
	memset(p, 0, sizeof *p);
	if (n_extra > 0) {
		for (size_t i = 0; i < n_extra && i < MM_MTA_MAX_INSTANCES; i++)
			p->config_dirs[p->ninstances++] = extra_dirs[i];
	} else {
		p->config_dirs[p->ninstances++] = mm_config_get(conf, "mta", "config_directory");
		p->queue_directory = mm_config_get(conf, "mta", "queue_directory");
		/* [queue] instances: more config directories, comma-separated. */
		const char *more = mm_config_get(conf, "queue", "instances");
		snprintf(p->dirbuf, sizeof p->dirbuf, "%s", more ? more : "");
		for (char *tok = strtok(p->dirbuf, ", \t"); tok && p->ninstances < MM_MTA_MAX_INSTANCES;
		     tok = strtok(NULL, ", \t"))
			p->config_dirs[p->ninstances++] = tok;
	}
	p->command_directory = mm_config_get(conf, "mta", "command_directory");
	p->mode = mm_config_get(conf, "queue", "mode");
	p->command_timeout_ms = mm_config_duration_ms(conf, "queue", "command_timeout");
	p->command_max_bytes = mm_config_size(conf, "queue", "command_max_bytes");
	p->full_every_ms = mm_config_duration_ms(conf, "queue", "full_rescan_interval");
	p->reasons = true;
}

void mm_qsnap_add(struct mm_qsnap *s, const struct mm_qmsg *m)
{
	if (s->n == s->cap)
		s->msgs = xgrow(s->msgs, &s->cap, s->n + 1, sizeof *s->msgs);
	s->msgs[s->n++] = m;
}

void mm_qsnap_reset(struct mm_qsnap *s)
{
	s->n = 0;
	s->qmask = 0;
	s->taken_s = 0;
	memset(&s->stats, 0, sizeof s->stats);
}

void mm_qsnap_free(struct mm_qsnap *s)
{
	free(s->msgs);
	memset(s, 0, sizeof *s);
}

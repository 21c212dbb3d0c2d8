/*
 * qmsg: see qmsg.h. Layout of the block: struct, recipient array, then
 * the NUL-terminated strings.
 */
#include "mta/qmsg.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static char *put_str(char **p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *dst = *p;
	memcpy(dst, s, n);
	*p += n;
	return dst;
}

struct mm_qmsg *mm_qmsg_new(const struct mm_qmsg *tmpl)
{
	const char *id = tmpl->id ? tmpl->id : "";
	const char *sender = tmpl->sender ? tmpl->sender : "";
	size_t len = sizeof(struct mm_qmsg) + tmpl->nrcpt * sizeof(struct mm_qrcpt) +
		     strlen(id) + 1 + strlen(sender) + 1;
	for (uint32_t i = 0; i < tmpl->nrcpt; i++)
		len += strlen(tmpl->rcpt[i].addr ? tmpl->rcpt[i].addr : "") + 1;
	struct mm_qmsg *m = xmalloc(len);
	*m = *tmpl;
	m->rcpt = (struct mm_qrcpt *)(m + 1);
	char *p = (char *)(m->rcpt + tmpl->nrcpt);
	m->id = put_str(&p, id);
	m->sender = put_str(&p, sender);
	for (uint32_t i = 0; i < tmpl->nrcpt; i++) {
		m->rcpt[i] = tmpl->rcpt[i];
		m->rcpt[i].addr = put_str(&p, tmpl->rcpt[i].addr ? tmpl->rcpt[i].addr : "");
	}
	return m;
}

void mm_qmsg_free(struct mm_qmsg *msg, struct mm_strpool *pool)
{
	if (!msg)
		return;
	if (pool)
		for (uint32_t i = 0; i < msg->nrcpt; i++)
			mm_strpool_put(pool, msg->rcpt[i].reason);
	free(msg);
}

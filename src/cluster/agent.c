/* agent: see agent.h. */
#include "cluster/agent.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/strutil.h"

int mm_agent_weight(const struct mm_agent_conf *conf, double backlog)
{
	int minw = conf->min_weight < 1 ? 1 : conf->min_weight > 100 ? 100 : conf->min_weight;
	if (backlog <= conf->low_backlog || conf->full_backlog <= conf->low_backlog)
		return backlog <= conf->low_backlog ? 100 : minw;
	if (backlog >= conf->full_backlog)
		return minw;
	double f = (backlog - conf->low_backlog) / (conf->full_backlog - conf->low_backlog);
	int w = (int)(100.0 - f * (100.0 - minw) + 0.5);
	return w < minw ? minw : w > 100 ? 100 : w;
}

/* A reason as HAProxy shows it: one line, printable ASCII. */
static void clean(char *s)
{
	for (; *s; s++)
		if (!isprint((unsigned char)*s))
			*s = ' ';
}

size_t mm_agent_answer(const struct mm_agent_conf *conf, const struct mm_verdict *v, char *buf,
		       size_t cap)
{
	/* The verdict names the reason to give: a stall's cause ("qmgr is
	 * stopped ..."), what failed for down, the locked partition. */
	char why[160] = "";
	if (v->cause < v->nreasons)
		mm_strlcpy(why, v->reasons[v->cause], sizeof why);
	clean(why);
	int n;
	if (v->state == MM_V_STALLED)
		n = snprintf(buf, cap, "drain #stalled: %s\n", why);
	else if (v->state == MM_V_DOWN)
		n = snprintf(buf, cap, "down #%s\n", why);
	else if (v->drain)
		n = snprintf(buf, cap, "drain #%s\n", why);
	else
		n = snprintf(buf, cap, "up ready %d%%\n", mm_agent_weight(conf, v->backlog));
	if (n < 0)
		n = 0;
	if ((size_t)n >= cap && cap > 1) { /* cut, but keep the newline */
		buf[cap - 2] = '\n';
		n = (int)cap - 1;
	}
	return (size_t)n;
}

void mm_agent_request(const char *line, size_t len, char *name, size_t cap)
{
	size_t i = 0, o = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	for (; i < len && line[i] != '\r' && line[i] != '\n'; i++) {
		char c = line[i];
		if (c == ' ' || c == '\t')
			break;
		if (!isalnum((unsigned char)c) && c != '.' && c != '_' && c != '-') {
			o = 0;
			break;
		}
		if (o + 1 < cap)
			name[o++] = c;
	}
	if (cap)
		name[o] = '\0';
}

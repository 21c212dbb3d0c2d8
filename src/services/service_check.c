/* service_check: see service_check.h. The work is mm_service_conf_load(),
 * the daemon's own loader; this file only places its error in the file. */
#include "services/service_check.h"

#include <stdio.h>
#include <string.h>

#include "services/service_conf.h"

struct check {
	const struct mm_config *conf;
	struct mm_diags *diags;
	size_t problems;
};

/* The loader's messages start "service.NAME.KEY: " or "service.NAME: ". */
static void report(struct check *c, const char *name, const char *msg)
{
	char sec[128], key[64] = "";
	int n = snprintf(sec, sizeof sec, "service.%s", name);
	const char *rest = msg;
	if (n > 0 && strncmp(msg, sec, (size_t)n) == 0) {
		rest = msg + n;
		if (*rest == '.') {
			const char *colon = strchr(rest, ':');
			size_t klen = colon ? (size_t)(colon - rest - 1) : 0;
			if (klen && klen < sizeof key) {
				memcpy(key, rest + 1, klen);
				key[klen] = '\0';
				rest = colon;
			}
		}
		if (*rest == ':')
			rest++;
		while (*rest == ' ')
			rest++;
	}
	const struct mm_conf_entry *e = key[0] ? mm_config_entry(c->conf, sec, key) : NULL;
	/* Without the key's line, any line of the section will point there. */
	for (size_t i = 0; !e && i < c->conf->n; i++)
		if (strcmp(c->conf->entries[i].section, sec) == 0)
			e = &c->conf->entries[i];
	mm_diags_add(c->diags, "%s:%d: [%s]%s%s: %s", c->conf->path, e ? e->line : 0, sec,
		     key[0] ? " " : "", key, rest);
	c->problems++;
}

static void check_one(const char *name, void *arg)
{
	struct check *c = arg;
	struct mm_service_conf sc;
	struct mm_err err;
	if (mm_service_conf_load(c->conf, name, &sc, &err) < 0) {
		report(c, name, err.msg);
		return;
	}
	mm_service_conf_free(&sc);
}

size_t mm_services_check(const struct mm_config *conf, struct mm_diags *diags)
{
	struct check c = {.conf = conf, .diags = diags};
	mm_config_each_instance(conf, "service", check_one, &c);
	return c.problems;
}

/* section_check: see section_check.h. */
#include "core/section_check.h"

#include <stdio.h>
#include <string.h>

struct check {
	const struct mm_config *conf;
	const char *prefix;
	mm_section_load_fn *load;
	struct mm_diags *diags;
	size_t problems;
};

/* The loader's messages start "PREFIX.NAME.KEY: " or "PREFIX.NAME: ". */
static void report(struct check *c, const char *name, const char *msg)
{
	char sec[192], key[64] = "";
	int n = snprintf(sec, sizeof sec, "%s.%s", c->prefix, name);
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
	struct mm_err err;
	if (c->load(c->conf, name, &err) < 0)
		report(c, name, err.msg);
}

size_t mm_sections_check(const struct mm_config *conf, const char *prefix,
			 mm_section_load_fn *load, struct mm_diags *diags)
{
	struct check c = {.conf = conf, .prefix = prefix, .load = load, .diags = diags};
	mm_config_each_instance(conf, prefix, check_one, &c);
	return c.problems;
}

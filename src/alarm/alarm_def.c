/*
 * alarm_def: reading [alarm.NAME] sections into checked definitions (see
 * alarm_def.h). Every problem is reported, not only the first, each with
 * the file and the line of the key at fault.
 */
#include "alarm/alarm_def.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/parse.h"
#include "core/strutil.h"
#include "core/xalloc.h"

extern const struct mm_conf_table mm_conf_table_alarm;

struct loader {
	const struct mm_config *conf;
	struct mm_alarm_defs *defs;
	struct mm_diags *diags;
	size_t bad;
};

static const char *fname(const struct mm_config *conf)
{
	return conf->path ? conf->path : "(defaults)";
}

/* The line of key in section, or of any key of the section, or 0. */
static int key_line(const struct mm_config *conf, const char *sec, const char *key)
{
	const struct mm_conf_entry *e = mm_config_entry(conf, sec, key);
	if (e)
		return e->line;
	for (size_t i = 0; i < conf->n; i++)
		if (strcmp(conf->entries[i].section, sec) == 0)
			return conf->entries[i].line;
	return 0;
}

static void problem(struct loader *l, const char *sec, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(struct loader *l, const char *sec, const char *key, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	int line = key_line(l->conf, sec, key);
	if (line > 0)
		mm_diags_add(l->diags, "%s:%d: [%s] %s: %s", fname(l->conf), line, sec, key, msg);
	else
		mm_diags_add(l->diags, "%s: [%s] %s: %s", fname(l->conf), sec, key, msg);
	l->bad++;
}

const char *mm_alarm_fn_name(enum mm_alarm_fn fn)
{
	switch (fn) {
	case MM_AF_VALUE: return "value";
	case MM_AF_DELTA: return "delta";
	case MM_AF_RATE: return "rate";
	case MM_AF_UNCHANGED: return "unchanged";
	}
	return "?";
}

/* Splits "fn(SELECTOR)" into the function and the selector text. */
static int parse_metric(const char *text, struct mm_alarm_def *d, struct mm_err *err)
{
	static const struct {
		const char *name;
		enum mm_alarm_fn fn;
	} fns[] = {{"delta", MM_AF_DELTA}, {"rate", MM_AF_RATE}, {"unchanged", MM_AF_UNCHANGED}};
	char buf[MM_ALARM_TEXT_MAX];
	if (strlen(text) >= sizeof buf)
		return mm_err_set(err, "longer than %zu characters", sizeof buf - 1);
	snprintf(buf, sizeof buf, "%s", text);
	const char *sel = buf;
	d->fn = MM_AF_VALUE;
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
		size_t n = strlen(fns[i].name);
		if (strncmp(buf, fns[i].name, n) == 0 && buf[n] == '(') {
			size_t len = strlen(buf);
			while (len > 0 && isspace((unsigned char)buf[len - 1]))
				buf[--len] = '\0';
			if (len == 0 || buf[len - 1] != ')')
				return mm_err_set(err, "%s( is not closed by )", fns[i].name);
			buf[len - 1] = '\0';
			sel = buf + n + 1;
			d->fn = fns[i].fn;
			break;
		}
	}
	return mm_selector_parse(sel, &d->sel, err);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* A threshold the watched value can never cross is a mistake, not a
 * quiet alarm: percentages live in 0..100, *_up in 0..1, and counts,
 * durations and sizes are never negative. NULL when possible. */
static const char *impossible(const struct mm_alarm_def *d)
{
	const char *fam = d->sel.name;
	double t = d->threshold;
	bool value_like = d->fn == MM_AF_VALUE;
	if (value_like && has_suffix(fam, "_percent")) {
		if (d->direction < 0 && t <= 0)
			return "a percentage is never below 0";
		if (d->direction > 0 && t >= 100)
			return "a percentage is never above 100";
	}
	if (value_like && has_suffix(fam, "_up")) {
		if (d->direction < 0 && t <= 0)
			return "an up/down value (0 or 1) is never below 0";
		if (d->direction > 0 && t >= 1)
			return "an up/down value (0 or 1) is never above 1";
	}
	bool nonneg = d->fn == MM_AF_UNCHANGED ||
		      (d->fn != MM_AF_DELTA &&
		       (has_suffix(fam, "_total") || has_suffix(fam, "_seconds") ||
			has_suffix(fam, "_bytes") || has_suffix(fam, "_messages")));
	if (nonneg && d->direction < 0 && t <= 0)
		return "this value is never negative, so it is never below that";
	return NULL;
}

static void load_one(struct loader *l, const char *name, bool builtin)
{
	char sec[MM_ALARM_NAME_MAX + 8];
	if (strlen(name) >= MM_ALARM_NAME_MAX) {
		snprintf(sec, sizeof sec, "alarm.%.*s", MM_ALARM_NAME_MAX, name);
		problem(l, sec, "metric", "alarm name longer than %d characters",
			MM_ALARM_NAME_MAX - 1);
		return;
	}
	snprintf(sec, sizeof sec, "alarm.%s", name);
	const struct mm_config *c = l->conf;
	struct mm_alarm_def d;
	memset(&d, 0, sizeof d);
	snprintf(d.name, sizeof d.name, "%s", name);
	d.builtin = builtin;
	d.enable = mm_config_bool(c, sec, "enable");
	size_t before = l->bad;
	struct mm_err err = {{0}};

	const char *metric = mm_config_get(c, sec, "metric");
	d.metric_set = mm_config_entry(c, sec, "metric") != NULL;
	d.metric_line = key_line(c, sec, "metric");
	bool sel_ok = false;
	if (!metric || !*metric) {
		problem(l, sec, "metric", "required: a series selector such as "
					  "mailmon_queue_messages{queue=\"deferred\"}");
	} else if (parse_metric(metric, &d, &err) < 0) {
		problem(l, sec, "metric", "%s", err.msg);
	} else {
		sel_ok = true;
		snprintf(d.metric, sizeof d.metric, "%s", metric);
	}

	d.statinterval_ms = mm_config_duration_ms(c, sec, "statinterval");
	d.warninginterval_ms = mm_config_duration_ms(c, sec, "warninginterval");

	const char *dir = mm_config_get(c, sec, "thresholddirection");
	d.direction = (dir && (strcmp(dir, "below") == 0 || strcmp(dir, "-1") == 0)) ? -1 : 1;

	const char *thr = mm_config_get(c, sec, "threshold");
	bool thr_ok = false;
	if (!thr || !*thr) {
		problem(l, sec, "threshold", "required: a number");
	} else {
		char *end;
		errno = 0;
		d.threshold = strtod(thr, &end);
		if (end == thr || *end || errno == ERANGE || !isfinite(d.threshold))
			problem(l, sec, "threshold", "expected a finite number, got \"%s\"", thr);
		else
			thr_ok = true;
	}
	if (sel_ok && thr_ok) {
		const char *why = impossible(&d);
		if (why)
			problem(l, sec, "threshold", "%s %s can never fire: %s", dir, thr, why);
	}

	const char *cy = mm_config_get(c, sec, "cycles");
	int n = 0, m = 0;
	char extra;
	if (!cy || sscanf(cy, "%d/%d%c", &n, &m, &extra) != 2 || n < 1 || m < n || m > 64)
		problem(l, sec, "cycles", "expected N/M with 1 <= N <= M <= 64, got \"%s\"",
			cy ? cy : "");
	d.cycles_n = n;
	d.cycles_m = m;

	snprintf(d.severity, sizeof d.severity, "%s", mm_config_get(c, sec, "severity"));
	const char *desc = mm_config_get(c, sec, "description");
	snprintf(d.description, sizeof d.description, "%s", desc && *desc ? desc : name);

	if (l->bad != before) {
		if (sel_ok)
			mm_selector_free(&d.sel);
		return;
	}
	struct mm_alarm_defs *defs = l->defs;
	defs->v = xrealloc(defs->v, (defs->n + 1) * sizeof *defs->v);
	defs->v[defs->n++] = d;
}

struct each_arg {
	struct loader *l;
};

static void each_section(const char *name, void *arg)
{
	struct loader *l = arg;
	if (mm_alarm_defs_find(l->defs, name))
		return;
	/* A built-in whose enable/metric failed to load is not loaded twice. */
	for (size_t i = 0; i < mm_conf_table_alarm.nsections; i++) {
		const char *s = mm_conf_table_alarm.sections[i].name;
		if (strncmp(s, "alarm.", 6) == 0 && strcmp(s + 6, name) == 0)
			return;
	}
	if (strchr(name, '.'))
		return; /* the loader already refused [alarm.a.b] */
	load_one(l, name, false);
}

size_t mm_alarm_defs_load(const struct mm_config *conf, struct mm_alarm_defs *defs,
			  struct mm_diags *diags)
{
	memset(defs, 0, sizeof *defs);
	struct loader l = {conf, defs, diags, 0};
	for (size_t i = 0; i < mm_conf_table_alarm.nsections; i++) {
		const char *s = mm_conf_table_alarm.sections[i].name;
		if (strncmp(s, "alarm.", 6) != 0 || strcmp(s, "alarm.*") == 0)
			continue;
		load_one(&l, s + 6, true);
	}
	mm_config_each_instance(conf, "alarm", each_section, &l);

	const char *tpl = mm_config_get(conf, "alarm", "noticetemplate");
	if (tpl && access(tpl, R_OK) != 0) {
		int e = errno;
		char msg[300];
		snprintf(msg, sizeof msg, "cannot read %s: %s", tpl, strerror(e));
		problem(&l, "alarm", "noticetemplate", "%s", msg);
	}
	if (mm_config_duration_ms(conf, "alarm", "retry_min") >
	    mm_config_duration_ms(conf, "alarm", "retry_max"))
		problem(&l, "alarm", "retry_min", "longer than retry_max");
	const char *am = mm_config_get(conf, "alarm", "alertmanager_url");
	if (am && *am && strncmp(am, "http://", 7) != 0)
		problem(&l, "alarm", "alertmanager_url",
			"expected http://ADDRESS:PORT, got \"%s\"", am);

	defs->path = xstrdup(fname(conf));
	if (l.bad) {
		mm_alarm_defs_free(defs);
		return l.bad;
	}
	return 0;
}

size_t mm_alarm_defs_check_registry(const struct mm_alarm_defs *defs,
				    const struct mm_registry *reg, struct mm_diags *diags)
{
	size_t bad = 0;
	for (size_t i = 0; i < defs->n; i++) {
		const struct mm_alarm_def *d = &defs->v[i];
		if (!d->enable || !d->metric_set)
			continue;
		struct mm_err err = {{0}};
		if (mm_selector_check(&d->sel, reg, &err) < 0) {
			if (d->metric_line > 0)
				mm_diags_add(diags, "%s:%d: [alarm.%s] metric: %s", defs->path,
					     d->metric_line, d->name, err.msg);
			else
				mm_diags_add(diags, "%s: [alarm.%s] metric: %s", defs->path,
					     d->name, err.msg);
			bad++;
		}
	}
	return bad;
}

const struct mm_alarm_def *mm_alarm_defs_find(const struct mm_alarm_defs *defs,
					      const char *name)
{
	for (size_t i = 0; i < defs->n; i++)
		if (strcmp(defs->v[i].name, name) == 0)
			return &defs->v[i];
	return NULL;
}

void mm_alarm_defs_free(struct mm_alarm_defs *defs)
{
	for (size_t i = 0; i < defs->n; i++)
		mm_selector_free(&defs->v[i].sel);
	free(defs->v);
	free(defs->path);
	memset(defs, 0, sizeof *defs);
}

size_t mm_alarm_defs_check(const struct mm_config *conf, struct mm_diags *diags)
{
	struct mm_alarm_defs defs;
	size_t bad = mm_alarm_defs_load(conf, &defs, diags);
	if (!bad)
		mm_alarm_defs_free(&defs);
	return bad;
}

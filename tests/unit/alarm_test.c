/*
 * alarm_test: alarm definitions from config (with the line of each bad
 * key), the engine against a registry filled by the test (raise once,
 * repeat at warninginterval, clear once, N of M, one instance per
 * series, a vanished series clears, silences, delta/rate/unchanged), the
 * seed's counter fields, and the state file round trip with a restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alarm/alarm.h"
#include "alarm/alarm_def.h"
#include "alarm/alarm_state.h"
#include "core/config.h"

static const struct mm_metric_def fams[] = {
	{.name = "t_queue_messages", .help = "Queued.", .type = MM_METRIC_GAUGE,
	 .labels = {"queue", "destination"}},
	{.name = "t_lines_total", .help = "Lines.", .type = MM_METRIC_COUNTER,
	 .labels = {"source"}},
	{.name = "t_disk_avail_percent", .help = "Avail.", .type = MM_METRIC_GAUGE,
	 .labels = {"path"}},
};

/* The test's source: values it publishes at each collection. */
struct src {
	struct mm_metric *m[3];
	double q[3]; /* t_queue_messages{queue="deferred",destination=a|b|c}; <0: absent */
	double lines;
};

static void collect(void *arg, struct mm_registry *r)
{
	(void)r;
	struct src *s = arg;
	static const char *dest[] = {"a.test", "b.test", "c.test"};
	for (int i = 0; i < 3; i++) {
		if (s->q[i] < 0)
			continue;
		const char *lv[] = {"deferred", dest[i]};
		mm_metric_set(s->m[0], lv, s->q[i]);
	}
	const char *lv2[] = {"maillog"};
	mm_metric_set(s->m[1], lv2, s->lines);
}

struct fixture {
	struct mm_registry *reg;
	struct src src;
	struct mm_config *conf;
	struct mm_alarm_defs defs;
	struct mm_alarm_engine *e;
};

static void setup(struct fixture *f, const char *conftext)
{
	memset(f, 0, sizeof *f);
	struct mm_err err = {{0}};
	f->reg = mm_registry_new();
	assert_int_equal(mm_registry_add_all(f->reg, fams, 3, f->src.m, &err), 0);
	mm_registry_add_collector(f->reg, collect, &f->src);
	struct mm_diags d = {0};
	f->conf = mm_config_load_string(conftext, "t.conf", &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	assert_non_null(f->conf);
	assert_int_equal(mm_alarm_defs_load(f->conf, &f->defs, &d), 0);
	assert_int_equal(mm_alarm_defs_check_registry(&f->defs, f->reg, &d), 0);
	mm_diags_free(&d);
	f->e = mm_alarm_engine_new();
	assert_int_equal(mm_alarm_publish(f->e, f->reg, &err), 0);
	mm_alarm_set_defs(f->e, &f->defs);
}

static void teardown(struct fixture *f)
{
	mm_alarm_engine_free(f->e);
	mm_alarm_defs_free(&f->defs);
	mm_config_free(f->conf);
	mm_registry_free(f->reg);
}

/* Collects, evaluates at t seconds; returns the events. */
static size_t step(struct fixture *f, int64_t t, const struct mm_alarm_event **ev)
{
	mm_registry_collect(f->reg);
	return mm_alarm_eval(f->e, f->reg, t * 1000, ev);
}

static const char *only_queue =
	"[alarm.diskavail]\nenable = no\n[alarm.logstopped]\nenable = no\n"
	"[alarm.q]\nmetric = t_queue_messages{queue=\"deferred\"}\nthreshold = 100\n"
	"statinterval = 10s\ncycles = 2/3\nwarninginterval = 60s\ndescription = deferred "
	"backlog\n";

static void test_raise_repeat_clear(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, only_queue);
	const struct mm_alarm_event *ev;
	f.src.q[0] = 150; /* a.test over */
	f.src.q[1] = 5;
	f.src.q[2] = -1;
	int64_t t = 1000000;
	assert_int_equal(step(&f, t, &ev), 0); /* 1 of 3: not yet */
	assert_int_equal(step(&f, t + 5, &ev), 0); /* not due */
	t += 10;
	assert_int_equal(step(&f, t, &ev), 1);
	assert_int_equal(ev[0].kind, MM_ALARM_RAISE);
	assert_string_equal(ev[0].inst.alarm, "q");
	assert_string_equal(ev[0].inst.instance, "a.test");
	assert_string_equal(ev[0].def->description, "deferred backlog");
	assert_false(ev[0].silenced);
	assert_int_equal(ev[0].inst.countoverthreshold, 2);
	assert_int_equal(ev[0].inst.countwarningsent, 1);
	assert_int_equal(ev[0].inst.timestatechanged, t);
	assert_true(ev[0].inst.warningstate);
	/* holds: no event until warninginterval */
	f.src.q[0] = 180;
	for (int i = 0; i < 5; i++) {
		t += 10;
		assert_int_equal(step(&f, t, &ev), 0);
	}
	t += 10; /* 60 s after the raise */
	assert_int_equal(step(&f, t, &ev), 1);
	assert_int_equal(ev[0].kind, MM_ALARM_REPEAT);
	assert_int_equal(ev[0].inst.countwarningsent, 2);
	assert_true(ev[0].inst.high == 180 && ev[0].inst.low == 150);
	/* drops: 2 of 3 good needed? no: none of the last N=2 crossing */
	f.src.q[0] = 20;
	t += 10;
	assert_int_equal(step(&f, t, &ev), 0);
	t += 10;
	assert_int_equal(step(&f, t, &ev), 1);
	assert_int_equal(ev[0].kind, MM_ALARM_CLEAR);
	assert_false(ev[0].inst.warningstate);
	assert_true(ev[0].inst.current == 20 && ev[0].inst.low == 20);
	assert_int_equal(ev[0].inst.countoverthreshold, 8);
	t += 10;
	assert_int_equal(step(&f, t, &ev), 0);
	/* the registry shows it */
	const struct mm_metric *m = mm_registry_find(f.reg, "mailmon_alarm_firing");
	assert_non_null(m);
	const char *lv[] = {"q", "a.test"};
	mm_registry_collect(f.reg);
	const struct mm_series *s = mm_metric_lookup(m, lv);
	assert_non_null(s);
	assert_true(s->value == 0);
	teardown(&f);
}

static void test_instances_and_vanish(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, "[alarm.diskavail]\nenable = no\n[alarm.logstopped]\nenable = no\n"
		  "[alarm.q]\nmetric = t_queue_messages{destination=~\"[ab].*\"}\n"
		  "threshold = 10\nstatinterval = 1s\n");
	const struct mm_alarm_event *ev;
	f.src.q[0] = 50;
	f.src.q[1] = 60;
	f.src.q[2] = 70; /* not matched */
	assert_int_equal(step(&f, 100, &ev), 2);
	assert_string_equal(ev[0].inst.instance, "deferred,a.test");
	assert_string_equal(ev[1].inst.instance, "deferred,b.test");
	mm_registry_collect(f.reg);
	const char *lv[] = {"q", "deferred,b.test"};
	const struct mm_series *s =
		mm_metric_lookup(mm_registry_find(f.reg, "mailmon_alarm_firing"), lv);
	assert_non_null(s);
	assert_true(s->value == 1);
	f.src.q[1] = -1; /* b.test leaves the registry: cleared after the grace */
	assert_int_equal(step(&f, 101, &ev), 0);
	assert_int_equal(step(&f, 159, &ev), 0);
	assert_non_null(mm_alarm_find(f.e, "q", "deferred,b.test"));
	assert_int_equal(step(&f, 161, &ev), 1);
	assert_int_equal(ev[0].kind, MM_ALARM_CLEAR);
	assert_true(ev[0].gone);
	assert_string_equal(ev[0].inst.instance, "deferred,b.test");
	assert_null(mm_alarm_find(f.e, "q", "deferred,b.test"));
	teardown(&f);
}

static void test_silence(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, "[alarm.diskavail]\nenable = no\n[alarm.logstopped]\nenable = no\n"
		  "[alarm.q]\nmetric = t_queue_messages{destination=\"a.test\"}\n"
		  "threshold = 10\nstatinterval = 1s\n");
	const struct mm_alarm_event *ev;
	f.src.q[0] = 50;
	f.src.q[1] = f.src.q[2] = -1;
	mm_alarm_silence(f.e, "q", NULL, 105);
	assert_int_equal(step(&f, 100, &ev), 1);
	assert_true(ev[0].silenced);
	assert_int_equal(ev[0].inst.countwarningsent, 0);
	assert_int_equal(step(&f, 101, &ev), 0);
	assert_int_equal(step(&f, 106, &ev), 1); /* silence over, still raised */
	assert_int_equal(ev[0].kind, MM_ALARM_RAISE);
	assert_false(ev[0].silenced);
	f.src.q[0] = 1;
	assert_int_equal(step(&f, 107, &ev), 1);
	assert_int_equal(ev[0].kind, MM_ALARM_CLEAR);
	assert_false(ev[0].silenced);
	/* silenced raise -> silenced clear */
	mm_alarm_silence(f.e, "q", "deferred", 200);
	f.src.q[0] = 50;
	assert_int_equal(step(&f, 108, &ev), 1);
	assert_true(ev[0].silenced);
	f.src.q[0] = 1;
	assert_int_equal(step(&f, 109, &ev), 1);
	assert_int_equal(ev[0].kind, MM_ALARM_CLEAR);
	assert_true(ev[0].silenced);
	teardown(&f);
}

static void test_functions(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, "[alarm.diskavail]\nenable = no\n[alarm.logstopped]\nenable = no\n"
		  "[alarm.grow]\nmetric = delta(t_queue_messages{destination=\"a.test\"})\n"
		  "threshold = 100\nstatinterval = 10s\n"
		  "[alarm.fast]\nmetric = rate(t_lines_total)\nthreshold = 5\nstatinterval = 10s\n"
		  "[alarm.stop]\nmetric = unchanged(t_lines_total)\nthreshold = 25\n"
		  "statinterval = 10s\n");
	const struct mm_alarm_event *ev;
	f.src.q[0] = 10;
	f.src.q[1] = f.src.q[2] = -1;
	f.src.lines = 0;
	assert_int_equal(step(&f, 0, &ev), 0); /* first sample: no delta yet */
	f.src.q[0] = 200;  /* +190 */
	f.src.lines = 100; /* 10/s */
	size_t n = step(&f, 10, &ev);
	assert_int_equal(n, 2);
	assert_string_equal(ev[0].inst.alarm, "grow");
	assert_true(ev[0].inst.current == 190);
	assert_string_equal(ev[1].inst.alarm, "fast");
	assert_true(ev[1].inst.current == 10);
	/* lines stop: rate 0 clears "fast", unchanged grows past 25 s */
	n = step(&f, 20, &ev);
	assert_int_equal(n, 2); /* grow clears (delta 0), fast clears */
	assert_int_equal(step(&f, 30, &ev), 0);
	n = step(&f, 40, &ev); /* unchanged for 30 s */
	assert_int_equal(n, 1);
	assert_string_equal(ev[0].inst.alarm, "stop");
	assert_true(ev[0].inst.current == 30);
	teardown(&f);
}

static void test_state_restart(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, only_queue);
	const struct mm_alarm_event *ev;
	f.src.q[0] = 150;
	f.src.q[1] = f.src.q[2] = -1;
	step(&f, 1000, &ev);
	assert_int_equal(step(&f, 1010, &ev), 1);
	mm_alarm_silence(f.e, "q", "x y%z", 99999);
	snprintf(f.e->inst[0].last_result, sizeof f.e->inst[0].last_result, "mail: 250 ok");
	char path[] = "/tmp/alarm_test_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	struct mm_err err = {{0}};
	assert_int_equal(mm_alarm_state_save(f.e, path, &err), 0);
	struct mm_strbuf a, b;
	mm_strbuf_init(&a, 1 << 20);
	mm_strbuf_init(&b, 1 << 20);
	mm_alarm_state_format(f.e, &a);
	/* "restart": a new engine from the file */
	mm_alarm_engine_free(f.e);
	f.e = mm_alarm_engine_new();
	assert_int_equal(mm_alarm_publish(f.e, f.reg, &err), 0);
	assert_int_equal(mm_alarm_state_load(f.e, path, &err), 0);
	mm_alarm_state_format(f.e, &b);
	assert_string_equal(a.p, b.p);
	mm_alarm_set_defs(f.e, &f.defs);
	assert_true(mm_alarm_silenced(f.e, "q", "x y%z", 2000));
	/* the source has not published yet after the restart: no clear */
	f.src.q[0] = -1;
	assert_int_equal(step(&f, 1015, &ev), 0);
	f.src.q[0] = 150;
	/* still raised: nothing sent again; the clear still goes out */
	assert_int_equal(step(&f, 1025, &ev), 0);
	f.src.q[0] = 0;
	assert_int_equal(step(&f, 1035, &ev), 0);
	assert_int_equal(step(&f, 1045, &ev), 1);
	assert_int_equal(ev[0].kind, MM_ALARM_CLEAR);
	assert_false(ev[0].silenced);
	/* bad files */
	struct mm_alarm_engine *e2 = mm_alarm_engine_new();
	const char *bad[] = {
		"mailmon-alarm-state 2\n",
		"mailmon-alarm-state 1\ninst q a ws=2\n",
		"mailmon-alarm-state 1\ninst q a%zz ws=1\n",
		"inst q a ws=1\n",
		"garbage",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(mm_alarm_state_parse(e2, bad[i], strlen(bad[i]), "s", &err), -1);
	assert_non_null(strstr(err.msg, "s"));
	mm_alarm_engine_free(e2);
	unlink(path);
	close(fd);
	mm_strbuf_free(&a);
	mm_strbuf_free(&b);
	teardown(&f);
}

static void test_defaults_builtin(void **state)
{
	(void)state;
	struct mm_diags d = {0};
	struct mm_config *conf = mm_config_defaults();
	struct mm_alarm_defs defs;
	assert_int_equal(mm_alarm_defs_load(conf, &defs, &d), 0);
	assert_int_equal(defs.n, 23); /* with isolateddestination, isolatesetup, instanceverdict */
	const struct mm_alarm_def *hr = mm_alarm_defs_find(&defs, "historyrecovered");
	assert_non_null(hr);
	assert_int_equal(hr->fn, MM_AF_DELTA);
	const struct mm_alarm_def *nv = mm_alarm_defs_find(&defs, "nodeverdict");
	assert_non_null(nv);
	assert_int_equal(nv->statinterval_ms, 10000);
	assert_non_null(mm_alarm_defs_find(&defs, "floodeddestination"));
	const struct mm_alarm_def *bd = mm_alarm_defs_find(&defs, "baselinedeparture");
	assert_non_null(bd);
	assert_int_equal(bd->cycles_n, 3);
	assert_int_equal(bd->cycles_m, 5);
	const struct mm_alarm_def *da = mm_alarm_defs_find(&defs, "diskavail");
	assert_non_null(da);
	assert_int_equal(da->direction, -1);
	assert_true(da->threshold == 10);
	assert_int_equal(da->statinterval_ms, 3600000);
	const struct mm_alarm_def *g = mm_alarm_defs_find(&defs, "queuegrowth");
	assert_int_equal(g->fn, MM_AF_DELTA);
	assert_int_equal(g->cycles_n, 2);
	assert_int_equal(g->cycles_m, 3);
	/* built-ins whose family is absent are not errors */
	struct mm_registry *r = mm_registry_new();
	assert_int_equal(mm_alarm_defs_check_registry(&defs, r, &d), 0);
	mm_registry_free(r);
	mm_alarm_defs_free(&defs);
	mm_config_free(conf);
	mm_diags_free(&d);
}

static void test_bad_config(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{"[alarm.x]\nthreshold = 5\nmetric = t_queue_messages{queue=\"a\"\n",
		 "t.conf:3: [alarm.x] metric: "},
		{"[alarm.x]\nmetric = t_lines_total\nthreshold = lots\n",
		 "t.conf:3: [alarm.x] threshold: expected a number, got \"lots\""},
		{"[alarm.x]\nmetric = t_disk_avail_percent\n\nthreshold = 150\n",
		 "t.conf:4: [alarm.x] threshold: above 150 can never fire: a percentage"},
		{"[alarm.diskavail]\nthreshold = -5\n",
		 "t.conf:2: [alarm.diskavail] threshold: -5 is out of range (0..100)"},
		{"[alarm.x]\nmetric = t_disk_avail_percent\nthresholddirection = -1\nthreshold = 0\n",
		 "t.conf:4: [alarm.x] threshold: -1 0 can never fire: a percentage is never below 0"},
		{"[alarm.x]\nmetric = t_lines_total\nthreshold = 1\ncycles = 3/2\n",
		 "t.conf:4: [alarm.x] cycles: expected N/M"},
		{"[alarm.x]\nthreshold = 1\n", "t.conf:2: [alarm.x] metric: required"},
		{"[alarm.x]\nmetric = rate(t_lines_total\nthreshold = 1\n",
		 "t.conf:2: [alarm.x] metric: rate( is not closed"},
		{"[alarm]\nnoticetemplate = /nonexistent/tpl\n",
		 "t.conf:2: [alarm] noticetemplate: cannot read /nonexistent/tpl"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mm_diags d = {0};
		struct mm_config *conf = mm_config_load_string(cases[i].text, "t.conf", &d);
		struct mm_alarm_defs defs;
		if (conf) /* else the schema refused it already */
			assert_true(mm_alarm_defs_load(conf, &defs, &d) > 0);
		bool found = false;
		for (size_t j = 0; j < d.n; j++)
			if (strstr(d.msgs[j], cases[i].want))
				found = true;
		if (!found)
			fail_msg("case %zu: want \"%s\", got \"%s\"", i, cases[i].want,
				 d.n ? d.msgs[0] : "(nothing)");
		mm_config_free(conf);
		mm_diags_free(&d);
	}
	/* a selector naming a family that does not exist, with its line */
	struct mm_diags d = {0};
	struct mm_config *conf = mm_config_load_string(
		"[alarm.x]\nthreshold = 1\nmetric = t_nosuch_total\n", "t.conf", &d);
	struct mm_alarm_defs defs;
	assert_int_equal(mm_alarm_defs_load(conf, &defs, &d), 0);
	struct mm_registry *r = mm_registry_new();
	assert_int_equal(mm_alarm_defs_check_registry(&defs, r, &d), 1);
	assert_non_null(strstr(d.msgs[0], "t.conf:3: [alarm.x] metric: "));
	mm_registry_free(r);
	mm_alarm_defs_free(&defs);
	mm_config_free(conf);
	mm_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raise_repeat_clear), cmocka_unit_test(test_instances_and_vanish),
		cmocka_unit_test(test_silence),		   cmocka_unit_test(test_functions),
		cmocka_unit_test(test_state_restart),	   cmocka_unit_test(test_defaults_builtin),
		cmocka_unit_test(test_bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * registry_test: the metric registry, its Prometheus text and JSON
 * formatters, series selectors and the UTF-8 cleaner. Expected outputs
 * are written out by hand from the exposition format's rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/utf8.h"
#include "core/xalloc.h"
#include "metrics/prom_format.h"
#include "metrics/registry.h"
#include "metrics/selector.h"

struct out {
	char buf[16384];
	size_t n;
};

static void sink(void *arg, const char *s, size_t n)
{
	struct out *o = arg;
	assert_true(o->n + n < sizeof o->buf);
	memcpy(o->buf + o->n, s, n);
	o->n += n;
	o->buf[o->n] = '\0';
}

static const struct mm_metric_def defs[] = {
	{.name = "t_lines_total", .help = "Lines read.", .type = MM_METRIC_COUNTER,
	 .labels = {"source"}},
	{.name = "t_queue_messages", .help = "Messages\nqueued \\ now.", .type = MM_METRIC_GAUGE,
	 .labels = {"queue", "destination"}, .max_series = 3},
	{.name = "t_up", .help = "Up.", .type = MM_METRIC_GAUGE},
};

static const double bounds[] = {0.1, 1, 10};
static const struct mm_metric_def hist = {.name = "t_delay_seconds", .help = "Delay.",
					  .type = MM_METRIC_HISTOGRAM, .buckets = bounds,
					  .nbuckets = 3};
static const char *const states[] = {"healthy", "stalled"};
static const struct mm_metric_def verdict = {.name = "t_verdict", .help = "Verdict.",
					     .type = MM_METRIC_STATESET, .labels = {"state"},
					     .states = states, .nstates = 2};

struct src {
	int nsources;
	double lines;
	int dests;
	struct mm_metric *f[3];
};

static void collect(void *arg, struct mm_registry *r)
{
	struct src *s = arg;
	for (int i = 0; i < s->nsources; i++) {
		char name[16];
		snprintf(name, sizeof name, "s%d", i);
		mm_metric_set(s->f[0], (const char *[]){name}, s->lines + i);
	}
	for (int i = 0; i < s->dests; i++) {
		char d[32];
		snprintf(d, sizeof d, "d%d.test", i);
		mm_metric_set(s->f[1], (const char *[]){"deferred", d}, 10);
	}
	mm_metric_set(s->f[2], NULL, 1);
}

static void test_prom_text(void **state)
{
	struct mm_err err;
	struct mm_registry *r = mm_registry_new();
	struct src s = {.nsources = 2, .lines = 5, .dests = 1};
	assert_int_equal(mm_registry_add_all(r, defs, 3, s.f, &err), 0);
	struct mm_metric *h = mm_registry_add(r, &hist, &err);
	struct mm_metric *v = mm_registry_add(r, &verdict, &err);
	assert_non_null(h);
	assert_non_null(v);
	mm_registry_add_collector(r, collect, &s);
	mm_registry_collect(r);
	mm_metric_observe(h, NULL, 0.05);
	mm_metric_observe(h, NULL, 2.5);
	mm_metric_observe(h, NULL, 99);
	mm_metric_set_state(v, NULL, "stalled");
	struct out o = {.n = 0};
	mm_prom_write(r, sink, &o);
	const char *want =
		"# HELP t_lines_total Lines read.\n"
		"# TYPE t_lines_total counter\n"
		"t_lines_total{source=\"s0\"} 5\n"
		"t_lines_total{source=\"s1\"} 6\n"
		"# HELP t_queue_messages Messages\\nqueued \\\\ now.\n"
		"# TYPE t_queue_messages gauge\n"
		"t_queue_messages{queue=\"deferred\",destination=\"d0.test\"} 10\n"
		"# HELP t_up Up.\n"
		"# TYPE t_up gauge\n"
		"t_up 1\n"
		"# HELP t_delay_seconds Delay.\n"
		"# TYPE t_delay_seconds histogram\n"
		"t_delay_seconds_bucket{le=\"0.1\"} 1\n"
		"t_delay_seconds_bucket{le=\"1\"} 1\n"
		"t_delay_seconds_bucket{le=\"10\"} 2\n"
		"t_delay_seconds_bucket{le=\"+Inf\"} 3\n"
		"t_delay_seconds_sum 101.55\n"
		"t_delay_seconds_count 3\n"
		"# HELP t_verdict Verdict.\n"
		"# TYPE t_verdict gauge\n"
		"t_verdict{state=\"healthy\"} 0\n"
		"t_verdict{state=\"stalled\"} 1\n";
	assert_string_equal(o.buf, want);

	/* A source that went away is dropped at the next collection; the
	 * pushed histogram stays. */
	s.nsources = 1;
	mm_registry_collect(r);
	assert_int_equal(mm_metric_nseries(s.f[0]), 1);
	assert_int_equal(mm_metric_nseries(h), 1);
	mm_registry_free(r);
}

static void test_fold_over_cap(void **state)
{
	struct mm_err err;
	struct mm_registry *r = mm_registry_new();
	struct src s = {.nsources = 0, .dests = 7};
	assert_int_equal(mm_registry_add_all(r, defs, 3, s.f, &err), 0);
	mm_registry_add_collector(r, collect, &s);
	for (int round = 0; round < 3; round++) {
		mm_registry_collect(r);
		/* 3 kept, the other 4 summed into destination="other". */
		assert_int_equal(mm_metric_nseries(s.f[1]), 4);
		const struct mm_series *o =
			mm_metric_lookup(s.f[1], (const char *[]){"deferred", "other"});
		assert_non_null(o);
		assert_true(o->value == 40);
	}
	assert_int_equal(mm_metric_folded(s.f[1]), 12);
	mm_registry_free(r);
}

static void test_bad_defs(void **state)
{
	struct mm_err err;
	struct mm_registry *r = mm_registry_new();
	static const struct mm_metric_def bad[] = {
		{.name = "t_x", .help = "counter without _total", .type = MM_METRIC_COUNTER},
		{.name = "t_y_total", .help = "gauge with _total", .type = MM_METRIC_GAUGE},
		{.name = "9bad", .help = "name", .type = MM_METRIC_GAUGE},
		{.name = "t_z", .help = "label", .type = MM_METRIC_GAUGE, .labels = {"a-b"}},
		{.name = "t_w", .help = "dup", .type = MM_METRIC_GAUGE, .labels = {"a", "a"}},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_null(mm_registry_add(r, &bad[i], &err));
	static const struct mm_metric_def a = {.name = "t_same", .help = "a", .type = MM_METRIC_GAUGE};
	static const struct mm_metric_def b = {.name = "t_same", .help = "b", .type = MM_METRIC_GAUGE};
	assert_non_null(mm_registry_add(r, &a, &err));
	assert_non_null(mm_registry_add(r, &a, &err));
	assert_null(mm_registry_add(r, &b, &err));
	assert_non_null(strstr(err.msg, "twice"));
	mm_registry_free(r);
}

static void test_label_values_cleaned(void **state)
{
	struct mm_err err;
	struct mm_registry *r = mm_registry_new();
	struct mm_metric *f[3];
	assert_int_equal(mm_registry_add_all(r, defs, 3, f, &err), 0);
	char longv[400];
	memset(longv, 'x', sizeof longv - 1);
	longv[sizeof longv - 1] = '\0';
	mm_metric_set(f[0], (const char *[]){"a\xff\"b\n"}, 1);
	mm_metric_set(f[0], (const char *[]){longv}, 1);
	struct out o = {.n = 0};
	mm_prom_write(r, sink, &o);
	/* invalid byte -> U+FFFD, quote escaped, newline -> '?' */
	assert_non_null(strstr(o.buf, "t_lines_total{source=\"a\xef\xbf\xbd\\\"b?\"} 1\n"));
	const struct mm_series *s = mm_metric_series(f[0], 1);
	assert_int_equal(strlen(s->lv[0]), MM_METRIC_VALUE_MAX);
	mm_registry_free(r);
}

static void test_selector(void **state)
{
	struct mm_err err;
	struct mm_registry *r = mm_registry_new();
	struct src s = {.nsources = 0, .dests = 2};
	assert_int_equal(mm_registry_add_all(r, defs, 3, s.f, &err), 0);
	mm_registry_add_collector(r, collect, &s);
	mm_registry_collect(r);
	struct mm_selector sel;
	assert_int_equal(mm_selector_parse("t_queue_messages{queue=\"deferred\", destination=~\"d1\\\\..*\"}",
					   &sel, &err),
			 0);
	assert_int_equal(mm_selector_check(&sel, r, &err), 0);
	assert_false(mm_selector_match(&sel, s.f[1], mm_metric_series(s.f[1], 0)));
	assert_true(mm_selector_match(&sel, s.f[1], mm_metric_series(s.f[1], 1)));
	mm_selector_free(&sel);

	const char *bad[] = {"", "t{", "t{a=\"x\"", "t{a=x}", "t{a~\"x\"}", "t{a=~\"(\"}",
			     "t x", "t{a=\"x\",,}",
			     /* regexes that make glibc's regcomp explode */
			     "t{a=~\"e+++++++++\"}", "t{a=~\"(a{99}){9}\"}", "t{a=~\"(a+)+\"}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(mm_selector_parse(bad[i], &sel, &err), -1);
		assert_non_null(strstr(err.msg, "selector"));
	}
	assert_int_equal(mm_selector_parse("t_nope", &sel, &err), 0);
	assert_int_equal(mm_selector_check(&sel, r, &err), -1);
	assert_non_null(strstr(err.msg, "unknown metric"));
	mm_selector_free(&sel);
	assert_int_equal(mm_selector_parse("t_up{zone=\"a\"}", &sel, &err), 0);
	assert_int_equal(mm_selector_check(&sel, r, &err), -1);
	assert_non_null(strstr(err.msg, "no label 'zone'"));
	mm_selector_free(&sel);
	mm_registry_free(r);
}

static void test_utf8(void **state)
{
	assert_true(mm_utf8_valid("h\xc3\xa9llo", 6));
	assert_false(mm_utf8_valid("\xc0\xaf", 2));	    /* overlong */
	assert_false(mm_utf8_valid("\xed\xa0\x80", 3));	    /* surrogate */
	assert_false(mm_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(mm_utf8_valid("\xe2\x82", 2));	    /* cut */
	char out[8];
	/* never cut inside a character */
	assert_int_equal(mm_utf8_clean("ab\xe2\x82\xac", out, sizeof out, 4), 2);
	assert_string_equal(out, "ab");
}

static void test_values(void **state)
{
	char b[48];
	mm_prom_value(0.005, b, sizeof b);
	assert_string_equal(b, "0.005");
	mm_prom_value(1e300 * 1e300, b, sizeof b);
	assert_string_equal(b, "+Inf");
	mm_prom_value(-3, b, sizeof b);
	assert_string_equal(b, "-3");
	mm_prom_value(0.1 + 0.2, b, sizeof b);
	assert_true(strtod(b, NULL) == 0.1 + 0.2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prom_text),   cmocka_unit_test(test_fold_over_cap),
		cmocka_unit_test(test_bad_defs),    cmocka_unit_test(test_label_values_cleaned),
		cmocka_unit_test(test_selector),    cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* logstat_test: logstat's grand totals equal pflogsumm's on a real lab
 * log, and its memory stays bounded (distinct counts switch to estimates,
 * the in-flight table evicts, destinations overflow into "(other)") on
 * input built to exceed every cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "logs/logstat.h"
#include "parsers/parser.h"
#include "logs_testev.h"

static void feed_file(struct mm_logstat *ls, const char *rel)
{
	const char *src = getenv("MAILMON_SOURCE_DIR");
	char path[1024], line[70000];
	snprintf(path, sizeof path, "%s/%s", src ? src : ".", rel);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		mm_logstat_line(ls, line, strlen(line));
	fclose(f);
}

/* Expected values: Debian's pflogsumm 1.1.5 on the same file (its Grand
 * Totals), and the file's own line count. */
static const struct {
	const char *file;
	uint64_t received, delivered, deferred, deferrals, bounced, rejected, lines;
} golden[] = {
	{"tests/parsers/golden/postfix-lab.log", 17, 11, 3, 7, 2, 5, 162},
};

static void test_equals_pflogsumm(void **state)
{
	for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
		struct mm_logstat_opts o = {.parser = mm_parser_find("auto"), .year_hint = 2026};
		struct mm_logstat *ls = mm_logstat_new(&o);
		feed_file(ls, golden[i].file);
		struct mm_logstat_totals t;
		mm_logstat_get_totals(ls, &t);
		assert_int_equal(t.received, golden[i].received);
		assert_int_equal(t.delivered, golden[i].delivered);
		assert_int_equal(t.deferred, golden[i].deferred);
		assert_int_equal(t.deferrals, golden[i].deferrals);
		assert_int_equal(t.bounced, golden[i].bounced);
		assert_int_equal(t.rejected, golden[i].rejected);
		assert_int_equal(t.lines, golden[i].lines);
		assert_int_equal(t.unparsed_lines, 0);
		json_t *doc = mm_logstat_json(ls);
		assert_non_null(json_object_get(json_object_get(doc, "totals"), "recipient_hosts"));
		json_decref(doc);
		mm_logstat_free(ls);
	}
}

/* A message through a content filter (Postfix FILTER_README's after-queue
 * amavis setup, postfix-amavis.log): received once, delivered once, one
 * filter hop; the bytes are the original message's. */
static void test_filter_hop(void **state)
{
	(void)state;
	struct mm_logstat_opts o = {.parser = mm_parser_find("auto"), .year_hint = 2026};
	struct mm_logstat *ls = mm_logstat_new(&o);
	feed_file(ls, "tests/parsers/golden/postfix-amavis.log");
	struct mm_logstat_totals t;
	mm_logstat_get_totals(ls, &t);
	assert_int_equal(t.received, 1);
	assert_int_equal(t.delivered, 1);
	assert_int_equal(t.filter_hops, 1);
	assert_int_equal(t.bytes_received, 1500);
	assert_int_equal(t.unparsed_lines, 0);
	mm_logstat_free(ls);
}

static void test_bounded(void **state)
{
	struct mm_logstat_opts o = {.parser = mm_parser_find("auto"), .max_inflight = 64,
				    .max_destinations = 16, .distinct_cap = 1000, .top = 3};
	struct mm_logstat *ls = mm_logstat_new(&o);
	char qid[16], addr[64], reason[64];
	const uint32_t n = 20000;
	for (uint32_t i = 0; i < n; i++) {
		snprintf(qid, sizeof qid, "%010X", i + 1);
		snprintf(addr, sizeof addr, "u%u@d%u.test", i, i % 100);
		snprintf(reason, sizeof reason, "reason %u", i % 7);
		struct tev c = {.type = MM_EV_CLIENT, .qid = qid, .service = "smtpd", .t_ms = 1000 + i};
		struct tev q = {.type = MM_EV_QUEUED, .qid = qid, .addr = addr, .t_ms = 1000 + i,
				.size = 100};
		/* never completed: no "removed" */
		struct tev d = {.type = MM_EV_DELIVERY, .qid = qid, .channel = "smtp", .addr = addr,
				.reason = reason, .status = (i % 10) ? MM_DS_SENT : MM_DS_DEFERRED,
				.t_ms = 2000 + i, .delay = (double)(i % 100) / 10.0};
		struct mm_log_event e1 = tev_make(&c), e2 = tev_make(&q), e3 = tev_make(&d);
		mm_logstat_event(ls, &e1);
		mm_logstat_event(ls, &e2);
		mm_logstat_event(ls, &e3);
	}
	struct mm_logstat_totals t;
	mm_logstat_get_totals(ls, &t);
	assert_int_equal(t.received, n);
	assert_int_equal(t.deferrals, n / 10);
	assert_int_equal(t.deferred, n / 10); /* exact set: 2000 < 4 x cap */
	assert_int_equal(t.delivered, n - n / 10);
	/* past the cap: estimated within 5% */
	if (!(t.senders > n * 95 / 100 && t.senders < n * 105 / 100))
		fail_msg("senders %llu, want about %u", (unsigned long long)t.senders, n);
	uint64_t want_rcpts = n - n / 10;
	assert_true(t.recipients > want_rcpts * 95 / 100 && t.recipients < want_rcpts * 105 / 100);
	/* below the cap: exact; d0, d10, .. d90 only ever deferred */
	assert_int_equal(t.recipient_hosts, 90);
	json_t *doc = mm_logstat_json(ls);
	json_t *exact = json_object_get(doc, "exact");
	assert_false(json_is_true(json_object_get(exact, "senders")));
	assert_true(json_is_true(json_object_get(exact, "recipient_hosts")));
	json_t *lim = json_object_get(doc, "limits");
	assert_int_equal(json_integer_value(json_object_get(lim, "inflight_peak")), 64);
	assert_true(json_integer_value(json_object_get(lim, "inflight_evicted")) > 0);
	assert_true(json_integer_value(json_object_get(lim, "destinations_overflow")) > 0);
	json_t *dests = json_object_get(doc, "destinations");
	assert_int_equal(json_array_size(dests), 16);
	int other = 0;
	for (size_t i = 0; i < json_array_size(dests); i++) {
		json_t *d = json_array_get(dests, i);
		if (!strcmp(json_string_value(json_object_get(d, "domain")), "(other)"))
			other = 1;
		double p50 = json_real_value(json_object_get(d, "delay_p50"));
		double p99 = json_real_value(json_object_get(d, "delay_p99"));
		double mx = json_real_value(json_object_get(d, "delay_max"));
		assert_true(p50 <= p99 && p99 <= mx * 1.0625 + 0.001);
		assert_true(json_array_size(json_object_get(d, "top_deferral_reasons")) <= 5);
	}
	assert_true(other);
	json_decref(doc);
	mm_logstat_free(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equals_pflogsumm),
		cmocka_unit_test(test_bounded), cmocka_unit_test(test_filter_hop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

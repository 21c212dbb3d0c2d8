/* isolate_queue_test: which postqueue -j lines a release moves
 * (cluster/isolate_queue.h), table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/isolate_queue.h"

#define L(q, id, rcpts)                                                                       \
	"{\"queue_name\": \"" q "\", \"queue_id\": \"" id "\", \"arrival_time\": 1, "         \
	"\"message_size\": 2, \"sender\": \"a@b.test\", \"recipients\": [" rcpts "]}"

static void test_match(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		size_t cap;
		int rc;
		const char *id;
	} t[] = {
		{L("deferred", "3C043AA903A", "{\"address\": \"f1@dead.test\"}"), 32, 1, "3C043AA903A"},
		/* long queue IDs, any recipient, the domain without case */
		{L("deferred", "4Ydx2k1Bc3zJ5", "{\"address\": \"u@rec.test\"}, "
						 "{\"address\": \"X@Dead.TEST\", \"delay_reason\": \"r\"}"),
		 32, 1, "4Ydx2k1Bc3zJ5"},
		/* not deferred, or another domain: left alone */
		{L("active", "3C043AA903A", "{\"address\": \"f1@dead.test\"}"), 32, 0, ""},
		{L("hold", "3C043AA903A", "{\"address\": \"f1@dead.test\"}"), 32, 0, ""},
		{L("deferred", "3C043AA903A", "{\"address\": \"f1@sub.dead.test\"}"), 32, 0, ""},
		{L("deferred", "3C043AA903A", "{\"address\": \"f1@dead.test.org\"}"), 32, 0, ""},
		{L("deferred", "3C043AA903A", "{\"address\": \"dead.test\"}"), 32, 0, ""},
		{L("deferred", "3C043AA903A", "{\"address\": \"\\\"a@dead.test\\\"@other.test\"}"), 32,
		 0, ""},
		{L("deferred", "3C043AA903A", ""), 32, 0, ""},
		/* not a message, or an ID postqueue -i must not get */
		{L("deferred", "3C04-3AA903A", "{\"address\": \"f1@dead.test\"}"), 32, -1, ""},
		{L("deferred", "", "{\"address\": \"f1@dead.test\"}"), 32, -1, ""},
		{L("deferred", "-f", "{\"address\": \"f1@dead.test\"}"), 32, -1, ""},
		{L("deferred", "3C043AA903A", "{\"address\": \"f1@dead.test\"}"), 8, -1, ""},
		{"{\"queue_name\": \"deferred\", \"recipients\": []}", 32, -1, ""},
		{"[1, 2]", 32, -1, ""},
		{"not json", 32, -1, ""},
		{"", 32, -1, ""},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char id[MM_ISOLATE_QID] = "";
		int rc = mm_isolate_pq_match(t[i].line, strlen(t[i].line), "dead.test", id, t[i].cap);
		if (rc != t[i].rc || (rc == 1 && strcmp(id, t[i].id) != 0))
			fail_msg("row %zu: rc %d id \"%s\", want %d \"%s\"", i, rc, id, t[i].rc,
				 t[i].id);
	}
}

/* The streamed reader: lines split across feeds, a last line without a
 * newline, a line that is not a message counted, one over the line cap
 * skipped without losing the next. */
static void test_stream(void **state)
{
	(void)state;
	const char *in = L("deferred", "AAA1", "{\"address\": \"a@dead.test\"}") "\n"
		"garbage\n"
		L("active", "AAA2", "{\"address\": \"a@dead.test\"}") "\n"
		L("deferred", "AAA3", "{\"address\": \"b@dead.test\"}");
	for (size_t cut = 0; cut <= strlen(in); cut += 7) {
		struct mm_isolate_pq pq;
		mm_isolate_pq_init(&pq, "dead.test");
		mm_isolate_pq_feed(&pq, in, cut);
		mm_isolate_pq_feed(&pq, in + cut, strlen(in) - cut);
		mm_isolate_pq_end(&pq);
		assert_int_equal(pq.nids, 2);
		assert_string_equal(pq.ids[0], "AAA1");
		assert_string_equal(pq.ids[1], "AAA3");
		assert_int_equal(pq.bad, 1);
		mm_isolate_pq_free(&pq);
	}
	struct mm_isolate_pq pq;
	mm_isolate_pq_init(&pq, "dead.test");
	static char big[MM_ISOLATE_PQ_LINE_MAX + 10];
	memset(big, 'x', sizeof big);
	mm_isolate_pq_feed(&pq, big, sizeof big);
	mm_isolate_pq_feed(&pq, "\n", 1);
	const char *ok = L("deferred", "BBB1", "{\"address\": \"a@dead.test\"}") "\n";
	mm_isolate_pq_feed(&pq, ok, strlen(ok));
	mm_isolate_pq_end(&pq);
	assert_int_equal(pq.long_lines, 1);
	assert_int_equal(pq.nids, 1);
	assert_string_equal(pq.ids[0], "BBB1");
	mm_isolate_pq_free(&pq);
}

/* The helper's answer text, both ways. */
static void test_move_text(void **state)
{
	(void)state;
	char buf[256], err[64];
	size_t m, l, f;
	uint64_t o, b;
	mm_isolate_move_format(buf, sizeof buf, 287, 3, 1, 0, 2, "postqueue -i X: wait status 256");
	assert_int_equal(mm_isolate_move_parse(buf, &m, &l, &f, &o, &b, err, sizeof err), 0);
	assert_true(m == 287 && l == 3 && f == 1 && o == 0 && b == 2);
	assert_string_equal(err, "postqueue -i X: wait status 256");
	mm_isolate_move_format(buf, sizeof buf, 0, 0, 0, 0, 0, "");
	assert_string_equal(buf, "moved 0 left 0 failed 0 over 0 bad 0");
	assert_int_equal(mm_isolate_move_parse(buf, &m, &l, &f, &o, &b, err, sizeof err), 0);
	assert_string_equal(err, "");
	assert_int_equal(mm_isolate_move_parse("helper: no", &m, &l, &f, &o, &b, err, sizeof err), -1);
	assert_int_equal(mm_isolate_move_parse("moved 1 left 0 failed 0 over 0 bad 0x", &m, &l, &f,
					       &o, &b, err, sizeof err),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_move_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* isolate_state_test: the isolated-destination set, its state file and
 * the transport map made from it (cluster/isolate_state.h), table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/isolate_state.h"

static void test_names(void **state)
{
	static const struct {
		const char *s;
		bool dest, nexthop;
	} t[] = {
		{"dead.test", true, true},
		{"mx-1.example_x.org", true, true},
		{"", false, true},
		{".test", false, true},
		{"a..b", false, true},
		{"dead.test.", false, true},
		{"Dead.test", false, true},
		{"[127.0.0.1]:2525", false, true},
		{"a b", false, false},
		{"a\tb", false, false},
		{"a,b", false, false},
		{"a#b", false, false},
		{"x:y\n", false, false},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		if (mm_isolate_dest_ok(t[i].s) != t[i].dest)
			fail_msg("row %zu \"%s\": dest_ok want %d", i, t[i].s, t[i].dest);
		if (mm_isolate_nexthop_ok(t[i].s) != t[i].nexthop)
			fail_msg("row %zu \"%s\": nexthop_ok want %d", i, t[i].s, t[i].nexthop);
	}
	assert_true(mm_isolate_transport_ok("isolated"));
	assert_false(mm_isolate_transport_ok("slow/unix"));
	assert_false(mm_isolate_transport_ok(""));
}

static void test_nexthop_of(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *want;
	} t[] = {
		{"smtp:[127.0.0.1]:2525\n", 0, "[127.0.0.1]:2525"},
		{"smtp:\n", 0, ""},
		{"relay:mx.example.org  \n", 0, "mx.example.org"},
		{":[10.0.0.1]\n", 0, "[10.0.0.1]"},
		{"error:5.1.1 no such user\n", -1, ""},
		{"nocolon\n", -1, ""},
		{"", -1, ""},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char nh[MM_ISOLATE_NEXTHOP] = "";
		int rc = mm_isolate_nexthop_of(t[i].in, nh, sizeof nh);
		if (rc != t[i].rc || (rc == 0 && strcmp(nh, t[i].want) != 0))
			fail_msg("row %zu: rc %d \"%s\", want %d \"%s\"", i, rc, nh, t[i].rc,
				 t[i].want);
	}
}

static void test_round_trip_and_map(void **state)
{
	struct mm_isolate_set set = {0};
	assert_non_null(mm_isolate_add(&set, "dead.test", "refused", false, 1796670000,
				       "[127.0.0.1]:2525"));
	struct mm_isolated *e = mm_isolate_add(&set, "slow.test", "manual", true, 1796670100, "");
	assert_non_null(e);
	e->quiet_since_s = 1796670200;
	assert_null(mm_isolate_add(&set, "dead.test", "refused", false, 1, ""));
	assert_null(mm_isolate_add(&set, "x y", "refused", false, 1, ""));

	struct mm_strbuf sb;
	mm_strbuf_init(&sb, 1 << 16);
	mm_isolate_format(&set, &sb);
	assert_string_equal(sb.p, "mailmon-isolate 1\n"
				  "dead.test\trefused\tauto\t1796670000\t0\t[127.0.0.1]:2525\n"
				  "slow.test\tmanual\tmanual\t1796670100\t1796670200\t\n");
	struct mm_isolate_set back;
	struct mm_err err;
	assert_int_equal(mm_isolate_parse(sb.p, sb.len, &back, &err), 0);
	assert_int_equal(back.n, 2);
	assert_true(back.v[1].manual);
	assert_int_equal(back.v[1].quiet_since_s, 1796670200);

	mm_strbuf_reset(&sb);
	mm_isolate_map(&set, "isolated", &sb);
	assert_non_null(strstr(sb.p, "\ndead.test\tisolated:[127.0.0.1]:2525\n"));
	assert_non_null(strstr(sb.p, "\nslow.test\tisolated:\n"));

	assert_true(mm_isolate_remove(&set, "dead.test"));
	assert_false(mm_isolate_remove(&set, "dead.test"));
	assert_int_equal(set.n, 1);
	assert_string_equal(set.v[0].dest, "slow.test");
	mm_strbuf_free(&sb);
}

static void test_bad_files(void **state)
{
	static const struct {
		const char *in;
		const char *err;
	} t[] = {
		{"", "empty"},
		{"mailmon-isolate 2\n", "line 1: not"},
		{"mailmon-isolate 1", "line 1: no newline"},
		{"mailmon-isolate 1\na.test\trefused\tauto\t1\t0\t\n", NULL},
		{"mailmon-isolate 1\na.test\trefused\tauto\t1\t0\t", "line 2: no newline"},
		{"mailmon-isolate 1\na.test\trefused\tauto\t1\t0\n", "line 2: 5 fields"},
		{"mailmon-isolate 1\na.test\trefused\tauto\t1\t0\t\t\n", "line 2: more than 6"},
		{"mailmon-isolate 1\na.test\trefused\tsome\t1\t0\t\n", "line 2: mode"},
		{"mailmon-isolate 1\na.test\trefused\tauto\t-1\t0\t\n", "line 2: bad time"},
		{"mailmon-isolate 1\nA.test\trefused\tauto\t1\t0\t\n", "line 2: not a destination"},
		{"mailmon-isolate 1\na.test\tre fused\tauto\t1\t0\t\n", "line 2: bad reason"},
		{"mailmon-isolate 1\na.test\tr\tauto\t1\t0\tx y\n", "line 2: bad reason or nexthop"},
		{"mailmon-isolate 1\na.test\tr\tauto\t1\t0\t\na.test\tr\tauto\t1\t0\t\n",
		 "line 3: a.test listed twice"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct mm_isolate_set set;
		struct mm_err err = {{0}};
		int rc = mm_isolate_parse(t[i].in, strlen(t[i].in), &set, &err);
		if (!t[i].err) {
			if (rc != 0)
				fail_msg("row %zu: refused: %s", i, err.msg);
			continue;
		}
		if (rc != -1 || set.n != 0 || !strstr(err.msg, t[i].err))
			fail_msg("row %zu: rc %d n %zu \"%s\", want error \"%s\"", i, rc, set.n,
				 err.msg, t[i].err);
	}
	/* A NUL inside is refused, not cut short. */
	static const char nul[] = "mailmon-isolate 1\na.test\tr\tauto\t1\t0\t\n\0x\n";
	struct mm_isolate_set set;
	struct mm_err err;
	assert_int_equal(mm_isolate_parse(nul, sizeof nul - 1, &set, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_nexthop_of),
		cmocka_unit_test(test_round_trip_and_map),
		cmocka_unit_test(test_bad_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

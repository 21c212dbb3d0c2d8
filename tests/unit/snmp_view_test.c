/*
 * snmp_view_test: the registry -> SNMP objects mapping, with a registry
 * filled here. Expected OIDs are written out from RFC 2788/2789 by hand:
 * the list is sorted, GET finds exact OIDs, GETNEXT walks in order and
 * leaves the view at the end, a channel keeps its mtaGroupIndex when
 * another appears before it in name order, Counter32 wraps, KB units.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "export/snmp_view.h"

static const char *const states[] = {"unknown", "up", "slow", "down",
				     "restarting", "verifying", "failed"};
static const struct mm_metric_def defs[] = {
	{.name = "mailmon_messages_delivered_total", .help = "d", .type = MM_METRIC_COUNTER,
	 .labels = {"channel"}},
	{.name = "mailmon_channel_stored_messages", .help = "s", .type = MM_METRIC_GAUGE,
	 .labels = {"channel"}},
	{.name = "mailmon_delivered_bytes_total", .help = "b", .type = MM_METRIC_COUNTER,
	 .labels = {"channel"}},
	{.name = "mailmon_queue_messages", .help = "q", .type = MM_METRIC_GAUGE,
	 .labels = {"queue"}},
	{.name = "mailmon_service_state", .help = "st", .type = MM_METRIC_STATESET,
	 .labels = {"service", "state"}, .states = states, .nstates = 7},
};

#define MIB2 1, 3, 6, 1, 2, 1

/* The entry at the OID held in array o (its length from its size). */
#define G(o) mm_snmp_view_get(&v, o, sizeof o / sizeof o[0])

static void test_view(void **state)
{
	struct mm_err e;
	struct mm_registry *r = mm_registry_new();
	struct mm_metric *m[5];
	assert_int_equal(mm_registry_add_all(r, defs, 5, m, &e), 0);
	const char *smtp[] = {"smtp"}, *lmtp[] = {"lmtp"}, *amavis[] = {"amavis"};
	const char *def[] = {"deferred"}, *act[] = {"active"}, *imap[] = {"imap"};
	mm_metric_add(m[0], smtp, 4294967296.0 + 7); /* wraps to 7 */
	mm_metric_add(m[0], lmtp, 3);
	mm_metric_set(m[1], smtp, 2);
	mm_metric_add(m[2], smtp, 4096);
	mm_metric_set(m[3], def, 2);
	mm_metric_set(m[3], act, 1);
	mm_metric_set_state(m[4], imap, "slow");

	struct mm_snmp_view v = {0};
	struct mm_snmp_info info = {.mta_name = "postfix", .version = "0.1", .now_unix = 1000,
				    .uptime_cs = 500};
	mm_snmp_view_build(&v, r, &info);
	for (size_t i = 1; i < v.n; i++)
		assert_true(mm_snmp_oid_cmp(v.e[i - 1].oid, v.e[i - 1].len, v.e[i].oid, v.e[i].len) <
			    0);
	/* groups indexed in name order on first sight: lmtp 1, smtp 2 */
	uint32_t name1[] = {MIB2, 28, 2, 1, 25, 1, 1}, name2[] = {MIB2, 28, 2, 1, 25, 1, 2};
	assert_string_equal(G(name1)->str, "lmtp");
	assert_string_equal(G(name2)->str, "smtp");
	uint32_t tx2[] = {MIB2, 28, 2, 1, 5, 1, 2}, vol2[] = {MIB2, 28, 2, 1, 8, 1, 2};
	assert_int_equal(G(tx2)->num, 7);
	assert_int_equal(G(tx2)->type, MM_SNMP_COUNTER32);
	assert_int_equal(G(vol2)->num, 4); /* KB */
	uint32_t proto2[] = {MIB2, 28, 2, 1, 24, 1, 2};
	const struct mm_snmp_entry *p = G(proto2);
	assert_int_equal(p->oidv_len, 9);
	assert_int_equal(p->oidv[8], 25);
	/* mtaStoredMessages: every queue */
	uint32_t stored[] = {MIB2, 28, 1, 1, 2, 1};
	assert_int_equal(G(stored)->num, 3);
	/* applTable: the MTA is row 1, the service row 2, slow = congested(4) */
	uint32_t an1[] = {MIB2, 27, 1, 1, 2, 1}, an2[] = {MIB2, 27, 1, 1, 2, 2};
	uint32_t op2[] = {MIB2, 27, 1, 1, 6, 2};
	assert_string_equal(G(an1)->str, "postfix");
	assert_string_equal(G(an2)->str, "imap");
	assert_int_equal(G(op2)->num, 4);
	/* GETNEXT from a table's prefix gives its first object */
	uint32_t pre[] = {MIB2, 28, 2};
	const struct mm_snmp_entry *n = mm_snmp_view_next(&v, pre, 8);
	uint32_t first[] = {MIB2, 28, 2, 1, 2, 1, 1};
	assert_int_equal(mm_snmp_oid_cmp(n->oid, n->len, first, sizeof first / sizeof first[0]), 0);
	assert_null(mm_snmp_view_next(&v, v.e[v.n - 1].oid, v.e[v.n - 1].len));
	uint32_t none[] = {MIB2, 28, 2, 1, 5, 1, 9};
	assert_null(G(none));
	assert_non_null(G(tx2));

	/* a new channel sorting before the others gets the next index */
	mm_metric_add(m[0], amavis, 1);
	mm_snmp_view_build(&v, r, &info);
	uint32_t name3[] = {MIB2, 28, 2, 1, 25, 1, 3};
	assert_string_equal(G(name2)->str, "smtp");
	assert_string_equal(G(name3)->str, "amavis");
	for (size_t i = 1; i < v.n; i++)
		assert_true(mm_snmp_oid_cmp(v.e[i - 1].oid, v.e[i - 1].len, v.e[i].oid, v.e[i].len) <
			    0);

	uint32_t cols[MM_SNMP_MAX_COLUMNS][MM_SNMP_OID_MAX];
	size_t lens[MM_SNMP_MAX_COLUMNS];
	size_t nc = mm_snmp_view_columns(cols, lens, MM_SNMP_MAX_COLUMNS);
	assert_int_equal(nc, 10 + 8 + 21);
	mm_snmp_view_free(&v);
	mm_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_view)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

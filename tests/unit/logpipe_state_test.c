/* logpipe_state_test: the saved pipeline state makes counters exact after
 * a crash: restore the checkpoint into the counters file the dead daemon
 * left (already past the checkpoint), replay the lines after it, and every
 * counter equals an uninterrupted run. Bad state is refused whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "logs/channels.h"
#include "logs/lifecycle.h"
#include "logs/logpipe_state.h"
#include "logs_testev.h"

static const struct tev script[] = {
	{MM_EV_CONNECT, NULL, "smtpd", NULL, NULL, NULL, 0, 1000, 0, 0},
	{MM_EV_CLIENT, "M1", "smtpd", NULL, NULL, NULL, 0, 1003, 0, 0},
	{MM_EV_QUEUED, "M1", NULL, "s@lab.test", NULL, "qmgr", 0, 1004, 1000, 0},
	{MM_EV_REJECT, NULL, "smtpd", "x@evil", "Relay access denied", NULL, 0, 1005, 0, 0},
	{MM_EV_DELIVERY, "M1", "smtp", "a@sink.test", "250 ok", NULL, MM_DS_SENT, 1010, 0, 0.5},
	{MM_EV_DELIVERY, "M1", "smtp", "b@dead.test", "refused", NULL, MM_DS_DEFERRED, 1011, 0, 1},
	/* checkpoint after here (6 events) */
	{MM_EV_DISCONNECT, NULL, "smtpd", NULL, NULL, NULL, 0, 1012, 0, 0},
	{MM_EV_CLIENT, "M2", "smtpd", NULL, NULL, NULL, 0, 1013, 0, 0},
	{MM_EV_QUEUED, "M2", NULL, "t u@lab.test", NULL, "qmgr", 0, 1014, 2000, 0},
	{MM_EV_DELIVERY, "M2", "lmtp", "c@lab.test", "ok", NULL, MM_DS_SENT, 1021, 0, 2},
	{MM_EV_REMOVED, "M2", NULL, NULL, NULL, "qmgr", 0, 1022, 0, 0},
	{MM_EV_DELIVERY, "M1", "smtp", "b@dead.test", "ok", NULL, MM_DS_SENT, 1030, 0, 20},
	{MM_EV_REMOVED, "M1", NULL, NULL, NULL, "qmgr", 0, 1031, 0, 0},
};
#define NSCRIPT (sizeof script / sizeof script[0])

static void run(struct mm_channels *ch, struct mm_lifecycle *lc, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		struct mm_log_event ev = tev_make(&script[i]);
		uint16_t id = MM_LC_NO_CHAN;
		if (ev.type != MM_EV_QUEUED && ev.type != MM_EV_REMOVED)
			id = mm_channels_id_for(ch, &ev);
		bool in = ev.type == MM_EV_CLIENT || ev.type == MM_EV_PICKUP;
		struct mm_lc_change c;
		mm_lc_event(lc, &ev, in ? MM_LC_NO_CHAN : id, in ? id : MM_LC_NO_CHAN, &c);
		mm_channels_apply(ch, &ev, id, &c);
	}
}

static void snapshot_all(struct mm_cfile *cf, struct mm_cg_snapshot *out, uint32_t *n)
{
	*n = mm_cfile_ngroups(cf);
	for (uint32_t i = 0; i < *n; i++)
		assert_int_equal(mm_cg_read(cf, i, &out[i]), 0);
}

static void test_crash_replay_is_exact(void **state)
{
	struct mm_lc_limits lim = {.max_inflight = 64};
	/* the uninterrupted run */
	struct mm_cfile *ref = mm_cfile_anon(16);
	struct mm_channels *rch = mm_channels_new(ref);
	struct mm_lifecycle *rlc = mm_lc_new(&lim);
	run(rch, rlc, 0, NSCRIPT);

	/* the crashed run: checkpoint after 6, counted on to 9, died */
	struct mm_cfile *cf = mm_cfile_anon(16);
	struct mm_channels *ch = mm_channels_new(cf);
	struct mm_lifecycle *lc = mm_lc_new(&lim);
	run(ch, lc, 0, 6);
	char *saved = mm_logpipe_state_encode(cf, ch, lc);
	run(ch, lc, 6, 9);
	mm_channels_free(ch);
	mm_lc_free(lc);

	/* restart: fresh channels and lifecycle, the same counters file */
	ch = mm_channels_new(cf);
	lc = mm_lc_new(&lim);
	struct mm_err err;
	assert_int_equal(mm_logpipe_state_restore(saved, cf, ch, lc, &err), 0);
	const struct mm_lc_msg *m = mm_lc_find(lc, "M1", 2);
	assert_non_null(m);
	assert_int_equal(m->size, 1000);
	assert_string_equal(m->sender, "s@lab.test");
	run(ch, lc, 6, NSCRIPT); /* the re-delivered lines and the rest */

	struct mm_cg_snapshot a[16], b[16];
	uint32_t na, nb;
	snapshot_all(ref, a, &na);
	snapshot_all(cf, b, &nb);
	assert_int_equal(na, nb);
	for (uint32_t i = 0; i < na; i++) {
		assert_string_equal(a[i].name, b[i].name);
		for (int f = 0; f < MM_CG__COUNT; f++)
			if (a[i].v[f] != b[i].v[f] || a[i].min[f] != b[i].min[f])
				fail_msg("%s %s: %lld/%lld, want %lld/%lld", a[i].name,
					 mm_cg_field_names[f], (long long)b[i].v[f],
					 (long long)b[i].min[f], (long long)a[i].v[f],
					 (long long)a[i].min[f]);
		assert_string_equal(a[i].last_reject, b[i].last_reject);
	}
	free(saved);
	mm_channels_free(ch);
	mm_lc_free(lc);
	mm_cfile_close(cf);
	mm_channels_free(rch);
	mm_lc_free(rlc);
	mm_cfile_close(ref);
}

/* Rewrites every group record of an encoded state to the version-1 width
 * (24 counters), as mailmond wrote it before the queue gauges existed. */
static char *to_v1_width(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
		if (strncmp(line, "g ", 2) == 0) {
			/* g NAME v0..v27 m0..m27 REJ CONNFAIL: keep v0..v23, m0..m23 */
			char buf[4096];
			memcpy(buf, line, len);
			buf[len] = 0;
			char *tok[80];
			int n = 0;
			for (char *t = strtok(buf, " \n"); t && n < 80; t = strtok(NULL, " \n"))
				tok[n++] = t;
			assert_int_equal(n, 2 + 2 * MM_CG__COUNT + 2);
			o += sprintf(o, "g %s", tok[1]);
			for (int i = 0; i < 24; i++)
				o += sprintf(o, " %s", tok[2 + i]);
			for (int i = 0; i < 24; i++)
				o += sprintf(o, " %s", tok[2 + MM_CG__COUNT + i]);
			o += sprintf(o, " %s %s\n", tok[n - 2], tok[n - 1]);
		} else {
			memcpy(o, line, len);
			o += len;
		}
		line += len;
	}
	*o = 0;
	return out;
}

/* A state saved before the queue gauges were added (24 counters a group)
 * still restores every counter it has; the gauges start at 0. */
static void test_v1_width_state_restores(void **state)
{
	struct mm_lc_limits lim = {.max_inflight = 64};
	struct mm_cfile *cf = mm_cfile_anon(16);
	struct mm_channels *ch = mm_channels_new(cf);
	struct mm_lifecycle *lc = mm_lc_new(&lim);
	run(ch, lc, 0, 6);
	struct mm_cg_snapshot want[16];
	uint32_t nw;
	snapshot_all(cf, want, &nw);
	char *saved = mm_logpipe_state_encode(cf, ch, lc);
	char *old = to_v1_width(saved);
	run(ch, lc, 6, NSCRIPT); /* counted on past the checkpoint, then died */
	mm_channels_free(ch);
	mm_lc_free(lc);

	ch = mm_channels_new(cf);
	lc = mm_lc_new(&lim);
	struct mm_err err;
	assert_int_equal(mm_logpipe_state_restore(old, cf, ch, lc, &err), 0);
	struct mm_cg_snapshot got[16];
	uint32_t ng;
	snapshot_all(cf, got, &ng);
	assert_true(ng >= nw);
	for (uint32_t i = 0; i < nw; i++) {
		assert_string_equal(got[i].name, want[i].name);
		for (int f = 0; f < 24; f++)
			if (got[i].v[f] != want[i].v[f])
				fail_msg("%s %s: %lld, want %lld", want[i].name, mm_cg_field_names[f],
					 (long long)got[i].v[f], (long long)want[i].v[f]);
		assert_int_equal(got[i].v[MM_CG_QSTORED_MSGS], 0);
	}
	free(old);
	free(saved);
	mm_channels_free(ch);
	mm_lc_free(lc);
	mm_cfile_close(cf);
}

/* A file cleared (or recreated) after the checkpoint keeps its values:
 * they are newer than the snapshot. The messages are restored anyway. */
static void test_cleared_file_not_overwritten(void **state)
{
	struct mm_lc_limits lim = {.max_inflight = 64};
	struct mm_cfile *cf = mm_cfile_anon(16);
	struct mm_channels *ch = mm_channels_new(cf);
	struct mm_lifecycle *lc = mm_lc_new(&lim);
	run(ch, lc, 0, 6);
	char *saved = mm_logpipe_state_encode(cf, ch, lc);
	struct mm_err err;
	assert_int_equal(mm_cfile_clear(cf, 0, &err), 0);
	struct mm_lifecycle *lc2 = mm_lc_new(&lim);
	assert_int_equal(mm_logpipe_state_restore(saved, cf, ch, lc2, &err), 0);
	struct mm_cg_snapshot s;
	assert_int_equal(mm_cg_read(cf, 0, &s), 0);
	assert_int_equal(s.v[MM_CG_SUBMITTED], 0);
	assert_non_null(mm_lc_find(lc2, "M1", 2));
	free(saved);
	mm_lc_free(lc2);
	mm_lc_free(lc);
	mm_channels_free(ch);
	mm_cfile_close(cf);
}

static void test_bad_state_refused(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"", "truncated"},
		{"mailmon-logpipe 2\nend\n", "not version 1"},
		{"something else\n", "not version 1"},
		{"mailmon-logpipe 1\nfile 1 1 0\nm Q1 x\nend\n", "line 3"},
		{"mailmon-logpipe 1\nfile 1 1 0\nbogus\nend\n", "line 3"},
		{"mailmon-logpipe 1\nfile 1 1 0\nc 0 smtp\n", "truncated"},
		{"mailmon-logpipe 1\nfile 1 1 0\nm Q1 0 -1 1 1 0 1 0 0 0 9 -\nend\n", "line 3"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mm_lc_limits lim = {.max_inflight = 64};
		struct mm_cfile *cf = mm_cfile_anon(16);
		struct mm_channels *ch = mm_channels_new(cf);
		struct mm_lifecycle *lc = mm_lc_new(&lim);
		struct mm_err err;
		assert_int_equal(mm_logpipe_state_restore(cases[i].text, cf, ch, lc, &err), -1);
		if (!strstr(err.msg, cases[i].want))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].want);
		struct mm_lc_stats st;
		mm_lc_get_stats(lc, &st);
		assert_int_equal(st.inflight, 0); /* nothing half-applied */
		mm_lc_free(lc);
		mm_channels_free(ch);
		mm_cfile_close(cf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_replay_is_exact),
		cmocka_unit_test(test_v1_width_state_restores),
		cmocka_unit_test(test_cleared_file_not_overwritten),
		cmocka_unit_test(test_bad_state_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

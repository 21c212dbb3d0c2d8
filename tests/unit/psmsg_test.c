/* psmsg_test: the privsep messages round-trip, and every kind of bad
 * header or field is refused (table driven). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "privsep/psmsg.h"

static void roundtrip(const struct mm_ps_msg *m)
{
	uint8_t buf[512];
	int n = mm_ps_encode(m, buf, sizeof buf);
	assert_true(n > MM_PS_HDR);
	struct mm_ps_msg got;
	size_t used = 0;
	struct mm_err err;
	/* a partial message is "need more", never an error */
	for (int k = 0; k < n; k++)
		assert_int_equal(mm_ps_decode(buf, (size_t)k, &got, &used, &err), 0);
	assert_int_equal(mm_ps_decode(buf, (size_t)n, &got, &used, &err), 1);
	assert_int_equal(used, (size_t)n);
	uint8_t again[512];
	assert_int_equal(mm_ps_encode(&got, again, sizeof again), n);
	assert_memory_equal(buf, again, (size_t)n);
}

static void test_roundtrip(void **state)
{
	struct mm_ps_msg m = {.type = MM_PS_RUN};
	m.u.run.id = 7;
	m.u.run.index = 0;
	strcpy(m.u.run.name, "service.imap");
	roundtrip(&m);
	m = (struct mm_ps_msg){.type = MM_PS_RUN_DONE};
	m.u.run_done.status = -2;
	m.u.run_done.ms = 1234;
	strcpy(m.u.run_done.text, "postfix/postfix-script: starting the Postfix mail system");
	roundtrip(&m);
	m = (struct mm_ps_msg){.type = MM_PS_QUEUE_OPEN};
	m.u.queue_open.instance = 3;
	strcpy(m.u.queue_open.queue, "deferred");
	strcpy(m.u.queue_open.file, "A/1B2C3D4E5F");
	roundtrip(&m);
	/* an empty file names the queue directory itself */
	m.u.queue_open.file[0] = '\0';
	roundtrip(&m);
	m = (struct mm_ps_msg){.type = MM_PS_QUEUE_DONE};
	m.u.done.err = 2;
	roundtrip(&m);
	m = (struct mm_ps_msg){.type = MM_PS_DISK_RUN};
	m.u.disk_run.id = 9;
	m.u.disk_run.lock = 1;
	strcpy(m.u.disk_run.path, "/var/spool/postfix");
	roundtrip(&m);
	strcpy(m.u.disk_run.path, "/");
	roundtrip(&m);
	m = (struct mm_ps_msg){.type = MM_PS_QUEUE_LIST};
	strcpy(m.u.queue_open.queue, "defer");
	strcpy(m.u.queue_open.file, "F");
	roundtrip(&m);
	m = (struct mm_ps_msg){.type = MM_PS_QUEUE_ENTRY};
	strcpy(m.u.entry.name, "4F2A81C0D3");
	m.u.entry.mode = 0100700;
	m.u.entry.ino = 0x0123456789abcdefULL;
	m.u.entry.size = 1u << 31;
	m.u.entry.mtime_ns = -1;
	m.u.entry.ctime_ns = 1765000000123456789LL;
	roundtrip(&m);
}

static const struct {
	const char *why;
	size_t off;   /* byte to change in a valid MM_PS_QUEUE_OPEN (0: header) */
	const char *bytes;
	size_t n;
} bad[] = {
#define Q (MM_PS_HDR + 4) /* the queue name, after the instance */
	{"unknown type", 0, "\x63\x00", 2},
	{"type zero", 0, "\x00\x00", 2},
	{"unused type 3 (was bind)", 0, "\x03\x00", 2},
	{"unused type 4 (was bind done)", 0, "\x04\x00", 2},
	{"reserved bits", 2, "\x01", 1},
	{"short length", 4, "\x7f\x00\x00\x00", 4},
	{"long length", 4, "\x81\x00\x00\x00", 4},
	{"huge length", 4, "\xff\xff\xff\xff", 4},
	{"queue name with a slash", Q + 3, "/", 1},
	{"queue name with a control byte", Q + 1, "\n", 1},
	{"queue name not terminated", Q,
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", MM_PS_NAME},
	{"garbage after the NUL", Q + 20, "x", 1},
	{"empty queue", Q, "\0", 1},
	{"absolute file", Q + MM_PS_NAME, "/", 1},
	{"file going up", Q + MM_PS_NAME, "..", 2},
	{"file going up below", Q + MM_PS_NAME + 1, "/../", 4},
	{"file with 8-bit byte", Q + MM_PS_NAME + 2, "\xc3", 1},
	{"file with a trailing slash", Q + MM_PS_NAME + 1, "/\0", 2},
};

/* MM_PS_DISK_RUN paths the decoder refuses (the helper then exits). */
static const char *const bad_paths[] = {
	"", "var/spool", "/var/../etc", "/var//spool", "/var/spool/", "/var/./spool", "/..",
	"/var/sp\tool", "/caf\xc3\xa9",
};

static void test_bad(void **state)
{
	struct mm_ps_msg m = {.type = MM_PS_QUEUE_OPEN};
	strcpy(m.u.queue_open.queue, "deferred");
	strcpy(m.u.queue_open.file, "A/1B2C3D4E5F");
	uint8_t good[256];
	int n = mm_ps_encode(&m, good, sizeof good);
	assert_true(n > 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t buf[256];
		memcpy(buf, good, (size_t)n);
		memcpy(buf + bad[i].off, bad[i].bytes, bad[i].n);
		struct mm_ps_msg got;
		size_t used = 0;
		struct mm_err err;
		int rc = mm_ps_decode(buf, (size_t)n, &got, &used, &err);
		if (rc != -1)
			fail_msg("%s: decoded with rc %d", bad[i].why, rc);
	}
	/* run: an index past the helper's three commands */
	m = (struct mm_ps_msg){.type = MM_PS_RUN};
	m.u.run.index = 3;
	strcpy(m.u.run.name, "service.imap");
	n = mm_ps_encode(&m, good, sizeof good);
	struct mm_ps_msg got;
	size_t used;
	struct mm_err err;
	assert_int_equal(mm_ps_decode(good, (size_t)n, &got, &used, &err), -1);
	/* a listed entry is one plain name: no separator, no dot */
	uint8_t eb[256];
	static const char *const bad_names[] = {"", "A/B", "..", ".x", "a-b", "a_b"};
	for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
		m = (struct mm_ps_msg){.type = MM_PS_QUEUE_ENTRY};
		strcpy(m.u.entry.name, bad_names[i]);
		n = mm_ps_encode(&m, eb, sizeof eb);
		if (mm_ps_decode(eb, (size_t)n, &got, &used, &err) != -1)
			fail_msg("entry name \"%s\" decoded", bad_names[i]);
	}
	/* disk run: lock must be 0 or 1, the path absolute and plain */
	uint8_t big[512];
	m = (struct mm_ps_msg){.type = MM_PS_DISK_RUN};
	m.u.disk_run.lock = 2;
	strcpy(m.u.disk_run.path, "/var/spool/postfix");
	n = mm_ps_encode(&m, big, sizeof big);
	assert_int_equal(mm_ps_decode(big, (size_t)n, &got, &used, &err), -1);
	m.u.disk_run.lock = 0;
	for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
		strcpy(m.u.disk_run.path, bad_paths[i]);
		n = mm_ps_encode(&m, big, sizeof big);
		if (mm_ps_decode(big, (size_t)n, &got, &used, &err) != -1)
			fail_msg("disk path \"%s\" decoded", bad_paths[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

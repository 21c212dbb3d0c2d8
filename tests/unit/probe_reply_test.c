/* probe_reply_test: the end-of-reply parsers of the line protocols, table
 * driven: a reply as lines in, the verdict after each line and the final
 * code/status out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probes/reply.h"

typedef int feed_fn(struct mm_reply_state *st, const char *line, size_t len);

struct reply_case {
	const char *name;
	feed_fn *feed;
	const char *tag;
	int multiline;
	const char *lines[6]; /* NULL-terminated */
	int want[6];	      /* verdict after each line */
	int want_code;
	enum mm_reply_status want_status;
};

static const struct reply_case cases[] = {
	{"smtp single", mm_smtp_reply_feed, NULL, 0, {"220 mail ESMTP", NULL}, {MM_REPLY_DONE}, 220, MM_ST_NONE},
	{"smtp bare code", mm_smtp_reply_feed, NULL, 0, {"250", NULL}, {MM_REPLY_DONE}, 250, MM_ST_NONE},
	{"smtp multi", mm_smtp_reply_feed, NULL, 0, {"250-mail", "250-PIPELINING", "250 STARTTLS", NULL},
	 {MM_REPLY_MORE, MM_REPLY_MORE, MM_REPLY_DONE}, 250, MM_ST_NONE},
	{"smtp code changes", mm_smtp_reply_feed, NULL, 0, {"250-a", "251 b", NULL}, {MM_REPLY_MORE, MM_REPLY_BAD}, 250, MM_ST_NONE},
	{"smtp garbage", mm_smtp_reply_feed, NULL, 0, {"hello", NULL}, {MM_REPLY_BAD}, 0, MM_ST_NONE},
	{"smtp code out of range", mm_smtp_reply_feed, NULL, 0, {"199 x", NULL}, {MM_REPLY_BAD}, 0, MM_ST_NONE},
	{"smtp bad separator", mm_smtp_reply_feed, NULL, 0, {"250x", NULL}, {MM_REPLY_BAD}, 250, MM_ST_NONE},
	{"smtp short", mm_smtp_reply_feed, NULL, 0, {"25", NULL}, {MM_REPLY_BAD}, 0, MM_ST_NONE},
	{"imap greeting", mm_imap_reply_feed, NULL, 0, {"* OK Dovecot ready.", NULL}, {MM_REPLY_DONE}, 0, MM_ST_OK},
	{"imap preauth", mm_imap_reply_feed, NULL, 0, {"* PREAUTH hi", NULL}, {MM_REPLY_DONE}, 0, MM_ST_PREAUTH},
	{"imap bye greeting", mm_imap_reply_feed, NULL, 0, {"* BYE go away", NULL}, {MM_REPLY_DONE}, 0, MM_ST_BYE},
	{"imap greeting garbage", mm_imap_reply_feed, NULL, 0, {"HTTP/1.1 400", NULL}, {MM_REPLY_BAD}, 0, MM_ST_NONE},
	{"imap tagged ok", mm_imap_reply_feed, "m1", 0, {"* CAPABILITY IMAP4rev1 STARTTLS", "m1 OK done", NULL},
	 {MM_REPLY_MORE, MM_REPLY_DONE}, 0, MM_ST_OK},
	{"imap tagged no", mm_imap_reply_feed, "m2", 0, {"m2 NO [AUTHENTICATIONFAILED] bad", NULL}, {MM_REPLY_DONE}, 0, MM_ST_NO},
	{"imap wrong tag", mm_imap_reply_feed, "m2", 0, {"m9 OK", NULL}, {MM_REPLY_BAD}, 0, MM_ST_NONE},
	{"imap tag prefix", mm_imap_reply_feed, "m1", 0, {"m10 OK", NULL}, {MM_REPLY_BAD}, 0, MM_ST_NONE},
	{"imap tagged odd status", mm_imap_reply_feed, "m1", 0, {"m1 MAYBE", NULL}, {MM_REPLY_BAD}, 0, MM_ST_NONE},
	{"imap continuation", mm_imap_reply_feed, "m1", 0, {"+ go on", "m1 OK", NULL}, {MM_REPLY_MORE, MM_REPLY_DONE}, 0, MM_ST_OK},
	/* Literals: "{5}" announces "ab\r\n" plus "x" of the next line... */
	{"imap literal hides tag", mm_imap_reply_feed, "m1", 0,
	 {"* 1 FETCH (BODY[] {12}", "m1 OK fake", ")", "m1 OK done", NULL},
	 {MM_REPLY_MORE, MM_REPLY_MORE, MM_REPLY_MORE, MM_REPLY_DONE}, 0, MM_ST_OK},
	{"imap literal ends mid line", mm_imap_reply_feed, "m1", 0,
	 {"* 1 FETCH (BODY[] {8}", "abcd", "xy UID 3)", "m1 OK", NULL},
	 {MM_REPLY_MORE, MM_REPLY_MORE, MM_REPLY_MORE, MM_REPLY_DONE}, 0, MM_ST_OK},
	{"imap two literals", mm_imap_reply_feed, "m1", 0,
	 {"* 1 FETCH (A {3}", "a", " B {0}", ")", "m1 OK", NULL},
	 {MM_REPLY_MORE, MM_REPLY_MORE, MM_REPLY_MORE, MM_REPLY_MORE, MM_REPLY_DONE}, 0, MM_ST_OK},
	{"imap literal too big", mm_imap_reply_feed, "m1", 0, {"* 1 FETCH (A {99999999999}", NULL}, {MM_REPLY_BAD}, 0, MM_ST_NONE},
	{"imap literal in line end", mm_imap_reply_feed, "m1", 0, {"* 1 FETCH (A {4}", "abc", NULL},
	 {MM_REPLY_MORE, MM_REPLY_BAD}, 0, MM_ST_NONE},
	{"pop3 ok", mm_pop3_reply_feed, NULL, 0, {"+OK ready", NULL}, {MM_REPLY_DONE}, 0, MM_ST_OK},
	{"pop3 err", mm_pop3_reply_feed, NULL, 0, {"-ERR no", NULL}, {MM_REPLY_DONE}, 0, MM_ST_NO},
	{"pop3 bare ok", mm_pop3_reply_feed, NULL, 0, {"+OK", NULL}, {MM_REPLY_DONE}, 0, MM_ST_OK},
	{"pop3 garbage", mm_pop3_reply_feed, NULL, 0, {"+OKAY", NULL}, {MM_REPLY_BAD}, 0, MM_ST_NONE},
	{"pop3 capa list", mm_pop3_reply_feed, NULL, 1, {"+OK caps", "STLS", "..stuffed", ".", NULL},
	 {MM_REPLY_MORE, MM_REPLY_MORE, MM_REPLY_MORE, MM_REPLY_DONE}, 0, MM_ST_OK},
	{"pop3 capa refused", mm_pop3_reply_feed, NULL, 1, {"-ERR no capa", NULL}, {MM_REPLY_DONE}, 0, MM_ST_NO},
	{"http head", mm_http_reply_feed, NULL, 0, {"HTTP/1.1 200 OK", "Content-Type: text/html", "", NULL},
	 {MM_REPLY_MORE, MM_REPLY_MORE, MM_REPLY_DONE}, 200, MM_ST_NONE},
	{"http no reason", mm_http_reply_feed, NULL, 0, {"HTTP/1.0 404", "", NULL}, {MM_REPLY_MORE, MM_REPLY_DONE}, 404, MM_ST_NONE},
	{"http garbage", mm_http_reply_feed, NULL, 0, {"220 smtp here", NULL}, {MM_REPLY_BAD}, 0, MM_ST_NONE},
	{"http bad header", mm_http_reply_feed, NULL, 0, {"HTTP/1.1 200 OK", "nocolon", NULL}, {MM_REPLY_MORE, MM_REPLY_BAD}, 200, MM_ST_NONE},
};

static void test_replies(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct reply_case *c = &cases[i];
		struct mm_reply_state st = {0};
		st.tag = c->tag;
		st.multiline = c->multiline;
		mm_reply_reset(&st);
		int got = 0;
		for (size_t l = 0; c->lines[l]; l++) {
			got = c->feed(&st, c->lines[l], strlen(c->lines[l]));
			if (got != c->want[l])
				fail_msg("%s: line %zu \"%s\": got %d, want %d", c->name, l, c->lines[l], got,
					 c->want[l]);
			if (got != MM_REPLY_MORE)
				break;
		}
		if (got == MM_REPLY_DONE && st.code != c->want_code)
			fail_msg("%s: code %d, want %d", c->name, st.code, c->want_code);
		if (got == MM_REPLY_DONE && st.status != c->want_status)
			fail_msg("%s: status %d, want %d", c->name, st.status, c->want_status);
	}
}

static void test_has_word(void **state)
{
	static const struct {
		const char *text, *word;
		bool want;
	} t[] = {
		{"250-mail\n250-STARTTLS\n250 8BITMIME", "STARTTLS", true},
		{"250-XSTARTTLSX", "STARTTLS", false},
		{"* CAPABILITY IMAP4rev1 LOGINDISABLED", "LOGINDISABLED", true},
		{"250 AUTH PLAIN LOGIN", "plain", true},
		{"", "STLS", false},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		assert_int_equal(mm_reply_has_word(t[i].text, strlen(t[i].text), t[i].word), t[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_has_word),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

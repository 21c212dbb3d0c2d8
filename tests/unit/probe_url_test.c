/* probe_url_test: probe URLs and credential files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "probes/probe.h"

static const struct {
	const char *url;
	int ok;
	enum mm_probe_proto proto;
	const char *host;
	int port;
	bool tls, starttls;
	const char *user, *pass, *path;
} urls[] = {
	{"smtp://127.0.0.1", 1, MM_PROTO_SMTP, "127.0.0.1", 25, false, false, "", "", ""},
	{"smtps://127.0.0.1", 1, MM_PROTO_SMTP, "127.0.0.1", 465, true, false, "", "", ""},
	{"submission://127.0.0.1", 1, MM_PROTO_SMTP, "127.0.0.1", 587, false, true, "", "", ""},
	{"lmtp://127.0.0.1:2424", 1, MM_PROTO_LMTP, "127.0.0.1", 2424, false, false, "", "", ""},
	{"imap://alice:s%40cret@127.0.0.1:143", 1, MM_PROTO_IMAP, "127.0.0.1", 143, false, false, "alice", "s@cret", ""},
	{"imaps://u:p@w@[::1]", 1, MM_PROTO_IMAP, "::1", 993, true, false, "u", "p@w", ""},
	{"pop3s://localhost", 1, MM_PROTO_POP3, "127.0.0.1", 995, true, false, "", "", ""},
	{"http://127.0.0.1:8080/health?x=1", 1, MM_PROTO_HTTP, "127.0.0.1", 8080, false, false, "", "", "/health?x=1"},
	{"https://127.0.0.1", 1, MM_PROTO_HTTP, "127.0.0.1", 443, true, false, "", "", "/"},
	{"ldap://127.0.0.1:389/dc=lab,dc=test??base", 1, MM_PROTO_LDAP, "127.0.0.1", 389, false, false, "", "", "/dc=lab,dc=test??base"},
	{"tcp://127.0.0.1:25", 1, MM_PROTO_TCP, "127.0.0.1", 25, false, false, "", "", ""},
	{"lmtp:///run/dovecot/lmtp", 1, MM_PROTO_LMTP, "localhost", 24, false, false, "", "", ""},
	{"ldap:///run/slapd/ldapi", 0, 0, NULL, 0, false, false, NULL, NULL, NULL},
	{"tcp://127.0.0.1", 0, 0, NULL, 0, false, false, NULL, NULL, NULL},
	{"gopher://127.0.0.1", 0, 0, NULL, 0, false, false, NULL, NULL, NULL},
	{"127.0.0.1:25", 0, 0, NULL, 0, false, false, NULL, NULL, NULL},
	{"imap://a:%0d%0aX@127.0.0.1", 0, 0, NULL, 0, false, false, NULL, NULL, NULL},
	{"imap://a:%4@127.0.0.1", 0, 0, NULL, 0, false, false, NULL, NULL, NULL},
	{"smtp://127.0.0.1:99999", 0, 0, NULL, 0, false, false, NULL, NULL, NULL},
	/* a path that cannot be decoded, or would break the request line */
	{"http://127.0.0.1/%zz", 0, 0, NULL, 0, false, false, NULL, NULL, NULL},
	{"http://127.0.0.1/a%0d%0aHost:x", 0, 0, NULL, 0, false, false, NULL, NULL, NULL},
	{"http://127.0.0.1/a b", 0, 0, NULL, 0, false, false, NULL, NULL, NULL},
	{"http://127.0.0.1/\xff", 0, 0, NULL, 0, false, false, NULL, NULL, NULL},
	{"http://127.0.0.1/a%20b%2F", 1, MM_PROTO_HTTP, "127.0.0.1", 80, false, false, "", "", "/a%20b%2F"},
};

static void test_urls(void **state)
{
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		struct mm_probe_params p;
		struct mm_err err;
		mm_probe_params_init(&p);
		int rc = mm_probe_parse_url(urls[i].url, &p, &err);
		if ((rc == 0) != urls[i].ok)
			fail_msg("%s: rc %d (%s)", urls[i].url, rc, rc ? err.msg : "");
		if (rc < 0)
			continue;
		assert_int_equal(p.proto, urls[i].proto);
		assert_string_equal(p.host, urls[i].host);
		assert_int_equal(p.port, urls[i].port);
		assert_int_equal(p.tls, urls[i].tls);
		assert_int_equal(p.starttls, urls[i].starttls);
		assert_string_equal(p.user, urls[i].user);
		assert_string_equal(p.pass, urls[i].pass);
		assert_string_equal(p.path, urls[i].path);
	}
}

static void test_credentials(void **state)
{
	char path[] = "/tmp/mm_cred_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "# probe login\nuser = alice\npassword =  a=b c \n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct mm_probe_params p;
	struct mm_err err;
	mm_probe_params_init(&p);
	assert_int_equal(mm_probe_read_credentials(path, &p, &err), 0);
	assert_string_equal(p.user, "alice");
	assert_string_equal(p.pass, "a=b c");
	chmod(path, 0640);
	assert_int_equal(mm_probe_read_credentials(path, &p, &err), -1);
	assert_non_null(strstr(err.msg, "chmod 600"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_credentials),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

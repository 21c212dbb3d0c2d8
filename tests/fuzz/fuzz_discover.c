/* fuzz_discover: the parsers behind `mailmon init` on arbitrary bytes
 * (not NUL-terminated). The first byte picks the parser: postconf,
 * postmulti -l, master.cf (and the listener classification of every
 * entry), doveconf -n, rsyslog, syslog-ng, /etc/default/slapd.
 * Invariants: no crash, no leak; an error always has a message; every
 * listener found has a port in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discover/doveconf.h"
#include "discover/mastercf.h"
#include "discover/postconf_out.h"
#include "discover/slapd_urls.h"
#include "discover/syslog_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	struct mm_err err;
	err.msg[0] = '\0';
	int rc = 0;
	switch (data[0] % 7) {
	case 0: {
		struct mm_kvlist kv = {0};
		rc = mm_postconf_parse(text, len, &kv, &err);
		mm_kvlist_free(&kv);
		break;
	}
	case 1: {
		struct mm_pf_instance in[MM_PF_MAX_INSTANCES];
		size_t n;
		rc = mm_postmulti_parse(text, len, in, &n, &err);
		if (n > MM_PF_MAX_INSTANCES)
			abort();
		break;
	}
	case 2: {
		struct mm_master_entry *e;
		size_t n;
		rc = mm_mastercf_parse(text, len, &e, &n, &err);
		for (size_t i = 0; i < n; i++) {
			struct mm_master_listener l;
			mm_mastercf_listener(&e[i], &l);
			if (l.port < 0 || l.port > 65535)
				abort();
		}
		mm_mastercf_free(e, n);
		break;
	}
	case 3: {
		struct mm_kvlist kv = {0};
		rc = mm_doveconf_parse(text, len, &kv, &err);
		mm_kvlist_free(&kv);
		break;
	}
	case 4:
	case 5: {
		struct mm_kvlist mail = {0}, all = {0};
		if (data[0] % 7 == 4)
			mm_rsyslog_mail_files(text, len, &mail, &all);
		else
			mm_syslogng_mail_files(text, len, &mail, &all);
		for (size_t i = 0; i < mail.n; i++)
			if (mail.v[i].name[0] != '/')
				abort();
		mm_kvlist_free(&mail);
		mm_kvlist_free(&all);
		break;
	}
	case 6: {
		struct mm_slapd_listener ls[8];
		size_t n;
		rc = mm_slapd_services(text, len, ls, 8, &n, &err);
		break;
	}
	}
	if (rc < 0 && err.msg[0] == '\0')
		abort();
	return 0;
}

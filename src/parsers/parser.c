/* parser: see parser.h. */
#include "parsers/parser.h"

#include <string.h>

#include "parsers/dovecot.h"
#include "parsers/event_fmt.h"
#include "parsers/exim.h"
#include "parsers/msgsrv.h"
#include "parsers/postfix.h"
#include "parsers/scan.h"
#include "parsers/syslog_header.h"

const struct mm_parser mm_parsers[] = {
	{.name = "auto", .parse = mm_auto_parse},
	{.name = "postfix", .parse = mm_postfix_parse},
	{.name = "msgsrv", .parse = mm_msgsrv_parse},
	{.name = "dovecot", .parse = mm_dovecot_parse},
	{.name = "exim", .parse = mm_exim_parse},
	{.name = NULL, .parse = NULL},
};

const struct mm_parser *mm_parser_find(const char *name)
{
	for (const struct mm_parser *p = mm_parsers; p->name != NULL; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static bool is_postfix_program(const struct mm_syslog_hdr *h)
{
	if (h->program.len >= 7 && memcmp(h->program.p, "postfix", 7) == 0)
		return true;
	/* a multi-instance name of any spelling: "mta-out/smtp" */
	return h->instance.p != NULL && mm_postfix_is_service(h->service);
}

void mm_auto_parse(const char *line, size_t len, int year_hint, struct mm_log_event *ev)
{
	len = mm_scan_trim_eol(line, len);
	if (len > 0 && is_digit(line[0]) && mm_msgsrv_looks_like(line, len)) {
		mm_msgsrv_parse(line, len, year_hint, ev);
		return;
	}
	/* "mail.log:06-Oct-2003 ..." (grep output); a syslog month ("Nov ")
	 * has its space at [3] and is not looked at further */
	if (len > 3 && !is_digit(line[0]) && line[0] != '<' && line[3] != ' ' &&
	    mm_msgsrv_looks_like(line, len)) {
		mm_msgsrv_parse(line, len, year_hint, ev);
		return;
	}
	/* "2026-12-07 17:17:19 ..." is Exim's own stamp (Dovecot's
	 * log_timestamp can look alike: the text after it decides) */
	if (len > 20 && is_digit(line[0]) && line[4] == '-' && line[10] == ' ' &&
	    mm_exim_looks_like(line, len)) {
		mm_exim_parse(line, len, year_hint, ev);
		return;
	}
	struct mm_syslog_hdr h;
	mm_ev_reset(ev);
	if (mm_syslog_parse(line, len, year_hint, &h) != 0)
		return;
	mm_ev_set_header(ev, &h);
	if (is_postfix_program(&h))
		mm_postfix_parse_msg(line, len, &h, ev);
	else if (mm_dovecot_is_program(h.program))
		mm_dovecot_parse_msg(line, len, &h, ev);
	else if (mm_exim_is_program(h.program))
		mm_exim_parse_msg(line, len, &h, ev);
}

void mm_unparsed_count(struct mm_unparsed *u, const struct mm_log_event *ev)
{
	if (ev->type != MM_EV_UNPARSED)
		return;
	u->total++;
	if (ev->program.p == NULL) {
		u->no_header++;
		return;
	}
	size_t n = ev->program.len < MM_UNPARSED_NAME - 1 ? ev->program.len : MM_UNPARSED_NAME - 1;
	for (unsigned i = 0; i < u->nprog; i++) {
		if (strlen(u->prog[i].name) == n && memcmp(u->prog[i].name, ev->program.p, n) == 0) {
			u->prog[i].count++;
			return;
		}
	}
	if (u->nprog == MM_UNPARSED_PROGRAMS) {
		u->other++;
		return;
	}
	memcpy(u->prog[u->nprog].name, ev->program.p, n);
	u->prog[u->nprog].name[n] = '\0';
	u->prog[u->nprog].count = 1;
	u->nprog++;
}

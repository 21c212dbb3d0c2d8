/*
 * discover_logs: where the mail logs are, for `mailmon init` (see
 * discover.h). Log files named by the servers themselves (Postfix
 * maillog_file, Dovecot log_path) come first; programs that log through
 * syslog are looked up in the rsyslog or syslog-ng rules for the mail
 * facility; without a rule, the journal is used when there is one.
 */
#include "discover/discover.h"

#include <stdlib.h>
#include <string.h>

#include "discover/syslog_rules.h"

enum daemon_kind { RSYSLOG, SYSLOG_NG };

/* Reads conf and the *.conf files of dir through the parser of kind. */
static void read_rules(struct mm_disc *d, enum daemon_kind kind, const char *conf,
		       const char *dir, struct mm_kvlist *mail, struct mm_kvlist *all,
		       struct mm_kvlist *from)
{
	struct mm_kvlist files = {0};
	if (d->host->exists(d->host->ctx, conf))
		mm_kvlist_add(&files, conf, NULL);
	struct mm_kvlist names = {0};
	if (d->host->list(d->host->ctx, dir, &names) == 0)
		for (size_t i = 0; i < names.n; i++) {
			size_t l = strlen(names.v[i].name);
			if (l > 5 && strcmp(names.v[i].name + l - 5, ".conf") == 0) {
				char path[512];
				mm_disc_fmt(path, sizeof path, "%s/%s", dir, names.v[i].name);
				mm_kvlist_add(&files, path, NULL);
			}
		}
	mm_kvlist_free(&names);
	for (size_t i = 0; i < files.n; i++) {
		struct mm_err err;
		size_t len;
		int eno;
		char *text = d->host->read(d->host->ctx, files.v[i].name, &len, &eno, &err);
		if (!text) {
			mm_plan_note(d->plan, "logs: %s", err.msg);
			continue;
		}
		size_t before = mail->n, abefore = all->n;
		if (kind == RSYSLOG)
			mm_rsyslog_mail_files(text, len, mail, all);
		else
			mm_syslogng_mail_files(text, len, mail, all);
		free(text);
		for (size_t k = before; k < mail->n; k++)
			mm_kvlist_add(from, mail->v[k].name, files.v[i].name);
		for (size_t k = abefore; k < all->n; k++)
			mm_kvlist_add(from, all->v[k].name, files.v[i].name);
	}
	mm_kvlist_free(&files);
}

static void plan_sources(struct mm_disc *d)
{
	char list[4096] = "", why[4096] = "";
	for (size_t i = 0; i < d->logs.n; i++) {
		if (i) {
			strncat(list, ", ", sizeof list - strlen(list) - 1);
			strncat(why, "\n", sizeof why - strlen(why) - 1);
		}
		strncat(list, d->logs.v[i].name, sizeof list - strlen(list) - 1);
		strncat(why, d->logs.v[i].name, sizeof why - strlen(why) - 1);
		strncat(why, ": ", sizeof why - strlen(why) - 1);
		strncat(why, d->logs.v[i].value ? d->logs.v[i].value : "", sizeof why - strlen(why) - 1);
		mm_plan_note(d->plan, "logs: %s (%s)", d->logs.v[i].name,
			     d->logs.v[i].value ? d->logs.v[i].value : "");
	}
	mm_plan_set(d->plan, "log", "sources", list, why);
}

void mm_discover_logs(struct mm_disc *d)
{
	if (d->syslog_idents.n > 0) {
		struct mm_kvlist mail = {0}, all = {0}, from = {0};
		read_rules(d, RSYSLOG, "/etc/rsyslog.conf", "/etc/rsyslog.d", &mail, &all, &from);
		read_rules(d, SYSLOG_NG, "/etc/syslog-ng/syslog-ng.conf", "/etc/syslog-ng/conf.d",
			   &mail, &all, &from);
		struct mm_kvlist *use = mail.n ? &mail : &all;
		for (size_t i = 0; i < use->n; i++) {
			char why[512];
			mm_disc_fmt(why, sizeof why, "%s rule in %s (%s log through syslog)",
				    use == &mail ? "mail facility" : "catch-all",
				    mm_kvlist_get(&from, use->v[i].name),
				    d->syslog_idents.v[0].value);
			mm_disc_log(d, use->v[i].name, why);
		}
		bool journal = d->host->exists(d->host->ctx, "/run/systemd/journal/socket") ||
			       d->host->exists(d->host->ctx, "/var/log/journal");
		if (use->n == 0 && journal) {
			char match[1024] = "", why[512];
			for (size_t i = 0; i < d->syslog_idents.n; i++) {
				if (i)
					strncat(match, ", ", sizeof match - strlen(match) - 1);
				strncat(match, d->syslog_idents.v[i].name, sizeof match - strlen(match) - 1);
			}
			mm_disc_log(d, "journal", "no syslog rule for the mail facility; journald runs");
			mm_disc_fmt(why, sizeof why, "The syslog names of the servers that log through "
				    "syslog (Postfix syslog_name, \"dovecot\").");
			mm_plan_set(d->plan, "log", "journal_match", match, why);
		} else if (use->n == 0) {
			mm_plan_note(d->plan, "logs: %s log through syslog, but no rule for the mail "
					      "facility and no journal were found",
				     d->syslog_idents.v[0].value);
		}
		mm_kvlist_free(&mail);
		mm_kvlist_free(&all);
		mm_kvlist_free(&from);
	}
	if (d->logs.n > 0)
		plan_sources(d);
	else
		mm_plan_off(d->plan, "log", "sources", "/var/log/mail.log",
			    "Not determined: no server log file, syslog rule for the mail facility\n"
			    "or journal was found. Name the mail log here.");
}

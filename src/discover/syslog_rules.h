/*
 * syslog_rules: which files a syslog daemon writes mail-facility lines to,
 * for `mailmon init`.
 *
 *   mm_rsyslog_mail_files(text, len, &mail, &all)    rsyslog.conf syntax
 *   mm_syslogng_mail_files(text, len, &mail, &all)   syslog-ng.conf syntax
 *
 * "mail" gets the files that receive the mail facility at info level or
 * more (mail.*, mail.info, facility(mail) filters); a mail.info file is
 * left out when a mail.* file exists (it repeats it), and so is a
 * syslog-ng path that filters by level; "all" gets catch-all
 * files (*.* without mail.none, a log path without filters), which the
 * caller may use when no mail-specific file exists. Files are added as
 * names of the kvlists (value NULL), each once, in file order.
 *
 * Lines or statements the parsers do not understand (RainerScript
 * if/then, templates, dynamic files) are skipped and counted in the
 * return value; they are never an error, since a config file of another
 * purpose may well be fed here. Ownership: the lists belong to the caller.
 */
#ifndef MAILMON_DISCOVER_SYSLOG_RULES_H
#define MAILMON_DISCOVER_SYSLOG_RULES_H

#include <stddef.h>

#include "core/kvlist.h"

/* Both return the number of lines/statements skipped as not understood. */
size_t mm_rsyslog_mail_files(const char *text, size_t len, struct mm_kvlist *mail,
			     struct mm_kvlist *all);
size_t mm_syslogng_mail_files(const char *text, size_t len, struct mm_kvlist *mail,
			      struct mm_kvlist *all);

#endif

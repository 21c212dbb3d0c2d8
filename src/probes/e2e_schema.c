/*
 * e2e_schema: the config rows of an end-to-end delivery probe
 * ([e2e.NAME]); see core/config_schema.h for the row format. Every key
 * needs a restart: mailmond reads the sections when it starts.
 */
#include "core/config_schema.h"

static const struct mm_conf_section e2e_sections[] = {
	{"e2e.*", "An end-to-end delivery probe (the seed's immonitor-access): every\n"
		  "interval, a tagged message is submitted over SMTP and fetched back over\n"
		  "IMAP or POP3, each leg timed (mailmon e2e --help, docs/e2e.md).\n"
		  "Example: [e2e.store1] submit = smtp://127.0.0.1:25,\n"
		  "fetch = imap://127.0.0.1:143, to = probe@example.org,\n"
		  "credentials_file = /etc/mailmon/probe.cred. Give numeric hosts."},
};

static const struct mm_conf_key e2e_keys[] = {
	{"e2e.*", "submit", MM_CT_STRING, NULL, 0, 0, NULL, false,
	 "Where to submit: smtp|smtps|submission://HOST:PORT (required)."},
	{"e2e.*", "fetch", MM_CT_STRING, NULL, 0, 0, NULL, false,
	 "The mailbox: imap|imaps|pop3|pop3s://HOST:PORT (required)."},
	{"e2e.*", "to", MM_CT_MAILBOX, NULL, 0, 0, NULL, false,
	 "Recipient: the probe mailbox's address (required)."},
	{"e2e.*", "from", MM_CT_STRING, "", 0, 0, NULL, false,
	 "Envelope and From: sender (empty: <>)."},
	{"e2e.*", "credentials_file", MM_CT_PATH, NULL, 0, 0, NULL, false,
	 "The mailbox user: \"user = NAME\" and \"password = SECRET\" lines,\n"
	 "readable only by mailmond's user (required)."},
	{"e2e.*", "submit_credentials_file", MM_CT_PATH, NULL, 0, 0, NULL, false,
	 "SMTP AUTH PLAIN user for the submission (unset: no AUTH)."},
	{"e2e.*", "ldap", MM_CT_STRING, NULL, 0, 0, NULL, false,
	 "Look the recipient up first: ldap[s]://HOST:PORT/BASE[??SCOPE?FILTER]\n"
	 "(a base alone searches (mail=TO) below it). Unset: no lookup."},
	{"e2e.*", "ldap_credentials_file", MM_CT_PATH, NULL, 0, 0, NULL, false,
	 "Bind DN (user =) and password for the lookup (unset: anonymous)."},
	{"e2e.*", "starttls", MM_CT_BOOL, "no", 0, 0, NULL, false,
	 "SMTP: upgrade with STARTTLS and fail if it is not offered."},
	{"e2e.*", "fetch_starttls", MM_CT_BOOL, "no", 0, 0, NULL, false,
	 "IMAP/POP3: upgrade with STARTTLS/STLS."},
	{"e2e.*", "tls_verify", MM_CT_BOOL, "yes", 0, 0, NULL, false,
	 "Verify server certificates (name or address, chain)."},
	{"e2e.*", "ca_file", MM_CT_PATH, NULL, 0, 0, NULL, false,
	 "Trust only the CAs in this file (unset: the system store)."},
	{"e2e.*", "interval", MM_CT_DURATION, "5m", 1000, 86400000, NULL, false,
	 "How often a probe message is sent. A run still waiting when the next\n"
	 "is due makes that cycle skip."},
	{"e2e.*", "deadline", MM_CT_DURATION, "60s", 100, 86400000, NULL, false,
	 "Delivery slower than this is late (mailmon_e2e_late_total)."},
	{"e2e.*", "timeout", MM_CT_DURATION, "4m", 1000, 86400000, NULL, false,
	 "How long one run waits for its message. One not seen by then is\n"
	 "taken by a later run and counted late with its delay."},
	{"e2e.*", "lost_after", MM_CT_DURATION, "1h", 1000, MM_CONF_DUR_MAX, NULL, false,
	 "A message not seen this long after it was sent counts as lost."},
	{"e2e.*", "poll", MM_CT_DURATION, "1s", 100, 600000, NULL, false,
	 "Between looks in the mailbox (IMAP re-checks while in IDLE too)."},
	{"e2e.*", "connect_timeout", MM_CT_DURATION, "10s", 100, 600000, NULL, false,
	 "Give up each connection after this long."},
	{"e2e.*", "cleanup_age", MM_CT_DURATION, "1h", 0, MM_CONF_DUR_MAX, NULL, false,
	 "Delete other probes' messages sent longer ago than this (leftovers\n"
	 "of killed runs); 0: never."},
	{"e2e.*", "helo", MM_CT_STRING, "mailmon.invalid", 0, 0, NULL, false,
	 "The EHLO name of the submission."},
};

const struct mm_conf_table mm_conf_table_e2e = MM_CONF_TABLE("e2e", e2e_sections, e2e_keys);

/*
 * msgsrv: the grammar of Sun/Oracle Messaging Server MTA mail.log
 * records, LOG_FORMAT=1 (the standard, space-separated format):
 *
 *   DD-Mon-YYYY HH:MM:SS.cc [pid] src [dst] CODE size from orig rcpt [optional...] [diagnostic]
 *   DD-Mon-YYYY HH:MM:SS.cc [pid] chan +|- CODE TCP|local-ip|lport|remote-ip|rport [text]
 *
 * CODE is an action letter (E D Q Z R J W B K I; connection records O C
 * X Y) followed by modifier letters (E ESMTP, C CHUNKING, S TLS, A SASL,
 * L LMTP). The optional fields (LOG_PROCESS process id, LOG_FILENAME
 * queue file, LOG_MESSAGE_ID message id, diagnostic) are recognised by
 * shape. A "file:" prefix, as grep prints it ("mail.log:06-Oct-2003 ..."),
 * is skipped. Times are local (see syslog_header.h).
 *
 * The event: program is the constant "msgsrv" (a static string, not a
 * view into the line), service and channel the record's channel, code the
 * record code with its modifiers. docs/parsers.md has the mapping table.
 * No allocation.
 */
#ifndef MAILMON_PARSERS_MSGSRV_H
#define MAILMON_PARSERS_MSGSRV_H

#include <stdbool.h>
#include <stddef.h>

#include "parsers/logevent.h"

/* Messaging Server logs sizes in blocks (BLOCK_SIZE, 1024 bytes unless
 * configured otherwise); size in the event is blocks * this. */
#define MM_MSGSRV_BLOCK_BYTES 1024u

void mm_msgsrv_parse(const char *line, size_t len, int year_hint, struct mm_log_event *ev);

/* True when the line starts like a mail.log record (its date stamp). */
bool mm_msgsrv_looks_like(const char *line, size_t len);

#endif

/*
 * doveconf: a parser for `doveconf -n` (Dovecot's non-default settings),
 * for `mailmon init`.
 *
 *   mm_doveconf_parse(text, len, &kv, err)
 *
 * Nested blocks are flattened into names joined by '/': the port inside
 *   service imap-login {
 *     inet_listener imaps {
 *       port = 993
 * becomes "service imap-login/inet_listener imaps/port" = "993". A value
 * wholly in double quotes loses them (doveconf prints
 * protocols = " imap lmtp"). '#' lines are comments.
 *
 * Errors: -1 with err naming the line of the first malformed line, an
 * unbalanced '}', nesting deeper than 16 or a name longer than 1 KiB;
 * what was parsed before stays in kv, which the caller owns.
 */
#ifndef MAILMON_DISCOVER_DOVECONF_H
#define MAILMON_DISCOVER_DOVECONF_H

#include <stddef.h>

#include "core/err.h"
#include "core/kvlist.h"

int mm_doveconf_parse(const char *text, size_t len, struct mm_kvlist *out,
		      struct mm_err *err);

#endif

/*
 * reply: end-of-reply tests for the line protocols, as pure functions.
 *
 * The probe engine reads one line at a time (without its CRLF) and feeds
 * it to the protocol's parser, which says whether the reply is complete,
 * needs more lines, or is malformed. They keep their state in a small
 * caller-owned struct, allocate nothing and read only the bytes given, so
 * they are fuzzed directly (tests/fuzz/fuzz_*_reply.c).
 */
#ifndef MAILMON_PROBES_REPLY_H
#define MAILMON_PROBES_REPLY_H

#include <stdbool.h>
#include <stddef.h>

enum { MM_REPLY_BAD = -1, MM_REPLY_MORE = 0, MM_REPLY_DONE = 1 };

/* IMAP and POP3 response status. */
enum mm_reply_status { MM_ST_NONE, MM_ST_OK, MM_ST_NO, MM_ST_BAD, MM_ST_BYE, MM_ST_PREAUTH };

struct mm_reply_state {
	int code;	     /* SMTP: the 3-digit code of the reply */
	enum mm_reply_status status;
	size_t nlines;
	bool multiline;	     /* POP3: the command answers with a dot-ended list */
	bool in_list;	     /* POP3: inside that list */
	const char *tag;     /* IMAP: the tag awaited; NULL awaits the greeting */
	/* IMAP literals ({N} at the end of a response line, RFC 3501 4.3):
	 * the engine sets eol to the length of the line end it stripped (2
	 * when 0); the parser counts the literal's bytes across lines. */
	size_t eol;
	size_t lit;	     /* literal bytes still to come */
	bool cont;	     /* the next line continues a response after a literal */
	size_t lit_part;     /* of the last line fed: leading bytes that were literal */
	bool lit_whole;	     /* ... and the whole line, its line end included */
};

/* Resets st for a new reply (keeps multiline and tag as set by caller). */
void mm_reply_reset(struct mm_reply_state *st);

/* SMTP/LMTP: "250-x" continues, "250 x" or "250" ends; every line of a
 * reply must carry the same code, 200..599 (RFC 5321 4.2). */
int mm_smtp_reply_feed(struct mm_reply_state *st, const char *line, size_t len);
/* IMAP: untagged "* ..." lines continue ("+ " too); the tagged line with
 * st->tag ends with OK/NO/BAD. With tag NULL the greeting "* OK|PREAUTH|BYE"
 * ends the reply. A literal (at most MM_IMAP_LITERAL_MAX bytes) is skipped
 * by counting bytes, so its lines are never mistaken for a tagged line;
 * st->lit_part says how much of the line just fed was literal content. */
#define MM_IMAP_LITERAL_MAX (16u << 20)
int mm_imap_reply_feed(struct mm_reply_state *st, const char *line, size_t len);
/* POP3: "+OK"/"-ERR" lines; with st->multiline a "+OK" opens a list that
 * ends at a line "." (RFC 1939 3). */
int mm_pop3_reply_feed(struct mm_reply_state *st, const char *line, size_t len);
/* HTTP: the status line sets code; header lines continue; the empty line
 * ends the head. */
int mm_http_reply_feed(struct mm_reply_state *st, const char *line, size_t len);

/* True if a line of an EHLO reply / CAPABILITY / CAPA list names keyword
 * (case-insensitive, as a whole word). */
bool mm_reply_has_word(const char *text, size_t len, const char *word);

#endif

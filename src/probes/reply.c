/* reply: see reply.h. Each parser checks bytes before it trusts them. */
#include "probes/reply.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void mm_reply_reset(struct mm_reply_state *st)
{
	st->code = 0;
	st->status = MM_ST_NONE;
	st->nlines = 0;
	st->in_list = false;
	st->lit = 0;
	st->cont = false;
	st->lit_part = 0;
}

static int three_digits(const char *s, size_t len)
{
	if (len < 3 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]))
		return -1;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

int mm_smtp_reply_feed(struct mm_reply_state *st, const char *line, size_t len)
{
	int code = three_digits(line, len);
	if (code < 200 || code > 599)
		return MM_REPLY_BAD;
	if (st->nlines > 0 && code != st->code)
		return MM_REPLY_BAD;
	st->code = code;
	st->nlines++;
	if (len == 3 || line[3] == ' ')
		return MM_REPLY_DONE;
	if (line[3] == '-')
		return MM_REPLY_MORE;
	return MM_REPLY_BAD;
}

/* The status word after "* " or "TAG ". */
static enum mm_reply_status status_word(const char *s, size_t len)
{
	static const struct {
		const char *w;
		enum mm_reply_status st;
	} words[] = {{"OK", MM_ST_OK}, {"NO", MM_ST_NO}, {"BAD", MM_ST_BAD},
		     {"BYE", MM_ST_BYE}, {"PREAUTH", MM_ST_PREAUTH}};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		size_t wl = strlen(words[i].w);
		if (len >= wl && strncasecmp(s, words[i].w, wl) == 0 &&
		    (len == wl || s[wl] == ' '))
			return words[i].st;
	}
	return MM_ST_NONE;
}

/* A "{N}" (or "{N+}") at the end of a response line announces N literal
 * bytes after its CRLF. Returns false on a malformed or oversized count. */
static bool literal_at_end(struct mm_reply_state *st, const char *line, size_t len)
{
	if (len < 3 || line[len - 1] != '}')
		return true;
	size_t i = len - 1;
	if (i > 0 && line[i - 1] == '+')
		i--;
	size_t digits_end = i, n = 0;
	while (i > 0 && isdigit((unsigned char)line[i - 1]))
		i--;
	if (i == 0 || line[i - 1] != '{')
		return true; /* an ordinary "}" */
	if (i == digits_end || digits_end - i > 9)
		return false;
	for (size_t k = i; k < digits_end; k++)
		n = n * 10 + (size_t)(line[k] - '0');
	if (n > MM_IMAP_LITERAL_MAX)
		return false;
	st->lit = n;
	st->cont = n == 0;
	return true;
}

int mm_imap_reply_feed(struct mm_reply_state *st, const char *line, size_t len)
{
	st->nlines++;
	st->lit_part = 0;
	st->lit_whole = false;
	size_t eol = st->eol ? st->eol : 2;
	if (st->lit > 0) {
		if (len + eol <= st->lit) {
			st->lit -= len + eol;
			st->lit_part = len;
			st->lit_whole = true;
			st->cont = st->lit == 0;
			return MM_REPLY_MORE;
		}
		if (st->lit > len)
			return MM_REPLY_BAD; /* the literal ended inside the line end */
		st->lit_part = st->lit;
		line += st->lit;
		len -= st->lit;
		st->lit = 0;
		st->cont = true;
	}
	if (st->cont) {
		/* The rest of an untagged response after a literal. */
		st->cont = false;
		return literal_at_end(st, line, len) ? MM_REPLY_MORE : MM_REPLY_BAD;
	}
	if (len >= 2 && line[0] == '*' && line[1] == ' ') {
		enum mm_reply_status s = status_word(line + 2, len - 2);
		if (!st->tag) {
			if (s == MM_ST_OK || s == MM_ST_PREAUTH || s == MM_ST_BYE) {
				st->status = s;
				return MM_REPLY_DONE;
			}
			return MM_REPLY_BAD;
		}
		if (s == MM_ST_BYE)
			st->status = MM_ST_BYE; /* remembered; the tagged line still ends it */
		return literal_at_end(st, line, len) ? MM_REPLY_MORE : MM_REPLY_BAD;
	}
	if (!st->tag)
		return MM_REPLY_BAD;
	if (len >= 1 && line[0] == '+')
		return MM_REPLY_MORE;
	size_t tl = strlen(st->tag);
	if (len > tl && strncmp(line, st->tag, tl) == 0 && line[tl] == ' ') {
		enum mm_reply_status s = status_word(line + tl + 1, len - tl - 1);
		if (s != MM_ST_OK && s != MM_ST_NO && s != MM_ST_BAD)
			return MM_REPLY_BAD;
		st->status = s;
		return MM_REPLY_DONE;
	}
	return MM_REPLY_BAD;
}

int mm_pop3_reply_feed(struct mm_reply_state *st, const char *line, size_t len)
{
	st->nlines++;
	if (st->in_list) {
		if (len == 1 && line[0] == '.')
			return MM_REPLY_DONE;
		return MM_REPLY_MORE;
	}
	if (len >= 3 && strncmp(line, "+OK", 3) == 0 && (len == 3 || line[3] == ' ')) {
		st->status = MM_ST_OK;
		if (st->multiline) {
			st->in_list = true;
			return MM_REPLY_MORE;
		}
		return MM_REPLY_DONE;
	}
	if (len >= 4 && strncmp(line, "-ERR", 4) == 0 && (len == 4 || line[4] == ' ')) {
		st->status = MM_ST_NO;
		return MM_REPLY_DONE;
	}
	return MM_REPLY_BAD;
}

int mm_http_reply_feed(struct mm_reply_state *st, const char *line, size_t len)
{
	if (st->nlines++ == 0) {
		/* "HTTP/1.1 200 OK" */
		if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ')
			return MM_REPLY_BAD;
		int code = three_digits(line + 9, len - 9);
		if (code < 100 || code > 599 || (len > 12 && line[12] != ' '))
			return MM_REPLY_BAD;
		st->code = code;
		return MM_REPLY_MORE;
	}
	if (len == 0)
		return MM_REPLY_DONE;
	if (!memchr(line, ':', len) && line[0] != ' ' && line[0] != '\t')
		return MM_REPLY_BAD;
	return MM_REPLY_MORE;
}

bool mm_reply_has_word(const char *text, size_t len, const char *word)
{
	size_t wl = strlen(word);
	for (size_t i = 0; i + wl <= len; i++) {
		if (strncasecmp(text + i, word, wl) != 0)
			continue;
		bool start = i == 0 || !isalnum((unsigned char)text[i - 1]);
		bool end = i + wl == len || !isalnum((unsigned char)text[i + wl]);
		if (start && end)
			return true;
	}
	return false;
}

/*
 * position: encoding and decoding of the saved source positions (see
 * position.h for the format). The decoder takes untrusted bytes (a file
 * that may be truncated, edited or foreign): it reads line by line with
 * bounds on everything and fails with the line number.
 */
#include "sources/position.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomicfile.h"
#include "core/hash.h"
#include "core/pct.h"
#include "core/strbuf.h"
#include "core/xalloc.h"
#include "sources/linebuf.h"

#define MAGIC "mailmon-positions"
#define VERSION 2
#define VERSION_FNV 1 /* read only: hashes of an older mailmon, see position.h */
#define FIELD_MAX 8192 /* longest escaped name or cursor */

void mm_posfile_init(struct mm_posfile *pf)
{
	memset(pf, 0, sizeof *pf);
}

void mm_posfile_free(struct mm_posfile *pf)
{
	for (size_t i = 0; i < pf->n; i++) {
		free(pf->src[i].name);
		free(pf->src[i].cursor);
	}
	free(pf->src);
	free(pf->consumer);
	memset(pf, 0, sizeof *pf);
}

struct mm_srcstate *mm_posfile_add(struct mm_posfile *pf, enum mm_srckind kind,
				   const char *name)
{
	pf->src = xgrow(pf->src, &pf->cap, pf->n + 1, sizeof *pf->src);
	struct mm_srcstate *s = &pf->src[pf->n++];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->name = xstrdup(name);
	return s;
}

const struct mm_srcstate *mm_posfile_find(const struct mm_posfile *pf, enum mm_srckind kind,
					  const char *name)
{
	for (size_t i = 0; i < pf->n; i++)
		if (pf->src[i].kind == kind && strcmp(pf->src[i].name, name) == 0)
			return &pf->src[i];
	return NULL;
}

/* Text fields are %XX-escaped (core/pct.h) so a line holds no space. */
static void add_escaped(struct mm_strbuf *o, const char *s)
{
	mm_pct_encode(o, s, strlen(s));
}

char *mm_posfile_encode(const struct mm_posfile *pf, size_t *len)
{
	struct mm_strbuf o;
	mm_strbuf_init(&o, 0);
	mm_strbuf_printf(&o, "%s %d\n", MAGIC, VERSION);
	for (size_t i = 0; i < pf->n; i++) {
		const struct mm_srcstate *s = &pf->src[i];
		mm_strbuf_printf(&o, "source %s ", s->kind == MM_SRCKIND_FILE ? "file" : "journal");
		add_escaped(&o, s->name);
		mm_strbuf_add(&o, "\n", 1);
		if (s->kind == MM_SRCKIND_FILE) {
			mm_strbuf_printf(&o, "dev %" PRIu64 "\nino %" PRIu64 "\noffset %" PRIu64 "\n",
				   s->pos.dev, s->pos.ino, s->pos.offset);
			mm_strbuf_printf(&o, "line_len %" PRIu64 "\nline_hash %016" PRIx64 "\n",
				   s->pos.line_len, s->pos.line_hash);
		} else if (s->cursor) {
			mm_strbuf_add(&o, "cursor ", 7);
			add_escaped(&o, s->cursor);
			mm_strbuf_add(&o, "\n", 1);
		}
		mm_strbuf_printf(&o, "lines %" PRIu64 "\nend\n", s->lines);
	}
	if (pf->consumer) {
		mm_strbuf_add(&o, "consumer ", 9);
		add_escaped(&o, pf->consumer);
		mm_strbuf_add(&o, "\n", 1);
	}
	mm_strbuf_printf(&o, "checksum %016" PRIx64 "\n", mm_hash64(o.p, o.len));
	return mm_strbuf_steal(&o, len);
}

/* ---- decoding ---- */

/* Unescapes v[0..n) into a fresh string; NULL when malformed, when it
 * holds a raw byte our encoder escapes, or when it would hold a NUL. */
static char *unescape(const char *v, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return NULL;
	char *s = xmalloc(n + 1);
	if (mm_pct_decode(v, n, s, n + 1, MM_PCT_STRICT | MM_PCT_NO_NUL) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static int parse_u64(const char *v, size_t n, int base, uint64_t *out)
{
	if (n == 0 || n > 20)
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		int d = mm_hexval((unsigned char)v[i]);
		if (d < 0 || d >= base)
			return -1;
		if (x > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -1;
		x = x * (uint64_t)base + (uint64_t)d;
	}
	*out = x;
	return 0;
}

/* Keys of a "source" block, with a bit each to catch repeats. */
enum {
	K_DEV = 1 << 0,
	K_INO = 1 << 1,
	K_OFFSET = 1 << 2,
	K_LINE_LEN = 1 << 3,
	K_LINE_HASH = 1 << 4,
	K_LINES = 1 << 5,
	K_CURSOR = 1 << 6,
};
#define FILE_KEYS (K_DEV | K_INO | K_OFFSET | K_LINE_LEN | K_LINE_HASH | K_LINES)

static int block_key(struct mm_srcstate *s, unsigned *seen, const char *key, size_t klen,
		     const char *v, size_t vlen)
{
	static const struct {
		const char *name;
		unsigned bit;
		int base;
		size_t off;
	} keys[] = {
		{"dev", K_DEV, 10, offsetof(struct mm_srcstate, pos.dev)},
		{"ino", K_INO, 10, offsetof(struct mm_srcstate, pos.ino)},
		{"offset", K_OFFSET, 10, offsetof(struct mm_srcstate, pos.offset)},
		{"line_len", K_LINE_LEN, 10, offsetof(struct mm_srcstate, pos.line_len)},
		{"line_hash", K_LINE_HASH, 16, offsetof(struct mm_srcstate, pos.line_hash)},
		{"lines", K_LINES, 10, offsetof(struct mm_srcstate, lines)},
	};
	if (klen == 6 && memcmp(key, "cursor", 6) == 0) {
		if (s->kind != MM_SRCKIND_JOURNAL || (*seen & K_CURSOR))
			return -1;
		*seen |= K_CURSOR;
		s->cursor = unescape(v, vlen, FIELD_MAX);
		return s->cursor ? 0 : -1;
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (strlen(keys[i].name) != klen || memcmp(keys[i].name, key, klen) != 0)
			continue;
		if ((*seen & keys[i].bit) ||
		    (s->kind == MM_SRCKIND_JOURNAL && keys[i].bit != K_LINES))
			return -1;
		*seen |= keys[i].bit;
		return parse_u64(v, vlen, keys[i].base, (uint64_t *)((char *)s + keys[i].off));
	}
	return -1;
}

int mm_posfile_decode(const char *text, size_t len, struct mm_posfile *pf,
		      struct mm_err *err)
{
	struct mm_posfile tmp;
	mm_posfile_init(&tmp);
	struct mm_srcstate *cur = NULL;
	unsigned seen = 0;
	int lineno = 0;
	bool have_magic = false, have_sum = false;
	uint64_t ver = 0;
	size_t pos = 0;

	if (len > MM_POSFILE_MAX) {
		mm_err_set(err, "larger than %d bytes", MM_POSFILE_MAX);
		goto fail;
	}
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		if (!nl) {
			mm_err_set(err, "line %d: unterminated (file cut short?)", lineno + 1);
			goto fail;
		}
		size_t n = (size_t)(nl - line);
		size_t line_start = pos;
		pos += n + 1;
		lineno++;
		if (have_sum) {
			mm_err_set(err, "line %d: data after the checksum", lineno);
			goto fail;
		}
		const char *sp = memchr(line, ' ', n);
		size_t klen = sp ? (size_t)(sp - line) : n;
		const char *v = sp ? sp + 1 : line + n;
		size_t vlen = sp ? n - klen - 1 : 0;
#define IS(k) (klen == sizeof(k) - 1 && memcmp(line, k, klen) == 0)
		if (!have_magic) {
			if (!IS(MAGIC)) {
				mm_err_set(err, "line 1: not a mailmon positions file");
				goto fail;
			}
			if (parse_u64(v, vlen, 10, &ver) < 0 || (ver != VERSION && ver != VERSION_FNV)) {
				mm_err_set(err, "line 1: unsupported version \"%.*s\" (this mailmon reads %d)",
					   (int)(vlen > 20 ? 20 : vlen), v, VERSION);
				goto fail;
			}
			have_magic = true;
			continue;
		}
		if (IS("checksum")) {
			uint64_t sum;
			if (cur) {
				mm_err_set(err, "line %d: checksum inside a source block", lineno);
				goto fail;
			}
			if (parse_u64(v, vlen, 16, &sum) < 0 ||
			    (ver == VERSION && sum != mm_hash64(text, line_start))) {
				mm_err_set(err, "line %d: checksum mismatch (file damaged or edited)",
					   lineno);
				goto fail;
			}
			have_sum = true;
		} else if (IS("source")) {
			if (cur) {
				mm_err_set(err, "line %d: source block without end", lineno);
				goto fail;
			}
			if (tmp.n >= MM_POSFILE_MAX_SOURCES) {
				mm_err_set(err, "line %d: more than %d sources", lineno,
					   MM_POSFILE_MAX_SOURCES);
				goto fail;
			}
			const char *sp2 = memchr(v, ' ', vlen);
			size_t kl = sp2 ? (size_t)(sp2 - v) : vlen;
			enum mm_srckind kind;
			if (kl == 4 && memcmp(v, "file", 4) == 0)
				kind = MM_SRCKIND_FILE;
			else if (kl == 7 && memcmp(v, "journal", 7) == 0)
				kind = MM_SRCKIND_JOURNAL;
			else {
				mm_err_set(err, "line %d: unknown source kind", lineno);
				goto fail;
			}
			char *name = sp2 ? unescape(sp2 + 1, vlen - kl - 1, FIELD_MAX) : NULL;
			if (!name) {
				mm_err_set(err, "line %d: bad source name", lineno);
				goto fail;
			}
			cur = mm_posfile_add(&tmp, kind, "");
			free(cur->name);
			cur->name = name;
			seen = 0;
		} else if (IS("end")) {
			if (!cur || vlen != 0 ||
			    (cur->kind == MM_SRCKIND_FILE && seen != FILE_KEYS) ||
			    (cur->kind == MM_SRCKIND_JOURNAL && !(seen & K_LINES))) {
				mm_err_set(err, "line %d: incomplete or misplaced source block", lineno);
				goto fail;
			}
			if (cur->kind == MM_SRCKIND_FILE && cur->pos.line_len > cur->pos.offset) {
				mm_err_set(err, "line %d: line_len beyond offset", lineno);
				goto fail;
			}
			cur = NULL;
		} else if (IS("consumer")) {
			if (cur || tmp.consumer || !(tmp.consumer = unescape(v, vlen, MM_POSFILE_MAX))) {
				mm_err_set(err, "line %d: bad consumer line", lineno);
				goto fail;
			}
		} else if (cur) {
			if (block_key(cur, &seen, line, klen, v, vlen) < 0) {
				mm_err_set(err, "line %d: bad, unknown or repeated key \"%.*s\"", lineno,
					   (int)(klen > 32 ? 32 : klen), line);
				goto fail;
			}
		} else {
			mm_err_set(err, "line %d: unexpected \"%.*s\"", lineno,
				   (int)(klen > 32 ? 32 : klen), line);
			goto fail;
		}
#undef IS
	}
	if (!have_magic) {
		mm_err_set(err, "empty file");
		goto fail;
	}
	if (!have_sum) {
		mm_err_set(err, "no checksum line (file cut short?)");
		goto fail;
	}
	if (ver == VERSION_FNV)
		for (size_t i = 0; i < tmp.n; i++)
			tmp.src[i].pos.line_len = 0; /* its hash is of another function */
	*pf = tmp;
	return 0;
fail:
	mm_posfile_free(&tmp);
	return -1;
}

int mm_posfile_save(const struct mm_posfile *pf, const char *path, struct mm_err *err)
{
	size_t len;
	char *text = mm_posfile_encode(pf, &len);
	int rc = mm_file_write_atomic(path, text, len, 0640, err);
	free(text);
	return rc;
}

int mm_posfile_load(const char *path, struct mm_posfile *pf, struct mm_err *err)
{
	size_t len = 0;
	int e = 0;
	struct mm_err rerr;
	char *text = mm_file_read_capped(path, MM_POSFILE_MAX, &len, &e, &rerr);
	if (!text) {
		if (e == ENOENT)
			return 1;
		return mm_err_set(err, "%s", rerr.msg);
	}
	struct mm_err derr;
	int rc = mm_posfile_decode(text, len, pf, &derr);
	free(text);
	if (rc < 0)
		return mm_err_set(err, "%s: %s", path, derr.msg);
	return 0;
}

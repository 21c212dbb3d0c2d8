/* received: see received.h. A header section is walked one unfolded field
 * at a time; a field is at most FIELD_MAX bytes (longer ones are cut). */
#include "probes/received.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "probes/maildate.h"

#define FIELD_MAX 2048

/* Next unfolded field from *pos: name in [*ns, *ns+*nl), value unfolded
 * into val (cap FIELD_MAX). Returns false at the end of the header (an
 * empty line or the end of the bytes). */
static bool next_field(const char *h, size_t len, size_t *pos, const char **ns, size_t *nl,
		       char *val, size_t *vl)
{
	for (;;) {
		size_t i = *pos;
		if (i >= len)
			return false;
		size_t e = i;
		while (e < len && h[e] != '\n')
			e++;
		size_t le = e > i && h[e - 1] == '\r' ? e - 1 : e;
		*pos = e < len ? e + 1 : e;
		if (le == i)
			return false; /* empty line: the body starts */
		if (h[i] == ' ' || h[i] == '\t')
			continue; /* a stray continuation line */
		const char *colon = memchr(h + i, ':', le - i);
		if (!colon)
			continue; /* not a field (e.g. an mbox "From " line) */
		*ns = h + i;
		*nl = (size_t)(colon - (h + i));
		size_t o = 0;
		size_t vs = (size_t)(colon - h) + 1;
		for (;;) {
			for (size_t k = vs; k < le && o + 1 < FIELD_MAX; k++) {
				unsigned char c = (unsigned char)h[k];
				char ch = c < 32 || c == 127 ? ' ' : (char)c;
				if (ch == ' ' && (o == 0 || val[o - 1] == ' '))
					continue;
				val[o++] = ch;
			}
			/* Folded continuation lines. */
			size_t n = *pos;
			if (n < len && (h[n] == ' ' || h[n] == '\t')) {
				size_t ne = n;
				while (ne < len && h[ne] != '\n')
					ne++;
				le = ne > n && h[ne - 1] == '\r' ? ne - 1 : ne;
				vs = n;
				*pos = ne < len ? ne + 1 : ne;
				if (o > 0 && val[o - 1] != ' ' && o + 1 < FIELD_MAX)
					val[o++] = ' ';
				continue;
			}
			break;
		}
		while (o > 0 && val[o - 1] == ' ')
			o--;
		val[o] = '\0';
		*vl = o;
		return true;
	}
}

bool mm_header_field(const char *hdr, size_t len, const char *name, char *out, size_t cap)
{
	char val[FIELD_MAX];
	size_t pos = 0, nl, vl, want = strlen(name);
	const char *ns;
	while (next_field(hdr, len, &pos, &ns, &nl, val, &vl)) {
		if (nl != want || strncasecmp(ns, name, nl) != 0)
			continue;
		size_t n = vl < cap - 1 ? vl : cap - 1;
		memcpy(out, val, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

/* The word after keyword kw (" by ", " with ") in the clause part of v. */
static void word_after(const char *v, size_t vl, const char *kw, char *out, size_t cap)
{
	out[0] = '\0';
	size_t kl = strlen(kw);
	for (size_t i = 0; i + kl <= vl; i++) {
		if ((i == 0 || v[i - 1] == ' ') && strncasecmp(v + i, kw, kl) == 0 &&
		    i + kl < vl && v[i + kl] == ' ') {
			size_t s = i + kl + 1, o = 0;
			while (s < vl && v[s] != ' ' && v[s] != ';' && o + 1 < cap) {
				unsigned char c = (unsigned char)v[s++];
				out[o++] = isalnum(c) || c == '.' || c == '-' || c == '_' || c == '[' ||
							   c == ']' || c == ':'
						   ? (char)c
						   : '?';
			}
			out[o] = '\0';
			return;
		}
	}
}

size_t mm_received_parse(const char *hdr, size_t len, struct mm_received_hop *hops, size_t max)
{
	struct mm_received_hop tmp[MM_RECEIVED_MAX];
	size_t n = 0, pos = 0, nl, vl;
	const char *ns;
	char val[FIELD_MAX];
	if (max > MM_RECEIVED_MAX)
		max = MM_RECEIVED_MAX;
	while (n < max && next_field(hdr, len, &pos, &ns, &nl, val, &vl)) {
		if (nl != 8 || strncasecmp(ns, "Received", 8) != 0)
			continue;
		struct mm_received_hop *h = &tmp[n++];
		memset(h, 0, sizeof *h);
		const char *semi = memrchr(val, ';', vl);
		size_t clause = semi ? (size_t)(semi - val) : vl;
		word_after(val, clause, "by", h->by, sizeof h->by);
		word_after(val, clause, "with", h->with, sizeof h->with);
		if (semi)
			h->have_time = mm_maildate_rfc5322(semi + 1, vl - clause - 1, &h->wall_ms) == 0;
	}
	/* Newest first in the header; the caller wants the path in order. */
	for (size_t i = 0; i < n; i++)
		hops[i] = tmp[n - 1 - i];
	return n;
}

/*
 * logpipe_state: the log pipeline's saved state, so that counters stay
 * exact when mailmond is killed and re-reads the lines after its last
 * saved log position (sources/consumer.h: checkpoint/restore).
 *
 * The daemon's log watcher stores this text in the same atomic rename as
 * the log positions; at start it hands it back before the first line.
 * Restoring puts the counters file back to the values it had at that
 * position (unless the file was recreated or cleared since: then the
 * file's own values are newer than the snapshot and are kept) and the
 * in-flight messages back into the lifecycle table.
 *
 * Encoding, version 1, one record per line, fields separated by one
 * space, text fields %XX-escaped (core/pct.h: space, %, control bytes,
 * bytes >= 0x7f):
 *   mailmon-logpipe 1
 *   file CREATED_MS CLEARED_MS GENERATION
 *   g NAME V0..V(n-1) M0..M(n-1) LAST_REJECT LAST_CONNFAIL   (n = field count)
 *   c ID NAME                   channel ids the messages refer to
 *   m QID FLAGS INBOUND ARRIVAL LAST SIZE NRCPT NSENT NFAILED NDEFER NCHAN
 *     CHAN:FLAGS... SENDER
 *   end
 * An empty text field is written as "-" ("%2D" is a literal dash). A
 * record that does not parse makes the whole restore fail with a message
 * (nothing half-applied to the lifecycle; counters are applied last).
 *
 * Ownership: the encoded text is a heap string the caller frees.
 */
#include "logs/logpipe_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pct.h"
#include "core/strbuf.h"
#include "core/xalloc.h"

/* A text field: " -" when empty, " %2D" for a literal dash, else the
 * %XX-escaped text (core/pct.h). */
static void put_text(struct mm_strbuf *b, const char *s)
{
	mm_strbuf_addc(b, ' ');
	if (!*s)
		mm_strbuf_addc(b, '-');
	else if (strcmp(s, "-") == 0)
		mm_strbuf_add(b, "%2D", 3);
	else
		mm_pct_encode(b, s, strlen(s));
}

struct enc {
	struct mm_strbuf *b;
	struct mm_channels *ch;
};

static void enc_msg(const struct mm_lc_msg *m, void *arg)
{
	struct enc *e = arg;
	char qid[MM_LC_QID_MAX];
	memcpy(qid, m->qid, m->qid_len);
	qid[m->qid_len] = 0;
	mm_strbuf_add(e->b, "m", 1);
	put_text(e->b, qid);
	mm_strbuf_printf(e->b, " %u %d %" PRId64 " %" PRId64 " %" PRIu64 " %u %u %u %u %u", m->flags,
	     m->inbound, m->arrival_ms, m->last_ms, m->size, m->nrcpt, m->nsent, m->nfailed,
	     m->ndeferrals, m->nchan);
	for (int i = 0; i < m->nchan && i < MM_LC_MAX_CHAN; i++)
		mm_strbuf_printf(e->b, " %u:%u", m->chan[i], m->chflags[i]);
	put_text(e->b, m->sender);
	mm_strbuf_add(e->b, "\n", 1);
}

char *mm_logpipe_state_encode(struct mm_cfile *cf, struct mm_channels *ch,
			      const struct mm_lifecycle *lc)
{
	struct mm_strbuf b;
	mm_strbuf_init(&b, 0);
	mm_strbuf_printf(&b, "mailmon-logpipe 1\nfile %" PRId64 " %" PRId64 " %" PRIu64 "\n",
	     cf->hdr->created_ms, (int64_t)atomic_load(&cf->hdr->cleared_ms),
	     (uint64_t)atomic_load(&cf->hdr->generation));
	for (uint32_t i = 0; i < mm_cfile_ngroups(cf); i++) {
		struct mm_cg_snapshot s;
		if (mm_cg_read(cf, i, &s) < 0)
			continue; /* only the writer writes, and it is us: cannot be busy */
		mm_strbuf_add(&b, "g", 1);
		put_text(&b, s.name);
		for (int f = 0; f < MM_CG__COUNT; f++)
			mm_strbuf_printf(&b, " %" PRId64, s.v[f]);
		for (int f = 0; f < MM_CG__COUNT; f++)
			mm_strbuf_printf(&b, " %" PRId64, s.min[f]);
		put_text(&b, s.last_reject);
		put_text(&b, s.last_connfail);
		mm_strbuf_add(&b, "\n", 1);
	}
	uint32_t n = mm_channels_count(ch);
	for (uint32_t id = 0; id < n; id++) {
		if (!mm_channels_name(ch, (uint16_t)id)[0])
			continue;
		mm_strbuf_printf(&b, "c %u", id);
		put_text(&b, mm_channels_name(ch, (uint16_t)id));
		mm_strbuf_add(&b, "\n", 1);
	}
	struct enc e = {&b, ch};
	mm_lc_each(lc, enc_msg, &e);
	mm_strbuf_add(&b, "end\n", 4);
	return mm_strbuf_steal(&b, NULL);
}

/* ---- decoding ---- */

/* Next space-separated field of *p (modified in place, unescaped). */
static char *field(char **p)
{
	char *s = *p;
	if (!s || !*s)
		return NULL;
	char *sp = strchr(s, ' ');
	if (sp) {
		*sp = 0;
		*p = sp + 1;
	} else {
		*p = NULL;
	}
	if (strcmp(s, "-") == 0) {
		*s = 0;
		return s;
	}
	/* In place; lenient about raw bytes (earlier mailmon kept bytes
	 * >= 0x80 raw), strict about a broken escape or a NUL. */
	size_t n = strlen(s);
	if (mm_pct_decode(s, n, s, n + 1, MM_PCT_NO_NUL) < 0)
		return NULL;
	return s;
}

static bool num(char **p, int64_t *out)
{
	char *f = field(p), *end;
	if (!f || !*f)
		return false;
	long long v = strtoll(f, &end, 10);
	if (*end)
		return false;
	*out = v;
	return true;
}

#define MAX_SAVED_IDS MM_CHAN_MAX_IDS
/* Counters per group in states saved before MM_CG_QSTORED_MSGS. */
#define MM_CG_COUNT_V1 24
_Static_assert(MM_CG_COUNT_V1 == MM_CG_QSTORED_MSGS, "the v1 counters come first");

/* Counters in a group record's rest "V.. M.. REJECT CONNFAIL": its
 * space-separated fields less the two texts, halved. */
static int saved_fields(const char *rest)
{
	int n = rest && *rest ? 1 : 0;
	for (const char *c = rest; c && *c; c++)
		n += *c == ' ';
	return n >= 2 && (n - 2) % 2 == 0 ? (n - 2) / 2 : -1;
}

int mm_logpipe_state_restore(const char *text, struct mm_cfile *cf, struct mm_channels *ch,
			     struct mm_lifecycle *lc, struct mm_err *err)
{
	char *copy = xstrdup(text);
	char *save = NULL;
	int rc = -1, lineno = 0;
	uint16_t *idmap = xmalloc(MAX_SAVED_IDS * sizeof *idmap);
	for (int i = 0; i < MAX_SAVED_IDS; i++)
		idmap[i] = MM_LC_NO_CHAN;
	struct mm_lc_msg *msgs = NULL;
	size_t nmsgs = 0, msgcap = 0;
	char *groups_start = NULL; /* counters are applied after all parsed */
	bool same_file = false, ended = false;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *p = line;
		char *kind = field(&p);
		if (!kind)
			continue;
		if (lineno == 1) {
			int64_t v;
			if (strcmp(kind, "mailmon-logpipe") != 0 || !num(&p, &v) || v != 1) {
				mm_err_set(err, "log pipeline state: not version 1 (\"%s\")", kind);
				goto out;
			}
		} else if (!strcmp(kind, "file")) {
			int64_t created, cleared, gen;
			if (!num(&p, &created) || !num(&p, &cleared) || !num(&p, &gen))
				goto bad;
			same_file = created == cf->hdr->created_ms &&
				    cleared == atomic_load(&cf->hdr->cleared_ms) &&
				    (uint64_t)gen == atomic_load(&cf->hdr->generation);
		} else if (!strcmp(kind, "g")) {
			if (!groups_start)
				groups_start = line; /* fields were split: re-parse from text */
		} else if (!strcmp(kind, "c")) {
			int64_t id;
			char *name;
			if (!num(&p, &id) || id < 0 || id >= MAX_SAVED_IDS || !(name = field(&p)))
				goto bad;
			idmap[id] = mm_channels_id(ch, name, strlen(name));
		} else if (!strcmp(kind, "m")) {
			struct mm_lc_msg m;
			memset(&m, 0, sizeof m);
			char *qid = field(&p);
			int64_t v[10];
			if (!qid || strlen(qid) >= MM_LC_QID_MAX || !*qid)
				goto bad;
			for (int i = 0; i < 10; i++)
				if (!num(&p, &v[i]))
					goto bad;
			memcpy(m.qid, qid, strlen(qid));
			m.qid_len = (uint8_t)strlen(qid);
			m.flags = (uint16_t)v[0];
			m.inbound = (int16_t)v[1];
			m.arrival_ms = v[2];
			m.last_ms = v[3];
			m.size = (uint64_t)v[4];
			m.nrcpt = (uint32_t)v[5];
			m.nsent = (uint32_t)v[6];
			m.nfailed = (uint32_t)v[7];
			m.ndeferrals = (uint32_t)v[8];
			if (v[9] < 0 || v[9] > MM_LC_MAX_CHAN)
				goto bad;
			for (int i = 0; i < v[9]; i++) {
				char *cfl = field(&p);
				unsigned cid, fl;
				if (!cfl || sscanf(cfl, "%u:%u", &cid, &fl) != 2 || cid >= MAX_SAVED_IDS)
					goto bad;
				if (idmap[cid] == MM_LC_NO_CHAN)
					continue; /* channel not named: drop the slot */
				m.chan[m.nchan] = idmap[cid];
				m.chflags[m.nchan++] = (uint8_t)fl;
			}
			if (m.inbound >= 0)
				m.inbound = m.inbound < MAX_SAVED_IDS && idmap[m.inbound] != MM_LC_NO_CHAN
						    ? (int16_t)idmap[m.inbound] : -1;
			char *sender = field(&p);
			if (sender)
				snprintf(m.sender, sizeof m.sender, "%s", sender);
			msgs = xgrow(msgs, &msgcap, nmsgs + 1, sizeof *msgs);
			msgs[nmsgs++] = m;
		} else if (!strcmp(kind, "end")) {
			ended = true;
		} else {
			goto bad;
		}
	}
	if (!ended) {
		mm_err_set(err, "log pipeline state: truncated (no end record)");
		goto out;
	}
	for (size_t i = 0; i < nmsgs; i++)
		mm_lc_restore(lc, &msgs[i]);
	if (same_file && groups_start) {
		/* Second pass over the original text for the group records. */
		free(copy);
		copy = xstrdup(text);
		save = NULL;
		for (char *line = strtok_r(copy, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char *p = line;
			char *kind = field(&p);
			if (!kind || strcmp(kind, "g") != 0)
				continue;
			char *name = field(&p);
			int64_t v[MM_CG__COUNT] = {0}, mn[MM_CG__COUNT] = {0};
			/* A state written before the queue gauges were added has
			 * fewer counters per group; those gauges are refreshed by
			 * the next queue scan, so they start at 0. */
			int nf = saved_fields(p);
			bool ok = name != NULL && nf >= MM_CG_COUNT_V1 && nf <= MM_CG__COUNT;
			for (int f = 0; ok && f < nf; f++)
				ok = num(&p, &v[f]);
			for (int f = 0; ok && f < nf; f++)
				ok = num(&p, &mn[f]);
			char *rej = ok ? field(&p) : NULL;
			char *cfail = rej ? field(&p) : NULL;
			if (!ok || !cfail)
				continue;
			int g = mm_cfile_group_add(cf, name, strlen(name));
			struct mm_cf_group *grp = &cf->groups[g];
			mm_cg_begin(grp);
			for (int f = 0; f < MM_CG__COUNT; f++) {
				atomic_store_explicit(&grp->v[f], v[f], memory_order_relaxed);
				atomic_store_explicit(&grp->min[f], mn[f], memory_order_relaxed);
			}
			mm_cg_set_text(grp->last_reject, rej, strlen(rej));
			mm_cg_set_text(grp->last_connfail, cfail, strlen(cfail));
			mm_cg_end(grp);
		}
	}
	rc = 0;
	goto out;
bad:
	mm_err_set(err, "log pipeline state: line %d: malformed record", lineno);
out:
	free(copy);
	free(idmap);
	free(msgs);
	return rc;
}

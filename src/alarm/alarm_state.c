/*
 * alarm_state: text encoding of alarm instances and silences (see
 * alarm_state.h).
 */
#include "alarm/alarm_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomicfile.h"
#include "core/pct.h"
#include "core/xalloc.h"

static void add_name(struct mm_strbuf *b, const char *s)
{
	mm_strbuf_addc(b, ' ');
	if (!*s)
		mm_strbuf_addc(b, '*');
	else if (strcmp(s, "*") == 0)
		mm_strbuf_adds(b, "%2A");
	else
		mm_pct_encode(b, s, strlen(s));
}

void mm_alarm_state_format(const struct mm_alarm_engine *e, struct mm_strbuf *b)
{
	mm_strbuf_printf(b, "mailmon-alarm-state %d\n", MM_ALARM_STATE_VERSION);
	for (size_t i = 0; i < e->ninst; i++) {
		const struct mm_alarm_inst *in = &e->inst[i];
		mm_strbuf_adds(b, "inst");
		add_name(b, in->alarm);
		add_name(b, in->instance);
		mm_strbuf_printf(b,
				 " ws=%d nt=%d cot=%" PRIu64 " cws=%" PRIu64
				 " cur=%.17g high=%.17g low=%.17g tls=%" PRId64 " tlw=%" PRId64
				 " tr=%" PRId64 " tsc=%" PRId64 " hist=%" PRIx64 " nh=%u",
				 in->warningstate, in->notified, in->countoverthreshold,
				 in->countwarningsent, in->current, in->high, in->low,
				 in->timelastset, in->timelastwarning, in->timereset,
				 in->timestatechanged, in->hist, in->nhist);
		if (in->have_prev)
			mm_strbuf_printf(b, " prev=%.17g pms=%" PRId64 " cms=%" PRId64, in->prev,
					 in->prev_ms, in->changed_ms);
		if (in->last_result[0]) {
			mm_strbuf_adds(b, " res=");
			mm_pct_encode(b, in->last_result, strlen(in->last_result));
		}
		mm_strbuf_addc(b, '\n');
	}
	for (size_t i = 0; i < e->nsil; i++) {
		mm_strbuf_adds(b, "sil");
		add_name(b, e->sil[i].alarm);
		add_name(b, e->sil[i].instance);
		mm_strbuf_printf(b, " %" PRId64 "\n", e->sil[i].until);
	}
}

int mm_alarm_state_save(const struct mm_alarm_engine *e, const char *path, struct mm_err *err)
{
	struct mm_strbuf b;
	mm_strbuf_init(&b, MM_ALARM_STATE_MAX);
	mm_alarm_state_format(e, &b);
	int rc;
	if (mm_strbuf_truncated(&b))
		rc = mm_err_set(err, "%s: alarm state larger than %zu bytes", path,
				MM_ALARM_STATE_MAX);
	else
		rc = mm_file_write_atomic(path, b.p, b.len, 0600, err);
	mm_strbuf_free(&b);
	return rc;
}

/* Decodes one %XX token ("*" is the empty string) into out. */
static int get_name(const char *tok, char *out, size_t cap)
{
	if (strcmp(tok, "*") == 0) {
		out[0] = '\0';
		return 0;
	}
	return mm_pct_decode(tok, strlen(tok), out, cap, MM_PCT_STRICT | MM_PCT_NO_NUL) < 0 ? -1
											   : 0;
}

static int num_i64(const char *v, int64_t *out)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (end == v || *end || errno)
		return -1;
	*out = x;
	return 0;
}

static int num_u64(const char *v, uint64_t *out, int base)
{
	char *end;
	errno = 0;
	if (*v == '-')
		return -1;
	unsigned long long x = strtoull(v, &end, base);
	if (end == v || *end || errno)
		return -1;
	*out = x;
	return 0;
}

static int num_dbl(const char *v, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(v, &end);
	return end == v || *end ? -1 : 0;
}

static int field(struct mm_alarm_inst *in, const char *k, const char *v)
{
	int64_t i;
	uint64_t u;
	if (strcmp(k, "ws") == 0 || strcmp(k, "nt") == 0) {
		if (num_i64(v, &i) < 0 || (i != 0 && i != 1))
			return -1;
		if (k[0] == 'w')
			in->warningstate = i;
		else
			in->notified = i;
		return 0;
	}
	if (strcmp(k, "cot") == 0)
		return num_u64(v, &in->countoverthreshold, 10);
	if (strcmp(k, "cws") == 0)
		return num_u64(v, &in->countwarningsent, 10);
	if (strcmp(k, "cur") == 0)
		return num_dbl(v, &in->current);
	if (strcmp(k, "high") == 0)
		return num_dbl(v, &in->high);
	if (strcmp(k, "low") == 0)
		return num_dbl(v, &in->low);
	if (strcmp(k, "prev") == 0) {
		in->have_prev = true;
		return num_dbl(v, &in->prev);
	}
	if (strcmp(k, "tls") == 0)
		return num_i64(v, &in->timelastset);
	if (strcmp(k, "tlw") == 0)
		return num_i64(v, &in->timelastwarning);
	if (strcmp(k, "tr") == 0)
		return num_i64(v, &in->timereset);
	if (strcmp(k, "tsc") == 0)
		return num_i64(v, &in->timestatechanged);
	if (strcmp(k, "pms") == 0)
		return num_i64(v, &in->prev_ms);
	if (strcmp(k, "cms") == 0)
		return num_i64(v, &in->changed_ms);
	if (strcmp(k, "hist") == 0)
		return num_u64(v, &in->hist, 16);
	if (strcmp(k, "nh") == 0) {
		if (num_u64(v, &u, 10) < 0 || u > 64)
			return -1;
		in->nhist = (unsigned)u;
		return 0;
	}
	if (strcmp(k, "res") == 0)
		return mm_pct_decode(v, strlen(v), in->last_result, sizeof in->last_result,
				     MM_PCT_STRICT | MM_PCT_NO_CTL) < 0 ? -1 : 0;
	return 0; /* a newer writer's field */
}

#define MAX_TOKENS 40

static int parse_line(struct mm_alarm_engine *e, char *line, int *version)
{
	char *tok[MAX_TOKENS];
	size_t n = 0;
	for (char *s = strtok(line, " "); s; s = strtok(NULL, " ")) {
		if (n == MAX_TOKENS)
			return -1;
		tok[n++] = s;
	}
	if (n == 0)
		return 0;
	if (strcmp(tok[0], "mailmon-alarm-state") == 0) {
		int64_t v;
		if (n != 2 || num_i64(tok[1], &v) < 0 || v < 1)
			return -1;
		if (v > MM_ALARM_STATE_VERSION)
			return -2;
		*version = (int)v;
		return 0;
	}
	if (!*version)
		return -1;
	char alarm[MM_ALARM_NAME_MAX], inst[MM_ALARM_TEXT_MAX];
	if (n < 3 || get_name(tok[1], alarm, sizeof alarm) < 0 || !alarm[0] ||
	    get_name(tok[2], inst, sizeof inst) < 0)
		return -1;
	if (strcmp(tok[0], "sil") == 0) {
		int64_t until;
		if (n != 4 || num_i64(tok[3], &until) < 0)
			return -1;
		mm_alarm_silence(e, alarm, inst, until);
		return 0;
	}
	if (strcmp(tok[0], "inst") != 0)
		return 0; /* a newer writer's record */
	struct mm_alarm_inst tmp;
	memset(&tmp, 0, sizeof tmp);
	for (size_t i = 3; i < n; i++) {
		char *eq = strchr(tok[i], '=');
		if (!eq)
			return -1;
		*eq = '\0';
		if (field(&tmp, tok[i], eq + 1) < 0)
			return -1;
	}
	struct mm_alarm_inst *in = mm_alarm_find(e, alarm, inst);
	if (!in)
		in = mm_alarm_add(e, alarm, inst);
	memcpy(tmp.alarm, in->alarm, sizeof tmp.alarm);
	memcpy(tmp.instance, in->instance, sizeof tmp.instance);
	memcpy(tmp.key, in->key, sizeof tmp.key);
	*in = tmp;
	return 0;
}

int mm_alarm_state_parse(struct mm_alarm_engine *e, const char *text, size_t len,
			 const char *name, struct mm_err *err)
{
	int version = 0, lineno = 0;
	size_t pos = 0, ninst = e->ninst, nsil = e->nsil;
	char *line = xmalloc(len + 1);
	int rc = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		memcpy(line, text + pos, ll);
		line[ll] = '\0';
		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (memchr(line, '\0', ll)) {
			rc = mm_err_set(err, "%s:%d: NUL byte in alarm state", name, lineno);
			break;
		}
		int r = parse_line(e, line, &version);
		if (r == -2) {
			rc = mm_err_set(err, "%s:%d: alarm state of a newer mailmon (version > %d)",
					name, lineno, MM_ALARM_STATE_VERSION);
			break;
		}
		if (r < 0) {
			rc = mm_err_set(err, "%s:%d: malformed alarm state line", name, lineno);
			break;
		}
	}
	if (rc == 0 && len > 0 && !version)
		rc = mm_err_set(err, "%s: not a mailmon alarm state file", name);
	free(line);
	if (rc < 0) { /* all or nothing: a damaged file adds no half-read state */
		e->ninst = ninst;
		e->nsil = nsil;
		e->idx_valid = false;
	}
	e->dirty = false;
	return rc;
}

int mm_alarm_state_load(struct mm_alarm_engine *e, const char *path, struct mm_err *err)
{
	size_t len;
	int eno = 0;
	struct mm_err rerr = {{0}};
	char *text = mm_file_read_capped(path, MM_ALARM_STATE_MAX, &len, &eno, &rerr);
	if (!text) {
		if (eno == ENOENT)
			return 0;
		return mm_err_set(err, "%s", rerr.msg);
	}
	int rc = mm_alarm_state_parse(e, text, len, path, err);
	free(text);
	return rc;
}

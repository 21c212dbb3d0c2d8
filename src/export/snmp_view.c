/*
 * snmp_view: registry snapshot -> sorted SNMP objects (see snmp_view.h).
 *
 * The tables are emitted in OID order (applTable, mtaTable,
 * mtaGroupTable; within each, column by column, rows by index), so the
 * list is sorted by construction; GET and GETNEXT binary-search it.
 */
#include "export/snmp_view.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define MIB2 1, 3, 6, 1, 2, 1

enum { APPL_UP = 1, APPL_DOWN = 2, APPL_HALTED = 3, APPL_CONGESTED = 4, APPL_RESTARTING = 5 };

/* What a channel-family column holds. */
enum kind { K_VALUE, K_KB, K_SINCE, K_PROTO, K_NAME, K_ZERO };

struct gcol {
	uint32_t col;
	enum mm_snmp_type type;
	const char *family;
	enum kind kind;
};

/* mtaGroupEntry columns (RFC 2789) served, from the channel families. */
static const struct gcol group_cols[] = {
	{2, MM_SNMP_COUNTER32, "mailmon_messages_received_total", K_VALUE},
	{3, MM_SNMP_COUNTER32, "mailmon_messages_rejected_total", K_VALUE},
	{4, MM_SNMP_GAUGE32, "mailmon_channel_stored_messages", K_VALUE},
	{5, MM_SNMP_COUNTER32, "mailmon_messages_delivered_total", K_VALUE},
	{6, MM_SNMP_COUNTER32, "mailmon_received_bytes_total", K_KB},
	{7, MM_SNMP_GAUGE32, "mailmon_channel_stored_bytes", K_KB},
	{8, MM_SNMP_COUNTER32, "mailmon_delivered_bytes_total", K_KB},
	{10, MM_SNMP_GAUGE32, "mailmon_channel_stored_recipients", K_VALUE},
	{11, MM_SNMP_COUNTER32, "mailmon_recipients_delivered_total", K_VALUE},
	{12, MM_SNMP_INTEGER, "mailmon_channel_oldest_message_age_seconds", K_VALUE},
	{13, MM_SNMP_GAUGE32, "mailmon_inbound_associations", K_VALUE},
	{14, MM_SNMP_GAUGE32, "mailmon_outbound_associations", K_VALUE},
	{15, MM_SNMP_COUNTER32, "mailmon_inbound_associations_total", K_VALUE},
	{16, MM_SNMP_COUNTER32, "mailmon_outbound_associations_total", K_VALUE},
	{17, MM_SNMP_INTEGER, "mailmon_last_inbound_activity_timestamp_seconds", K_SINCE},
	{18, MM_SNMP_INTEGER, "mailmon_last_outbound_activity_timestamp_seconds", K_SINCE},
	{19, MM_SNMP_COUNTER32, "mailmon_inbound_associations_rejected_total", K_VALUE},
	{20, MM_SNMP_COUNTER32, "mailmon_outbound_connect_failures_total", K_VALUE},
	{24, MM_SNMP_OID, NULL, K_PROTO},
	{25, MM_SNMP_STRING, NULL, K_NAME},
	{31, MM_SNMP_INTEGER, NULL, K_ZERO}, /* mtaGroupHierarchy: not implemented */
};

/* applEntry columns served (RFC 2788). */
static const uint32_t appl_cols[] = {2, 4, 5, 6, 8, 9, 10, 11, 14, 15};

/* mtaEntry columns: sums over channels or queues. */
static const struct gcol mta_cols[] = {
	{1, MM_SNMP_COUNTER32, "mailmon_messages_submitted_total", K_VALUE},
	{2, MM_SNMP_GAUGE32, "mailmon_queue_messages", K_VALUE},
	{3, MM_SNMP_COUNTER32, "mailmon_messages_delivered_total", K_VALUE},
	{4, MM_SNMP_COUNTER32, "mailmon_received_bytes_total", K_KB},
	{5, MM_SNMP_GAUGE32, "mailmon_queue_bytes", K_KB},
	{6, MM_SNMP_COUNTER32, "mailmon_delivered_bytes_total", K_KB},
	{8, MM_SNMP_GAUGE32, "mailmon_queue_recipients", K_VALUE},
	{9, MM_SNMP_COUNTER32, "mailmon_recipients_delivered_total", K_VALUE},
};

int mm_snmp_oid_cmp(const uint32_t *a, size_t alen, const uint32_t *b, size_t blen)
{
	for (size_t i = 0; i < alen && i < blen; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static struct mm_snmp_entry *push(struct mm_snmp_view *v, const uint32_t *oid, size_t len,
				  enum mm_snmp_type type)
{
	v->e = xgrow(v->e, &v->cap, v->n + 1, sizeof *v->e);
	struct mm_snmp_entry *e = &v->e[v->n++];
	memset(e, 0, sizeof *e);
	memcpy(e->oid, oid, len * sizeof *oid);
	e->len = len;
	e->type = type;
	return e;
}

/* SNMP's ranges: Counter32 wraps, Gauge32 sticks at its top, Integer32
 * is clipped. */
static int64_t fit(enum mm_snmp_type t, double x)
{
	if (!isfinite(x) || x < 0)
		x = 0;
	if (t == MM_SNMP_COUNTER32)
		return (int64_t)fmod(floor(x), 4294967296.0);
	if (t == MM_SNMP_GAUGE32 || t == MM_SNMP_TIMETICKS)
		return x > 4294967295.0 ? 4294967295 : (int64_t)x;
	return x > 2147483647.0 ? 2147483647 : (int64_t)x;
}

static void push_num(struct mm_snmp_view *v, const uint32_t *oid, size_t len,
		     enum mm_snmp_type t, double x)
{
	push(v, oid, len, t)->num = fit(t, x);
}

static void push_str(struct mm_snmp_view *v, const uint32_t *oid, size_t len, const char *s)
{
	push(v, oid, len, MM_SNMP_STRING)->str = xstrdup(s ? s : "");
}

/* Index (1-based) of name in an append-only table. */
static size_t index_of(char ***names, size_t *n, size_t *cap, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*names)[i], name) == 0)
			return i + 1;
	*names = xgrow(*names, cap, *n + 1, sizeof **names);
	(*names)[(*n)++] = xstrdup(name);
	return *n;
}

/* The value of family{channel="ch"} (families with the single label
 * "channel"), or of the whole family summed when ch is NULL. */
static double fam_value(const struct mm_registry *r, const char *family, const char *ch)
{
	const struct mm_metric *m = mm_registry_find(r, family);
	if (!m)
		return 0;
	if (ch) {
		const char *lv[] = {ch};
		if (mm_metric_nlabels(m) != 1)
			return 0;
		const struct mm_series *s = mm_metric_lookup(m, lv);
		return s ? s->value : 0;
	}
	double sum = 0;
	for (size_t i = 0; i < mm_metric_nseries(m); i++)
		sum += mm_metric_series(m, i)->value;
	return sum;
}

/* RFC 2789 mtaGroupMailProtocol: {applTCPProtoID port} for what we know. */
static uint32_t proto_port(const char *ch)
{
	if (strcmp(ch, "lmtp") == 0)
		return 24;
	if (strstr(ch, "smtp") || strcmp(ch, "relay") == 0 || strcmp(ch, "postscreen") == 0)
		return 25;
	if (strncmp(ch, "imap", 4) == 0)
		return 143;
	if (strncmp(ch, "pop3", 4) == 0)
		return 110;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Channels now in any channel family, sorted, deduplicated (caller frees
 * the array, not the strings: they belong to the registry). */
static const char **channels_now(const struct mm_registry *r, size_t *n)
{
	const char **out = NULL;
	size_t cap = 0;
	*n = 0;
	for (size_t c = 0; c < sizeof group_cols / sizeof group_cols[0]; c++) {
		const struct mm_metric *m =
			group_cols[c].family ? mm_registry_find(r, group_cols[c].family) : NULL;
		if (!m || mm_metric_nlabels(m) != 1)
			continue;
		for (size_t i = 0; i < mm_metric_nseries(m); i++) {
			out = xgrow(out, &cap, *n + 1, sizeof *out);
			out[(*n)++] = mm_metric_series(m, i)->lv[0];
		}
	}
	if (*n)
		qsort(out, *n, sizeof *out, cmp_str);
	size_t k = 0;
	for (size_t i = 0; i < *n; i++)
		if (k == 0 || strcmp(out[k - 1], out[i]) != 0)
			out[k++] = out[i];
	*n = k;
	return out;
}

/* Watched services and their applOperStatus, sorted by name. */
struct svc {
	const char *name;
	int oper;
	double age_s;
};

static int cmp_svc(const void *a, const void *b)
{
	return strcmp(((const struct svc *)a)->name, ((const struct svc *)b)->name);
}

static int oper_of(const char *state)
{
	if (strcmp(state, "up") == 0)
		return APPL_UP;
	if (strcmp(state, "slow") == 0)
		return APPL_CONGESTED;
	if (strcmp(state, "failed") == 0)
		return APPL_HALTED;
	if (strcmp(state, "restarting") == 0 || strcmp(state, "verifying") == 0)
		return APPL_RESTARTING;
	return APPL_DOWN; /* down, and unknown before the first check */
}

static struct svc *services_now(const struct mm_registry *r, size_t *n)
{
	const struct mm_metric *m = mm_registry_find(r, "mailmon_service_state");
	const struct mm_metric *age = mm_registry_find(r, "mailmon_process_oldest_age_seconds");
	struct svc *out = NULL;
	size_t cap = 0;
	*n = 0;
	if (!m || mm_metric_nlabels(m) != 2)
		return NULL;
	for (size_t i = 0; i < mm_metric_nseries(m); i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		if (s->value != 1)
			continue;
		out = xgrow(out, &cap, *n + 1, sizeof *out);
		const char *lv[] = {s->lv[0]};
		const struct mm_series *a = age ? mm_metric_lookup(age, lv) : NULL;
		out[(*n)++] = (struct svc){s->lv[0], oper_of(s->lv[1]), a ? a->value : -1};
	}
	if (*n)
		qsort(out, *n, sizeof *out, cmp_svc);
	return out;
}

/* The log channel whose sessions a service's associations are, if any. */
static const char *service_channel(const char *svc)
{
	if (strncmp(svc, "imap", 4) == 0)
		return "imap";
	if (strncmp(svc, "pop", 3) == 0)
		return "pop3";
	if (strncmp(svc, "smtp", 4) == 0 || strncmp(svc, "submission", 10) == 0)
		return "smtpd";
	return NULL;
}

static void build_appl(struct mm_snmp_view *v, const struct mm_registry *r,
		       const struct mm_snmp_info *info, struct svc *svcs, size_t nsvc)
{
	/* rows: index 1 the MTA, then services by their stable index */
	size_t rows = 1 + nsvc;
	size_t *idx = xcalloc(rows, sizeof *idx);
	idx[0] = 1;
	for (size_t i = 0; i < nsvc; i++)
		idx[i + 1] = 1 + index_of(&v->groups_appl, &v->nappl, &v->appl_cap, svcs[i].name);
	const uint32_t *cols = appl_cols;
	for (size_t c = 0; c < sizeof appl_cols / sizeof appl_cols[0]; c++)
		for (size_t want = 1; want <= 1 + v->nappl; want++)
			for (size_t i = 0; i < rows; i++) {
				if (idx[i] != want)
					continue;
				uint32_t oid[] = {MIB2, 27, 1, 1, cols[c], (uint32_t)want};
				size_t len = sizeof oid / sizeof oid[0];
				const struct svc *s = i ? &svcs[i - 1] : NULL;
				const char *ch = s ? service_channel(s->name) : NULL;
				bool any = !s || ch; /* MTA: all channels; service: its own */
				switch (cols[c]) {
				case 2:
					push_str(v, oid, len, s ? s->name : info->mta_name);
					break;
				case 4:
					push_str(v, oid, len, s ? "" : info->version);
					break;
				case 5: /* TimeStamp of the last start, on our uptime */
					push_num(v, oid, len, MM_SNMP_TIMETICKS,
						 s && s->age_s >= 0 &&
								 (double)info->uptime_cs > s->age_s * 100
							 ? (double)info->uptime_cs - s->age_s * 100
							 : 0);
					break;
				case 6:
					push_num(v, oid, len, MM_SNMP_INTEGER, s ? s->oper : APPL_UP);
					break;
				case 8:
					push_num(v, oid, len, MM_SNMP_GAUGE32,
						 any ? fam_value(r, "mailmon_inbound_associations", ch) : 0);
					break;
				case 9:
					push_num(v, oid, len, MM_SNMP_GAUGE32,
						 s ? 0 : fam_value(r, "mailmon_outbound_associations", NULL));
					break;
				case 10:
					push_num(v, oid, len, MM_SNMP_COUNTER32,
						 !any ? 0
						 : ch && strcmp(ch, "smtpd") != 0
							 ? fam_value(r, "mailmon_login_connections_total", ch)
							 : fam_value(r, "mailmon_inbound_associations_total", ch));
					break;
				case 11:
					push_num(v, oid, len, MM_SNMP_COUNTER32,
						 s ? 0 : fam_value(r, "mailmon_outbound_associations_total", NULL));
					break;
				case 14:
					push_num(v, oid, len, MM_SNMP_COUNTER32,
						 any ? fam_value(r, "mailmon_inbound_associations_rejected_total", ch)
						     : 0);
					break;
				default:
					push_num(v, oid, len, MM_SNMP_COUNTER32,
						 s ? 0 : fam_value(r, "mailmon_outbound_connect_failures_total", NULL));
					break;
				}
			}
	free(idx);
}

static void build_mta(struct mm_snmp_view *v, const struct mm_registry *r)
{
	for (size_t c = 0; c < sizeof mta_cols / sizeof mta_cols[0]; c++) {
		uint32_t oid[] = {MIB2, 28, 1, 1, mta_cols[c].col, 1};
		double x = fam_value(r, mta_cols[c].family, NULL);
		push_num(v, oid, sizeof oid / sizeof oid[0], mta_cols[c].type,
			 mta_cols[c].kind == K_KB ? x / 1024 : x);
	}
}

static void build_groups(struct mm_snmp_view *v, const struct mm_registry *r,
			 const struct mm_snmp_info *info)
{
	size_t nch;
	const char **chs = channels_now(r, &nch);
	size_t *idx = xcalloc(nch ? nch : 1, sizeof *idx);
	for (size_t i = 0; i < nch; i++)
		idx[i] = index_of(&v->groups, &v->ngroups, &v->gcap, chs[i]);
	/* rows in index order: invert idx */
	const char **by_index = xcalloc(v->ngroups + 1, sizeof *by_index);
	for (size_t i = 0; i < nch; i++)
		by_index[idx[i]] = chs[i];
	for (size_t c = 0; c < sizeof group_cols / sizeof group_cols[0]; c++) {
		const struct gcol *g = &group_cols[c];
		for (size_t gi = 1; gi <= v->ngroups; gi++) {
			const char *ch = by_index[gi];
			if (!ch)
				continue;
			uint32_t oid[] = {MIB2, 28, 2, 1, g->col, 1, (uint32_t)gi};
			size_t len = sizeof oid / sizeof oid[0];
			if (g->kind == K_NAME) {
				push_str(v, oid, len, ch);
			} else if (g->kind == K_PROTO) {
				struct mm_snmp_entry *e = push(v, oid, len, MM_SNMP_OID);
				uint32_t port = proto_port(ch);
				uint32_t proto[] = {MIB2, 27, 4, port};
				if (port) {
					memcpy(e->oidv, proto, sizeof proto);
					e->oidv_len = sizeof proto / sizeof proto[0];
				} else {
					e->oidv_len = 2; /* zeroDotZero */
				}
			} else if (g->kind == K_ZERO) {
				push_num(v, oid, len, g->type, 0);
			} else {
				double x = fam_value(r, g->family, ch);
				if (g->kind == K_KB)
					x /= 1024;
				else if (g->kind == K_SINCE)
					x = x > 0 ? (double)info->now_unix - x : 0;
				push_num(v, oid, len, g->type, x);
			}
		}
	}
	free(by_index);
	free(idx);
	free(chs);
}

size_t mm_snmp_view_columns(uint32_t (*oids)[MM_SNMP_OID_MAX], size_t *lens, size_t max)
{
	size_t n = 0;
	for (size_t c = 0; c < sizeof appl_cols / sizeof appl_cols[0] && n < max; c++, n++) {
		uint32_t o[] = {MIB2, 27, 1, 1, appl_cols[c]};
		memcpy(oids[n], o, sizeof o);
		lens[n] = sizeof o / sizeof o[0];
	}
	for (size_t c = 0; c < sizeof mta_cols / sizeof mta_cols[0] && n < max; c++, n++) {
		uint32_t o[] = {MIB2, 28, 1, 1, mta_cols[c].col};
		memcpy(oids[n], o, sizeof o);
		lens[n] = sizeof o / sizeof o[0];
	}
	for (size_t c = 0; c < sizeof group_cols / sizeof group_cols[0] && n < max; c++, n++) {
		uint32_t o[] = {MIB2, 28, 2, 1, group_cols[c].col};
		memcpy(oids[n], o, sizeof o);
		lens[n] = sizeof o / sizeof o[0];
	}
	return n;
}

static void clear_entries(struct mm_snmp_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->e[i].str);
	v->n = 0;
}

void mm_snmp_view_build(struct mm_snmp_view *v, const struct mm_registry *r,
			const struct mm_snmp_info *info)
{
	clear_entries(v);
	size_t nsvc;
	struct svc *svcs = services_now(r, &nsvc);
	build_appl(v, r, info, svcs, nsvc);
	free(svcs);
	build_mta(v, r);
	build_groups(v, r, info);
}

/* First entry with OID >= oid (strict: > oid). */
static size_t lower(const struct mm_snmp_view *v, const uint32_t *oid, size_t len, bool strict)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = mm_snmp_oid_cmp(v->e[mid].oid, v->e[mid].len, oid, len);
		if (c < 0 || (strict && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct mm_snmp_entry *mm_snmp_view_get(const struct mm_snmp_view *v, const uint32_t *oid,
					     size_t len)
{
	size_t i = lower(v, oid, len, false);
	return i < v->n && mm_snmp_oid_cmp(v->e[i].oid, v->e[i].len, oid, len) == 0 ? &v->e[i]
										    : NULL;
}

const struct mm_snmp_entry *mm_snmp_view_next(const struct mm_snmp_view *v, const uint32_t *oid,
					      size_t len)
{
	size_t i = lower(v, oid, len, true);
	return i < v->n ? &v->e[i] : NULL;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void mm_snmp_view_free(struct mm_snmp_view *v)
{
	clear_entries(v);
	free(v->e);
	free_names(v->groups, v->ngroups);
	free_names(v->groups_appl, v->nappl);
	memset(v, 0, sizeof *v);
}

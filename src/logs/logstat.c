/*
 * logstat: accounting and rendering of the one-shot log report (see
 * logstat.h and docs/logstat.md).
 *
 * The figures that must equal pflogsumm's are counted on the same events
 * pflogsumm counts: received = smtpd/postscreen "client=" + pickup
 * "uid=/sender="; deferred = distinct queue IDs with a status=deferred;
 * deferrals = status=deferred lines; bounced = status=bounced lines;
 * rejected = reject lines (smtpd, postscreen, cleanup).
 */
#include "logs/logstat.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/distinct.h"
#include "core/hash.h"
#include "core/histo.h"
#include "core/strutil.h"
#include "core/tally.h"
#include "core/xalloc.h"
#include "logs/filterhop.h"
#include "logs/logpipe.h"
#include "logs/reason.h"
#include "parsers/syslog_header.h"

#define DEST_NAME_MAX 64
#define MAX_DAYS 3660
#define TOP_PER_DEST 5
#define APPROX_SLOTS 16384	  /* space-saving slots of a report-wide table */
#define APPROX_SLOTS_PER_DEST 32  /* ... of a per-destination reasons table */

enum { R_RCV, R_DLV, R_DFR, R_BNC, R_REJ, R__N }; /* per-day / per-hour columns */

struct dest {
	char name[DEST_NAME_MAX];
	uint64_t hash;
	uint64_t delivered, bytes, deferrals, bounced;
	double delay_sum, delay_max;
	struct mm_histo histo; /* delivered delays, ms */
	struct mm_tally defer_reasons, bounce_reasons;
};

#define REASON_MEMO 64	    /* remembered raw reason -> group key, a power of 2 */
#define REASON_MEMO_RAW 240 /* longer raw texts are grouped every time */

struct reason_memo {
	uint64_t hash;
	uint16_t raw_len, key_len;
	bool used;
	char raw[REASON_MEMO_RAW];
	char key[MM_TALLY_KEY];
};

struct day {
	int32_t ymd;
	uint64_t c[R__N];
};

struct mm_logstat {
	struct mm_logstat_opts o;
	struct mm_logpipe *pipe;
	struct mm_logstat_totals t;
	struct mm_distinct senders, sending_hosts, recipients, recipient_hosts, deferred_qids;
	/* destinations: open addressing over dests */
	struct dest *dests;
	size_t ndests, dests_cap;
	uint32_t *dindex; /* dest index + 1 */
	uint32_t dmask;
	uint64_t dests_overflow;
	struct day *days;
	size_t ndays, days_cap;
	size_t day_cur;
	uint64_t hours[24][R__N];
	int64_t hour_lo, hour_hi; /* cached local hour [lo, hi) */
	int cur_hour;
	int32_t cur_ymd;
	struct mm_tally_budget budget; /* every tally's exact-mode memory */
	struct reason_memo memo[REASON_MEMO];
	struct mm_filterhop hops; /* re-injections from a content filter */
	const char *nohdr_cause;  /* why the current line had no header (static text) */
	struct mm_tally reject_reasons, reject_clients, warnings, unparsed_programs, auth_clients;
	struct mm_tally postscreen; /* verdicts (PASS NEW, PREGREET, DNSBL rank, ...) */
	/* Dovecot: logins and failures as the login processes report them */
	struct {
		uint64_t logins, failed_attempts, failed_connections, aborted, lmtp_saved,
			lmtp_failed;
		struct mm_tally by_protocol, failed_users, failed_ips;
	} dv;
	uint64_t capped_lines;
	uint64_t domains_cut; /* domains longer than a destination name slot */
	int64_t first_ms, last_ms;
};

struct mm_logstat *mm_logstat_new(const struct mm_logstat_opts *opts)
{
	struct mm_logstat *ls = xcalloc(1, sizeof *ls);
	ls->o = *opts;
	if (!ls->o.max_inflight)
		ls->o.max_inflight = 262144;
	if (!ls->o.max_destinations)
		ls->o.max_destinations = 4096;
	if (!ls->o.distinct_cap)
		ls->o.distinct_cap = 1000000;
	if (!ls->o.top)
		ls->o.top = 10;
	if (!ls->o.top_memory)
		ls->o.top_memory = (size_t)64 << 20;
	struct mm_lc_limits lim = {.max_inflight = ls->o.max_inflight, .max_rcpts = 0,
				   .max_age_ms = 0};
	ls->pipe = mm_logpipe_new_anon(&lim, 256, ls->o.parser);
	mm_distinct_init(&ls->senders, ls->o.distinct_cap);
	mm_distinct_init(&ls->sending_hosts, ls->o.distinct_cap);
	mm_distinct_init(&ls->recipients, ls->o.distinct_cap);
	mm_distinct_init(&ls->recipient_hosts, ls->o.distinct_cap);
	/* Deferred messages must match pflogsumm exactly: a larger cap. */
	mm_distinct_init(&ls->deferred_qids, (size_t)ls->o.distinct_cap * 4);
	uint32_t slots = 64;
	while (slots < 2 * ls->o.max_destinations)
		slots <<= 1;
	ls->dindex = xcalloc(slots, sizeof *ls->dindex);
	ls->dmask = slots - 1;
	ls->budget.cap = ls->o.top_memory;
	mm_tally_init(&ls->reject_reasons, &ls->budget, APPROX_SLOTS);
	mm_tally_init(&ls->reject_clients, &ls->budget, APPROX_SLOTS);
	mm_tally_init(&ls->warnings, &ls->budget, APPROX_SLOTS);
	mm_tally_init(&ls->unparsed_programs, &ls->budget, APPROX_SLOTS);
	mm_tally_init(&ls->auth_clients, &ls->budget, APPROX_SLOTS);
	mm_filterhop_init(&ls->hops);
	ls->nohdr_cause = "(no header)";
	mm_tally_init(&ls->postscreen, &ls->budget, APPROX_SLOTS_PER_DEST);
	mm_tally_init(&ls->dv.by_protocol, &ls->budget, APPROX_SLOTS_PER_DEST);
	mm_tally_init(&ls->dv.failed_users, &ls->budget, APPROX_SLOTS);
	mm_tally_init(&ls->dv.failed_ips, &ls->budget, APPROX_SLOTS);
	ls->hour_lo = ls->hour_hi = 0;
	return ls;
}

void mm_logstat_free(struct mm_logstat *ls)
{
	if (!ls)
		return;
	mm_logpipe_free(ls->pipe);
	mm_distinct_free(&ls->senders);
	mm_distinct_free(&ls->sending_hosts);
	mm_distinct_free(&ls->recipients);
	mm_distinct_free(&ls->recipient_hosts);
	mm_distinct_free(&ls->deferred_qids);
	for (size_t i = 0; i < ls->ndests; i++) {
		mm_tally_free(&ls->dests[i].defer_reasons);
		mm_tally_free(&ls->dests[i].bounce_reasons);
	}
	free(ls->dests);
	free(ls->dindex);
	free(ls->days);
	mm_tally_free(&ls->reject_reasons);
	mm_tally_free(&ls->reject_clients);
	mm_tally_free(&ls->warnings);
	mm_tally_free(&ls->unparsed_programs);
	mm_tally_free(&ls->auth_clients);
	mm_filterhop_free(&ls->hops);
	mm_tally_free(&ls->postscreen);
	mm_tally_free(&ls->dv.by_protocol);
	mm_tally_free(&ls->dv.failed_users);
	mm_tally_free(&ls->dv.failed_ips);
	free(ls);
}

static struct mm_sv domain_of(struct mm_sv a)
{
	const char *at = a.len ? memchr(a.p, '@', a.len) : NULL;
	if (!at)
		return a;
	struct mm_sv d = {at + 1, (uint32_t)(a.len - (size_t)(at + 1 - a.p))};
	return d;
}

/* A domain lower-cased into name (cut at DEST_NAME_MAX - 1, "(none)" when
 * empty) and its hash: the one key for the destination table and the
 * distinct domain counts. */
struct domkey {
	char name[DEST_NAME_MAX];
	size_t n;
	uint64_t h;
};

static void dom_key(struct mm_sv dom, struct domkey *k)
{
	size_t n = dom.len < DEST_NAME_MAX - 1 ? dom.len : DEST_NAME_MAX - 1;
	for (size_t i = 0; i < n; i++) {
		char c = dom.p[i];
		k->name[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	if (n == 0) {
		memcpy(k->name, "(none)", 6);
		n = 6;
	}
	k->name[n] = 0;
	k->n = n;
	k->h = mm_hash64(k->name, n);
}

/* pflogsumm lowercases the domain part of an address, not the local part. */
static uint64_t addr_hash(struct mm_sv a, const struct domkey *dk)
{
	const char *at = a.len ? memchr(a.p, '@', a.len) : NULL;
	if (!at)
		return mm_hash64(a.p, a.len);
	return mm_hash64(a.p, (size_t)(at - a.p)) * 31 ^ dk->h;
}

static struct dest *dest_get(struct mm_logstat *ls, const struct domkey *k)
{
	const char *name = k->name;
	size_t n = k->n;
	uint64_t h = k->h;
	uint32_t s = (uint32_t)h & ls->dmask;
	for (;;) {
		uint32_t i1 = ls->dindex[s];
		if (!i1)
			break;
		struct dest *d = &ls->dests[i1 - 1];
		if (d->hash == h && strcmp(d->name, name) == 0)
			return d;
		s = (s + 1) & ls->dmask;
	}
	if (ls->ndests >= ls->o.max_destinations - 1) {
		/* Full: the last slot is "(other)", made on first overflow. */
		ls->dests_overflow++;
		if (ls->ndests == ls->o.max_destinations)
			return &ls->dests[ls->ndests - 1];
		name = "(other)";
		n = 7;
		h = mm_hash64(name, n) ^ 1; /* never found by a real "(other)" domain */
		s = (uint32_t)h & ls->dmask;
		while (ls->dindex[s])
			s = (s + 1) & ls->dmask;
	}
	ls->dests = xgrow(ls->dests, &ls->dests_cap, ls->ndests + 1, sizeof *ls->dests);
	struct dest *d = &ls->dests[ls->ndests++];
	memset(d, 0, sizeof *d);
	memcpy(d->name, name, n);
	d->name[n] = 0;
	d->hash = h;
	mm_tally_init(&d->defer_reasons, &ls->budget, APPROX_SLOTS_PER_DEST);
	mm_tally_init(&d->bounce_reasons, &ls->budget, APPROX_SLOTS_PER_DEST);
	ls->dindex[s] = (uint32_t)ls->ndests;
	return d;
}

/* Per-day and per-hour rows follow the log's local time. The local hour
 * is cached, so localtime_r runs once per hour of log, not per line. */
static void time_row_add(struct mm_logstat *ls, int64_t ms, int col, int64_t delta);

static void time_row(struct mm_logstat *ls, int64_t ms, int col)
{
	time_row_add(ls, ms, col, 1);
}

static void time_row_add(struct mm_logstat *ls, int64_t ms, int col, int64_t delta)
{
	if (ms <= 0)
		return;
	if (ms < ls->hour_lo || ms >= ls->hour_hi) {
		time_t t = (time_t)(ms / 1000);
		struct tm tm;
		localtime_r(&t, &tm);
		ls->cur_hour = tm.tm_hour;
		ls->cur_ymd = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
		int64_t into = (int64_t)tm.tm_min * 60000 + (int64_t)tm.tm_sec * 1000 + ms % 1000;
		ls->hour_lo = ms - into;
		ls->hour_hi = ls->hour_lo + 3600000;
		if (ls->day_cur >= ls->ndays || ls->days[ls->day_cur].ymd != ls->cur_ymd) {
			size_t i;
			for (i = 0; i < ls->ndays; i++)
				if (ls->days[i].ymd == ls->cur_ymd)
					break;
			if (i == ls->ndays) {
				if (ls->ndays >= MAX_DAYS) {
					i = ls->ndays - 1; /* beyond ten years: the last row */
				} else {
					ls->days = xgrow(ls->days, &ls->days_cap, ls->ndays + 1,
							 sizeof *ls->days);
					memset(&ls->days[ls->ndays], 0, sizeof *ls->days);
					ls->days[ls->ndays].ymd = ls->cur_ymd;
					i = ls->ndays++;
				}
			}
			ls->day_cur = i;
		}
	}
	ls->hours[ls->cur_hour][col] += (uint64_t)delta;
	ls->days[ls->day_cur].c[col] += (uint64_t)delta;
}

static bool sv_has(struct mm_sv s, const char *needle)
{
	return s.len && mm_memfind(s.p, s.len, needle, strlen(needle)) != NULL;
}

/* A reason's group key (logs/reason.h) into a tally. The same raw text
 * comes back again and again (every deferral to a dead destination), so
 * the last keys are remembered by the raw text's hash: a hit costs one
 * hash and one compare instead of the grouping pass. */
static void add_reason(struct mm_logstat *ls, struct mm_tally *t, struct mm_sv why)
{
	if (!why.p)
		why.len = 0;
	/* the refused address in front differs per line: drop it before the
	 * memo, as the grouping would (logs/reason.h) */
	if (why.len > 2 && why.p[0] == '<') {
		const char *e = mm_memfind(why.p, why.len < 1024 ? why.len : 1024, ">: ", 3);
		if (e) {
			why.len -= (uint32_t)(e + 3 - why.p);
			why.p = e + 3;
		}
	}
	if (why.len <= REASON_MEMO_RAW) {
		uint64_t h = mm_hash64(why.p ? why.p : "", why.len);
		struct reason_memo *m = &ls->memo[h & (REASON_MEMO - 1)];
		if (m->used && m->hash == h && m->raw_len == why.len &&
		    memcmp(m->raw, why.p, why.len) == 0) {
			mm_tally_add(t, m->key, m->key_len, 1);
			return;
		}
		m->key_len = (uint16_t)mm_reason_group(why.p, why.len, m->key, sizeof m->key);
		if (why.len)
			memcpy(m->raw, why.p, why.len);
		m->raw_len = (uint16_t)why.len;
		m->hash = h;
		m->used = true;
		mm_tally_add(t, m->key, m->key_len, 1);
		return;
	}
	char key[MM_TALLY_KEY];
	size_t n = mm_reason_group(why.p, why.len, key, sizeof key);
	mm_tally_add(t, key, n, 1);
}

static bool is_login_process(const struct mm_log_event *ev)
{
	return ev->service.len > 6 &&
	       memcmp(ev->service.p + ev->service.len - 6, "-login", 6) == 0;
}

static bool is_postscreen(struct mm_sv service)
{
	return service.len == 10 && memcmp(service.p, "postscreen", 10) == 0;
}

static bool is_smtpd_like(struct mm_sv service)
{
	return (service.len == 5 && memcmp(service.p, "smtpd", 5) == 0) ||
	       (service.len == 10 && memcmp(service.p, "postscreen", 10) == 0);
}

/* dk and ah (the recipient's address hash) were computed before the
 * lifecycle ran, so the recipient-set slot was prefetched meanwhile. */
static void on_delivery(struct mm_logstat *ls, const struct mm_log_event *ev,
			const struct mm_lc_change *c, const struct domkey *pdk, uint64_t ah)
{
	const struct domkey dk = *pdk;
	struct dest *d;
	switch (ev->status) {
	case MM_DS_SENT:
		if (sv_has(ev->reason, "forwarded as ")) {
			ls->t.forwarded++;
			return;
		}
		{
			/* a hop through a content filter: the message counts once
			 * received (its re-injection is taken back) and is delivered
			 * by its final delivery, not by this one */
			int64_t at;
			uint64_t size;
			if (mm_filterhop_match(&ls->hops, ev->reason, &at, &size)) {
				ls->t.filter_hops++;
				ls->t.received--;
				ls->t.bytes_received -= size <= ls->t.bytes_received ? size : 0;
				time_row_add(ls, at, R_RCV, -1);
				return;
			}
		}
		ls->t.delivered++;
		time_row(ls, ev->time_ms, R_DLV);
		ls->t.bytes_delivered += c->size;
		mm_distinct_add(&ls->recipient_hosts, dk.h);
		d = dest_get(ls, &dk);
		mm_distinct_add(&ls->recipients, ah);
		d->delivered++;
		d->bytes += c->size;
		d->delay_sum += ev->delay;
		if (ev->delay > d->delay_max)
			d->delay_max = ev->delay;
		mm_histo_add(&d->histo, ev->delay > 0 ? (uint64_t)(ev->delay * 1000.0 + 0.5) : 0);
		break;
	case MM_DS_DEFERRED:
	case MM_DS_DEFERRED_FIRST:
		ls->t.deferrals++;
		time_row(ls, ev->time_ms, R_DFR);
		{
			uint64_t h = mm_hash64(ev->queue_id.p, ev->queue_id.len);
			if (!mm_distinct_exact(&ls->deferred_qids)) {
				/* Past the cap: the lifecycle's first-deferral flag. */
				if (c->msg_first_deferral)
					ls->t.deferred++;
				mm_distinct_add(&ls->deferred_qids, h);
			} else if (mm_distinct_add(&ls->deferred_qids, h)) {
				ls->t.deferred++;
			}
		}
		d = dest_get(ls, &dk);
		d->deferrals++;
		if (ev->delay > d->delay_max)
			d->delay_max = ev->delay;
		add_reason(ls, &d->defer_reasons, ev->reason);
		break;
	case MM_DS_BOUNCED:
		ls->t.bounced++;
		time_row(ls, ev->time_ms, R_BNC);
		d = dest_get(ls, &dk);
		d->bounced++;
		add_reason(ls, &d->bounce_reasons, ev->reason);
		break;
	case MM_DS_EXPIRED:
		/* A recipient line with status=expired: pflogsumm counts none. */
		break;
	case MM_DS_NONE:
		break;
	}
}

/* "name[ip]" of the event's client into a tally, built without printf
 * (one per reject line). Nothing when the event names no client. */
static void add_client(struct mm_tally *t, const struct mm_log_event *ev)
{
	if (!ev->client_ip.len && !ev->client_name.len)
		return;
	char key[MM_TALLY_KEY];
	size_t n, cap = sizeof key;
	size_t a = ev->client_name.len < cap - 3 ? ev->client_name.len : cap - 3;
	if (a)
		memcpy(key, ev->client_name.p, a);
	n = a;
	key[n++] = '[';
	size_t b = ev->client_ip.len < cap - 2 - n ? ev->client_ip.len : cap - 2 - n;
	if (b)
		memcpy(key + n, ev->client_ip.p, b);
	n += b;
	key[n++] = ']';
	mm_tally_add(t, key, n, 1);
}

static void on_reject(struct mm_logstat *ls, const struct mm_log_event *ev)
{
	add_reason(ls, &ls->reject_reasons, ev->reason);
	add_client(&ls->reject_clients, ev);
}

void mm_logstat_event(struct mm_logstat *ls, const struct mm_log_event *ev)
{
	struct mm_lc_change c;
	ls->t.lines++;
	if (ev->time_ms > 0) {
		if (!ls->first_ms || ev->time_ms < ls->first_ms)
			ls->first_ms = ev->time_ms;
		if (ev->time_ms > ls->last_ms)
			ls->last_ms = ev->time_ms;
	}
	struct domkey dk;
	uint64_t ah = 0;
	if (ev->type == MM_EV_DELIVERY) {
		struct mm_sv dom = domain_of(ev->addr);
		if (dom.len > DEST_NAME_MAX - 1)
			ls->domains_cut++;
		dom_key(dom, &dk);
		if (ev->status == MM_DS_SENT) {
			ah = addr_hash(ev->addr, &dk);
			/* the recipient set is big: start loading its slot now */
			mm_distinct_prefetch(&ls->recipients, ah);
		}
	}
	mm_logpipe_event(ls->pipe, ev, &c);
	switch (ev->type) {
	case MM_EV_UNPARSED:
		ls->t.unparsed_lines++;
		if (ev->program.p)
			mm_tally_add(&ls->unparsed_programs, ev->program.p, ev->program.len, 1);
		else
			mm_tally_add(&ls->unparsed_programs, ls->nohdr_cause,
				     strlen(ls->nohdr_cause), 1);
		ls->nohdr_cause = "(no header)";
		break;
	case MM_EV_CLIENT:
		if (!is_smtpd_like(ev->service))
			break;
		if (mm_filterhop_loopback(ev->client_ip))
			mm_filterhop_received(&ls->hops, ev->queue_id, ev->time_ms);
		/* fall through */
	case MM_EV_PICKUP:
		ls->t.received++;
		time_row(ls, ev->time_ms, R_RCV);
		break;
	case MM_EV_QUEUED:
		if (ev->flags & MM_EVF_ARRIVAL) { /* Exim "<=": eximstats' Received */
			ls->t.received++;
			time_row(ls, ev->time_ms, R_RCV);
		}
		/* pflogsumm: size and sender of messages received in this log. */
		if (c.queued_first && c.msg && (c.msg->flags & (MM_LCF_SMTPD | MM_LCF_PICKUP))) {
			ls->t.bytes_received += ev->size;
			mm_filterhop_size(&ls->hops, ev->queue_id, ev->size);
			struct mm_sv a = ev->addr;
			if (!a.len) {
				a.p = "from=<>";
				a.len = 7;
			}
			struct domkey sk;
			dom_key(domain_of(a), &sk);
			mm_distinct_add(&ls->senders, addr_hash(a, &sk));
			mm_distinct_add(&ls->sending_hosts, sk.h);
		}
		break;
	case MM_EV_DELIVERY:
		on_delivery(ls, ev, &c, &dk, ah);
		break;
	case MM_EV_EXPIRED:
		ls->t.expired++;
		break;
	case MM_EV_REJECT:
		ls->t.rejected++;
		time_row(ls, ev->time_ms, R_REJ);
		on_reject(ls, ev);
		break;
	case MM_EV_REJECT_WARN:
		ls->t.reject_warnings++;
		time_row(ls, ev->time_ms, R_REJ);
		break;
	case MM_EV_HOLD:
		ls->t.held++;
		time_row(ls, ev->time_ms, R_REJ);
		break;
	case MM_EV_DISCARD:
		ls->t.discarded++;
		time_row(ls, ev->time_ms, R_REJ);
		break;
	case MM_EV_AUTH_FAIL:
		/* SMTP AUTH failures (Postfix smtpd SASL, Exim authenticators);
		 * Dovecot's are in the login section */
		if (ev->source == MM_SRC_POSTFIX || ev->source == MM_SRC_EXIM) {
			ls->t.auth_failures++;
			add_client(&ls->auth_clients, ev);
		} else if (ev->source == MM_SRC_DOVECOT && is_login_process(ev)) {
			/* one line per connection, with its attempt count; the
			 * auth process's per-attempt lines are not counted again */
			ls->dv.failed_connections++;
			ls->dv.failed_attempts += ev->conn_count ? ev->conn_count : 1;
			mm_tally_add(&ls->dv.failed_users, ev->addr.p, ev->addr.len, 1);
			mm_tally_add(&ls->dv.failed_ips, ev->client_ip.p, ev->client_ip.len, 1);
		}
		break;
	case MM_EV_IGNORED:
		if (ev->source == MM_SRC_POSTFIX && ev->code.len && is_postscreen(ev->service))
			mm_tally_add(&ls->postscreen, ev->code.p, ev->code.len, 1);
		break;
	case MM_EV_LOGIN:
		ls->dv.logins++;
		mm_tally_add(&ls->dv.by_protocol, ev->channel.p, ev->channel.len, 1);
		break;
	case MM_EV_LOGIN_ABORT:
		ls->dv.aborted++;
		break;
	case MM_EV_LMTP_SAVED:
		ls->dv.lmtp_saved++;
		break;
	case MM_EV_ERROR:
		if (ev->source == MM_SRC_DOVECOT && ev->message_id.len)
			ls->dv.lmtp_failed++; /* lmtp/lda "save failed" */
		break;
	case MM_EV_WARNING: {
		char key[MM_TALLY_KEY];
		int n = snprintf(key, sizeof key, "%.*s: %.*s", (int)ev->service.len,
				 ev->service.p ? ev->service.p : "", (int)ev->reason.len,
				 ev->reason.p ? ev->reason.p : "");
		mm_tally_add(&ls->warnings, key,
			    n < 0 ? 0 : (size_t)n < sizeof key ? (size_t)n : sizeof key - 1, 1);
		break;
	}
	default:
		break;
	}
}

/* Why a line has no usable header, for "Lines not understood": no text,
 * a time stamp that is not one of the known forms, or a known stamp with
 * no program tag after it. */
static const char *header_cause(const char *line, size_t len)
{
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len)
		return "(no header: empty line)";
	const char *p = line + i;
	size_t n = len - i;
	if (p[0] == '<') { /* <PRI> */
		while (n && *p != '>') {
			p++;
			n--;
		}
		if (n) {
			p++;
			n--;
		}
	}
	bool stamp = (n > 4 && p[0] >= '0' && p[0] <= '9' && p[4] == '-') ||
		     (n > 4 && p[0] == '@') ||
		     (n > 4 && p[3] == ' ' && mm_month_from_abbr(p) != 0);
	return stamp ? "(no header: no program tag, or a bad time stamp)"
		     : "(no header: unknown time stamp)";
}

void mm_logstat_line(struct mm_logstat *ls, const char *line, size_t len)
{
	struct mm_log_event ev;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	ls->o.parser->parse(line, len, ls->o.year_hint, &ev);
	if (ev.type == MM_EV_UNPARSED && !ev.program.p)
		ls->nohdr_cause = header_cause(line, len);
	mm_logstat_event(ls, &ev);
}

void mm_logstat_note_capped(struct mm_logstat *ls, uint64_t n)
{
	ls->capped_lines += n;
}

void mm_logstat_get_totals(const struct mm_logstat *ls, struct mm_logstat_totals *out)
{
	*out = ls->t;
	out->senders = mm_distinct_count(&ls->senders);
	out->sending_hosts = mm_distinct_count(&ls->sending_hosts);
	out->recipients = mm_distinct_count(&ls->recipients);
	out->recipient_hosts = mm_distinct_count(&ls->recipient_hosts);
}

/* ---- rendering ---- */

/* A JSON string of a key from the log: invalid UTF-8 bytes become '?'. */
static json_t *key_json(const char *p, size_t len)
{
	json_t *j = json_stringn(p, len);
	if (j)
		return j;
	char buf[MM_TALLY_KEY];
	size_t n = len < sizeof buf ? len : sizeof buf - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)p[i] >= 0x80 ? '?' : p[i];
	return json_stringn(buf, n);
}

static json_t *top_json(const struct mm_tally *t, size_t k)
{
	struct mm_tally_row rows[k ? k : 1];
	size_t n = mm_tally_top(t, rows, k);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "key", key_json(rows[i].key, rows[i].len));
		json_object_set_new(o, "count", json_integer((json_int_t)rows[i].count));
		json_object_set_new(o, "max_overcount", json_integer((json_int_t)rows[i].err));
		json_array_append_new(a, o);
	}
	return a;
}

/* How a top table was counted, for the JSON's "top_tables". */
static json_t *top_info_json(const struct mm_tally *t)
{
	return json_pack("{s:b, s:I, s:I, s:I}", "exact", mm_tally_exact(t), "keys",
			 (json_int_t)mm_tally_size(t), "total", (json_int_t)t->total,
			 "unlisted_max", (json_int_t)mm_tally_min_bound(t));
}

static int by_dest_volume(const void *a, const void *b)
{
	const struct dest *x = a, *y = b;
	uint64_t vx = x->delivered + x->deferrals + x->bounced;
	uint64_t vy = y->delivered + y->deferrals + y->bounced;
	if (vx != vy)
		return vx < vy ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Sorting moves dests, so the index is rebuilt afterwards. */
static void sort_dests(struct mm_logstat *ls)
{
	if (ls->ndests)
		qsort(ls->dests, ls->ndests, sizeof *ls->dests, by_dest_volume);
	memset(ls->dindex, 0, ((size_t)ls->dmask + 1) * sizeof *ls->dindex);
	for (size_t i = 0; i < ls->ndests; i++) {
		uint32_t s = (uint32_t)ls->dests[i].hash & ls->dmask;
		while (ls->dindex[s])
			s = (s + 1) & ls->dmask;
		ls->dindex[s] = (uint32_t)i + 1;
	}
}

static json_t *row_json(const uint64_t *c)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "received", (json_int_t)c[R_RCV],
			 "delivered", (json_int_t)c[R_DLV], "deferrals", (json_int_t)c[R_DFR],
			 "bounced", (json_int_t)c[R_BNC], "rejected", (json_int_t)c[R_REJ]);
}

static json_t *channels_json(struct mm_logstat *ls)
{
	struct mm_cfile *cf = mm_logpipe_cfile(ls->pipe);
	json_t *a = json_array();
	uint32_t n = mm_cfile_ngroups(cf);
	for (uint32_t i = 0; i < n; i++) {
		struct mm_cg_snapshot s;
		if (mm_cg_read(cf, i, &s) < 0)
			continue;
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(s.name));
		for (int f = 0; f < MM_CG__COUNT; f++)
			json_object_set_new(o, mm_cg_field_names[f], json_integer(s.v[f]));
		json_object_set_new(o, "last_reject", json_string(s.last_reject));
		json_object_set_new(o, "last_connect_failure", json_string(s.last_connfail));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *mm_logstat_json(struct mm_logstat *ls)
{
	struct mm_logstat_totals t;
	mm_logstat_get_totals(ls, &t);
	json_t *totals = json_object();
#define T(k) json_object_set_new(totals, #k, json_integer((json_int_t)t.k))
	T(received); T(delivered); T(forwarded); T(deferred); T(deferrals); T(bounced);
	T(rejected); T(reject_warnings); T(held); T(discarded); T(expired);
	T(bytes_received); T(bytes_delivered); T(senders); T(sending_hosts); T(recipients);
	T(recipient_hosts); T(auth_failures); T(filter_hops); T(lines); T(unparsed_lines);
#undef T
	json_t *exact = json_pack("{s:b, s:b, s:b, s:b, s:b}", "senders",
				  mm_distinct_exact(&ls->senders), "sending_hosts",
				  mm_distinct_exact(&ls->sending_hosts), "recipients",
				  mm_distinct_exact(&ls->recipients), "recipient_hosts",
				  mm_distinct_exact(&ls->recipient_hosts), "deferred",
				  mm_distinct_exact(&ls->deferred_qids));
	json_object_set_new(exact, "rejects_by_reason",
			    json_boolean(mm_tally_exact(&ls->reject_reasons)));
	json_object_set_new(exact, "rejects_by_client",
			    json_boolean(mm_tally_exact(&ls->reject_clients)));
	json_object_set_new(exact, "warnings", json_boolean(mm_tally_exact(&ls->warnings)));
	json_t *days = json_array();
	for (size_t i = 0; i < ls->ndays; i++) {
		char d[16];
		snprintf(d, sizeof d, "%04d-%02d-%02d", ls->days[i].ymd / 10000,
			 ls->days[i].ymd / 100 % 100, ls->days[i].ymd % 100);
		json_t *o = row_json(ls->days[i].c);
		json_object_set_new(o, "date", json_string(d));
		json_array_append_new(days, o);
	}
	json_t *hours = json_array();
	for (int h = 0; h < 24; h++) {
		json_t *o = row_json(ls->hours[h]);
		json_object_set_new(o, "hour", json_integer(h));
		json_array_append_new(hours, o);
	}
	sort_dests(ls);
	json_t *dests = json_array();
	bool dest_reasons_exact = true;
	for (size_t i = 0; i < ls->ndests; i++) {
		struct dest *d = &ls->dests[i];
		json_t *o = json_pack(
			"{s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f}", "domain", d->name,
			"delivered", (json_int_t)d->delivered, "bytes", (json_int_t)d->bytes,
			"deferrals", (json_int_t)d->deferrals, "bounced", (json_int_t)d->bounced,
			"delay_avg", d->delivered ? d->delay_sum / (double)d->delivered : 0.0,
			"delay_max", d->delay_max, "delay_p50",
			(double)mm_histo_quantile(&d->histo, 0.50) / 1000.0, "delay_p90",
			(double)mm_histo_quantile(&d->histo, 0.90) / 1000.0, "delay_p99",
			(double)mm_histo_quantile(&d->histo, 0.99) / 1000.0);
		json_object_set_new(o, "top_deferral_reasons",
				    top_json(&d->defer_reasons, TOP_PER_DEST));
		json_object_set_new(o, "top_bounce_reasons",
				    top_json(&d->bounce_reasons, TOP_PER_DEST));
		json_object_set_new(o, "reasons_exact",
				    json_boolean(mm_tally_exact(&d->defer_reasons) &&
						 mm_tally_exact(&d->bounce_reasons)));
		if (!mm_tally_exact(&d->defer_reasons) || !mm_tally_exact(&d->bounce_reasons))
			dest_reasons_exact = false;
		json_array_append_new(dests, o);
	}
	json_object_set_new(exact, "destination_reasons", json_boolean(dest_reasons_exact));
	struct mm_logpipe_stats ps;
	mm_logpipe_get_stats(ls->pipe, &ps);
	uint64_t cut = ls->domains_cut + ps.lc.truncated + ls->reject_reasons.truncated +
		       ls->reject_clients.truncated + ls->warnings.truncated +
		       ls->unparsed_programs.truncated + ls->auth_clients.truncated;
	for (size_t i = 0; i < ls->ndests; i++)
		cut += ls->dests[i].defer_reasons.truncated + ls->dests[i].bounce_reasons.truncated;
	json_t *limits = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "texts_truncated",
				   (json_int_t)cut, "inflight_peak",
				   (json_int_t)ps.lc.peak_inflight, "inflight_evicted",
				   (json_int_t)(ps.lc.evicted_full + ps.lc.evicted_age),
				   "inflight_left", (json_int_t)ps.lc.inflight,
				   "destinations_overflow", (json_int_t)ls->dests_overflow,
				   "capped_lines", (json_int_t)ls->capped_lines, "queue_id_too_long",
				   (json_int_t)ps.lc.qid_too_long);
	json_t *doc = json_object();
	json_object_set_new(doc, "totals", totals);
	json_object_set_new(doc, "exact", exact);
	json_object_set_new(doc, "first_ms", json_integer(ls->first_ms));
	json_object_set_new(doc, "last_ms", json_integer(ls->last_ms));
	json_object_set_new(doc, "per_day", days);
	json_object_set_new(doc, "per_hour", hours);
	json_object_set_new(doc, "destinations", dests);
	json_object_set_new(doc, "rejects_by_reason", top_json(&ls->reject_reasons, ls->o.top));
	json_object_set_new(doc, "rejects_by_client", top_json(&ls->reject_clients, ls->o.top));
	json_object_set_new(doc, "warnings", top_json(&ls->warnings, ls->o.top));
	json_object_set_new(doc, "auth_failures_by_client", top_json(&ls->auth_clients, ls->o.top));
	json_object_set_new(doc, "postscreen_verdicts", top_json(&ls->postscreen, 32));
	json_object_set_new(doc, "unparsed_by_program",
			    top_json(&ls->unparsed_programs, ls->o.top));
	json_t *tops = json_object();
	json_object_set_new(tops, "rejects_by_reason", top_info_json(&ls->reject_reasons));
	json_object_set_new(tops, "rejects_by_client", top_info_json(&ls->reject_clients));
	json_object_set_new(tops, "warnings", top_info_json(&ls->warnings));
	json_object_set_new(tops, "auth_failures_by_client", top_info_json(&ls->auth_clients));
	json_object_set_new(tops, "unparsed_by_program", top_info_json(&ls->unparsed_programs));
	json_object_set_new(tops, "memory_cap", json_integer((json_int_t)ls->budget.cap));
	json_object_set_new(tops, "memory_used", json_integer((json_int_t)ls->budget.used));
	json_object_set_new(doc, "top_tables", tops);
	json_t *lg = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "logins",
			       (json_int_t)ls->dv.logins, "failed_attempts",
			       (json_int_t)ls->dv.failed_attempts, "failed_connections",
			       (json_int_t)ls->dv.failed_connections, "aborted",
			       (json_int_t)ls->dv.aborted, "lmtp_saved",
			       (json_int_t)ls->dv.lmtp_saved, "lmtp_failed",
			       (json_int_t)ls->dv.lmtp_failed);
	json_object_set_new(lg, "by_protocol", top_json(&ls->dv.by_protocol, 16));
	json_object_set_new(lg, "failed_by_user", top_json(&ls->dv.failed_users, ls->o.top));
	json_object_set_new(lg, "failed_by_ip", top_json(&ls->dv.failed_ips, ls->o.top));
	json_object_set_new(doc, "logins", lg);
	json_object_set_new(doc, "channels", channels_json(ls));
	json_object_set_new(doc, "limits", limits);
	return doc;
}

/* A top table; in approximate mode each count is "~upper bound (±err)"
 * and the title says what that means. */
static void print_top(FILE *out, const char *title, const struct mm_tally *t, size_t k)
{
	bool exact = mm_tally_exact(t);
	char line[256];
	int n = snprintf(line, sizeof line, "%s%s", title,
			 exact ? "" : " (approximate: ~N is an upper bound, at most err above the true count)");
	fprintf(out, "\n%s\n%.*s\n", line, n < 0 ? 0 : n,
		"----------------------------------------------------------------------------"
		"----------------------------------------------------------------------------");
	struct mm_tally_row rows[k ? k : 1];
	size_t got = mm_tally_top(t, rows, k);
	if (!got)
		fprintf(out, "  none\n");
	for (size_t i = 0; i < got; i++) {
		if (exact)
			fprintf(out, "  %8llu  %.*s\n", (unsigned long long)rows[i].count,
				(int)rows[i].len, rows[i].key);
		else
			fprintf(out, " ~%8llu  err<=%-8llu  %.*s\n", (unsigned long long)rows[i].count,
				(unsigned long long)rows[i].err, (int)rows[i].len, rows[i].key);
	}
	if (!exact && mm_tally_min_bound(t))
		fprintf(out, "  (any key not listed: at most %llu)\n",
			(unsigned long long)mm_tally_min_bound(t));
}

/* Dovecot's logins, when the log has any. */
static void print_logins(struct mm_logstat *ls, FILE *out)
{
	fprintf(out, "Logins (Dovecot login processes)\n--------------------------------\n");
	fprintf(out, " %8llu   successful logins\n", (unsigned long long)ls->dv.logins);
	fprintf(out, " %8llu   failed login attempts, in %llu connections\n",
		(unsigned long long)ls->dv.failed_attempts,
		(unsigned long long)ls->dv.failed_connections);
	fprintf(out, " %8llu   connections closed without a login\n",
		(unsigned long long)ls->dv.aborted);
	fprintf(out, " %8llu   LMTP/LDA deliveries saved, %llu failed\n",
		(unsigned long long)ls->dv.lmtp_saved, (unsigned long long)ls->dv.lmtp_failed);
	print_top(out, "Logins by protocol", &ls->dv.by_protocol, 16);
	print_top(out, "Failed logins by user", &ls->dv.failed_users, ls->o.top);
	print_top(out, "Failed logins by client address", &ls->dv.failed_ips, ls->o.top);
	fprintf(out, "\n");
}

void mm_logstat_text(struct mm_logstat *ls, FILE *out)
{
	struct mm_logstat_totals t;
	mm_logstat_get_totals(ls, &t);
	bool logins = ls->dv.logins || ls->dv.failed_connections || ls->dv.aborted ||
		      ls->dv.lmtp_saved;
	bool mail = t.received || t.delivered || t.deferrals || t.bounced || t.rejected ||
		    t.expired || t.held || t.auth_failures;
	if (logins)
		print_logins(ls, out);
	if (logins && !mail) {
		/* a Dovecot-only log: no all-zero mail report */
		fprintf(out, " %8llu   lines, %llu not understood\n", (unsigned long long)t.lines,
			(unsigned long long)t.unparsed_lines);
		if (ls->unparsed_programs.total)
			print_top(out, "Lines not understood, by program", &ls->unparsed_programs,
				  ls->o.top);
		return;
	}
	const char *about_s = mm_distinct_exact(&ls->senders) ? "" : " (estimate)";
	const char *about_r = mm_distinct_exact(&ls->recipients) ? "" : " (estimate)";
	fprintf(out, "Grand Totals\n------------\nmessages\n\n");
	fprintf(out, " %8llu   received\n", (unsigned long long)t.received);
	fprintf(out, " %8llu   delivered\n", (unsigned long long)t.delivered);
	fprintf(out, " %8llu   forwarded\n", (unsigned long long)t.forwarded);
	if (t.filter_hops)
		fprintf(out, " %8llu   content filter hops (counted once above)\n",
			(unsigned long long)t.filter_hops);
	fprintf(out, " %8llu   deferred  (%llu deferrals)\n", (unsigned long long)t.deferred,
		(unsigned long long)t.deferrals);
	fprintf(out, " %8llu   bounced\n", (unsigned long long)t.bounced);
	fprintf(out, " %8llu   rejected\n", (unsigned long long)t.rejected);
	fprintf(out, " %8llu   reject warnings\n", (unsigned long long)t.reject_warnings);
	fprintf(out, " %8llu   held\n", (unsigned long long)t.held);
	fprintf(out, " %8llu   discarded\n", (unsigned long long)t.discarded);
	fprintf(out, " %8llu   expired\n\n", (unsigned long long)t.expired);
	fprintf(out, " %8llu   bytes received\n", (unsigned long long)t.bytes_received);
	fprintf(out, " %8llu   bytes delivered\n", (unsigned long long)t.bytes_delivered);
	fprintf(out, " %8llu   senders%s\n", (unsigned long long)t.senders, about_s);
	fprintf(out, " %8llu   sending hosts/domains\n", (unsigned long long)t.sending_hosts);
	fprintf(out, " %8llu   recipients%s\n", (unsigned long long)t.recipients, about_r);
	fprintf(out, " %8llu   recipient hosts/domains\n\n",
		(unsigned long long)t.recipient_hosts);
	fprintf(out, " %8llu   SMTP AUTH failures\n\n", (unsigned long long)t.auth_failures);
	fprintf(out, " %8llu   lines, %llu not understood\n", (unsigned long long)t.lines,
		(unsigned long long)t.unparsed_lines);

	fprintf(out, "\nPer-Day Traffic Summary\n-----------------------\n");
	fprintf(out, "  %-10s %9s %9s %9s %9s %9s\n", "date", "received", "delivered",
		"deferred", "bounced", "rejected");
	for (size_t i = 0; i < ls->ndays; i++)
		fprintf(out, "  %04d-%02d-%02d %9llu %9llu %9llu %9llu %9llu\n",
			ls->days[i].ymd / 10000, ls->days[i].ymd / 100 % 100, ls->days[i].ymd % 100,
			(unsigned long long)ls->days[i].c[R_RCV],
			(unsigned long long)ls->days[i].c[R_DLV],
			(unsigned long long)ls->days[i].c[R_DFR],
			(unsigned long long)ls->days[i].c[R_BNC],
			(unsigned long long)ls->days[i].c[R_REJ]);
	fprintf(out, "\nPer-Hour Traffic Summary\n------------------------\n");
	fprintf(out, "  %-11s %9s %9s %9s %9s %9s\n", "time", "received", "delivered",
		"deferred", "bounced", "rejected");
	for (int h = 0; h < 24; h++)
		fprintf(out, "  %02d00-%02d00   %9llu %9llu %9llu %9llu %9llu\n", h, (h + 1) % 24,
			(unsigned long long)ls->hours[h][R_RCV],
			(unsigned long long)ls->hours[h][R_DLV],
			(unsigned long long)ls->hours[h][R_DFR],
			(unsigned long long)ls->hours[h][R_BNC],
			(unsigned long long)ls->hours[h][R_REJ]);

	sort_dests(ls);
	fprintf(out, "\nDelivery by destination\n-----------------------\n");
	fprintf(out, "  %-28s %8s %10s %6s %6s %8s %8s %8s %8s %8s\n", "domain", "sent",
		"bytes", "defers", "bounce", "avg(s)", "max(s)", "p50", "p90", "p99");
	for (size_t i = 0; i < ls->ndests; i++) {
		struct dest *d = &ls->dests[i];
		fprintf(out, "  %-28.28s %8llu %10llu %6llu %6llu %8.2f %8.1f %8.2f %8.2f %8.2f\n",
			d->name, (unsigned long long)d->delivered, (unsigned long long)d->bytes,
			(unsigned long long)d->deferrals, (unsigned long long)d->bounced,
			d->delivered ? d->delay_sum / (double)d->delivered : 0.0, d->delay_max,
			(double)mm_histo_quantile(&d->histo, 0.5) / 1000.0,
			(double)mm_histo_quantile(&d->histo, 0.9) / 1000.0,
			(double)mm_histo_quantile(&d->histo, 0.99) / 1000.0);
	}
	for (size_t i = 0; i < ls->ndests; i++) {
		struct dest *d = &ls->dests[i];
		if (d->defer_reasons.total) {
			char title[128];
			snprintf(title, sizeof title, "Deferral reasons: %s", d->name);
			print_top(out, title, &d->defer_reasons, TOP_PER_DEST);
		}
		if (d->bounce_reasons.total) {
			char title[128];
			snprintf(title, sizeof title, "Bounce reasons: %s", d->name);
			print_top(out, title, &d->bounce_reasons, TOP_PER_DEST);
		}
	}
	print_top(out, "Rejects by reason", &ls->reject_reasons, ls->o.top);
	print_top(out, "Rejects by client", &ls->reject_clients, ls->o.top);
	print_top(out, "Warnings", &ls->warnings, ls->o.top);
	if (ls->auth_clients.total)
		print_top(out, "SMTP AUTH failures by client", &ls->auth_clients, ls->o.top);
	if (ls->postscreen.total)
		print_top(out, "postscreen verdicts", &ls->postscreen, 32);
	if (ls->unparsed_programs.total)
		print_top(out, "Lines not understood, by program", &ls->unparsed_programs,
			  ls->o.top);

	struct mm_cfile *cf = mm_logpipe_cfile(ls->pipe);
	fprintf(out, "\nChannel counters\n----------------\n");
	fprintf(out, "  %-20s %9s %9s %9s %9s %9s %9s %9s %9s\n", "channel", "received", "stored",
		"delivered", "first", "submitted", "attempted", "rejected", "failed");
	for (uint32_t i = 0; i < mm_cfile_ngroups(cf); i++) {
		struct mm_cg_snapshot s;
		if (mm_cg_read(cf, i, &s) < 0)
			continue;
		fprintf(out, "  %-20.20s %9lld %9lld %9lld %9lld %9lld %9lld %9lld %9lld\n", s.name,
			(long long)s.v[MM_CG_RECEIVED], (long long)s.v[MM_CG_STORED],
			(long long)s.v[MM_CG_DELIVERED], (long long)s.v[MM_CG_DELIVERED_FIRST],
			(long long)s.v[MM_CG_SUBMITTED], (long long)s.v[MM_CG_ATTEMPTED],
			(long long)s.v[MM_CG_REJECTED], (long long)s.v[MM_CG_FAILED]);
	}
}

/*
 * logstat: the accounting of the one-shot log report (see logstat.h and
 * docs/logstat.md).
 *
 * The figures that must equal pflogsumm's are counted on the same events
 * pflogsumm counts: received = smtpd/postscreen "client=" + pickup
 * "uid=/sender="; deferred = distinct queue IDs with a status=deferred;
 * deferrals = status=deferred lines; bounced = status=bounced lines;
 * rejected = reject lines (smtpd, postscreen, cleanup).
 *
 * This file counts; the state lives in logstat_impl.h and the renderings
 * in logstat_json.c and logstat_text.c.
 */
#include "logs/logstat.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hash.h"
#include "core/strutil.h"
#include "core/xalloc.h"
#include "logs/logpipe.h"
#include "logs/logstat_impl.h"
#include "logs/reason.h"
#include "parsers/syslog_header.h"

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
void mm_logstat_sort_dests(struct mm_logstat *ls)
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

/*
 * logpipe: parse -> lifecycle -> channel counters (see logpipe.h).
 */
#include "logs/logpipe.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/xalloc.h"
#include "logs/filterhop.h"
#include "logs/logpipe_state.h"
#include "logs/progstat.h"
#include "parsers/parser.h"
#include "sources/consumer.h"

struct mm_logpipe {
	const struct mm_parser *parser;
	struct mm_lifecycle *lc;
	struct mm_channels *ch;
	struct mm_cfile *cf;
	char *path;		/* NULL: anonymous */
	uint32_t max_channels;
	int year_hint;
	int64_t last_line_mono; /* when the last line came (daemon), 0 none */
	struct mm_logpipe_stats st;
	struct mm_filterhop *hops; /* daemon pipes: content-filter hops */
	struct mm_progstat ps;	   /* lines per program, transports unavailable */
	char notice[768]; /* see mm_logpipe_take_notice */
	bool has_notice;
};

static void note_aside(struct mm_logpipe *lp, const char *aside)
{
	if (!aside[0])
		return;
	lp->st.cfile_recreated++;
	snprintf(lp->notice, sizeof lp->notice,
		 "counters file damaged: set aside as %s; a fresh one was made", aside);
	lp->has_notice = true;
}

const char *mm_logpipe_take_notice(struct mm_logpipe *lp)
{
	if (!lp->has_notice)
		return NULL;
	lp->has_notice = false;
	return lp->notice;
}

static const struct mm_parser *default_parser(void)
{
	return mm_parser_find("auto");
}

static int this_year(void)
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	return tm.tm_year + 1900;
}

static struct mm_logpipe *alloc_pipe(const struct mm_lc_limits *lim, const struct mm_parser *p)
{
	struct mm_logpipe *lp = xcalloc(1, sizeof *lp);
	lp->parser = p ? p : default_parser();
	lp->lc = mm_lc_new(lim);
	mm_progstat_init(&lp->ps);
	lp->year_hint = this_year();
	return lp;
}

struct mm_logpipe *mm_logpipe_new(const struct mm_config *conf, struct mm_err *err)
{
	struct mm_lc_limits lim = {
		.max_inflight = (uint32_t)mm_config_int(conf, "log", "max_inflight"),
		.max_rcpts = (uint32_t)mm_config_int(conf, "log", "max_recipients"),
		.max_age_ms = mm_config_duration_ms(conf, "log", "inflight_max_age"),
	};
	char *path = mm_cfile_path_from_config(conf);
	uint32_t maxch = (uint32_t)mm_config_int(conf, "counters", "max_channels");
	char aside[640];
	struct mm_cfile *cf = mm_cfile_open_or_recreate(path, maxch, aside, sizeof aside, err);
	if (!cf) {
		free(path);
		return NULL;
	}
	const char *fmt = mm_config_get(conf, "log", "format");
	const struct mm_parser *p = mm_parser_find(fmt ? fmt : "auto");
	struct mm_logpipe *lp = alloc_pipe(&lim, p);
	lp->cf = cf;
	lp->path = path;
	lp->max_channels = maxch;
	lp->ch = mm_channels_new(cf);
	lp->hops = xcalloc(1, sizeof *lp->hops);
	mm_filterhop_init(lp->hops);
	note_aside(lp, aside);
	return lp;
}

struct mm_logpipe *mm_logpipe_new_anon(const struct mm_lc_limits *lim, uint32_t max_channels,
				       const struct mm_parser *parser)
{
	struct mm_logpipe *lp = alloc_pipe(lim, parser);
	lp->cf = mm_cfile_anon(max_channels);
	lp->max_channels = max_channels;
	lp->ch = mm_channels_new(lp->cf);
	return lp;
}

void mm_logpipe_free(struct mm_logpipe *lp)
{
	if (!lp)
		return;
	mm_channels_free(lp->ch);
	if (lp->hops) {
		mm_filterhop_free(lp->hops);
		free(lp->hops);
	}
	mm_lc_free(lp->lc);
	mm_cfile_close(lp->cf);
	free(lp->path);
	free(lp);
}

/* Inbound events name the receiving service; deliveries the transport. */
static bool is_inbound(const struct mm_log_event *ev)
{
	return ev->type == MM_EV_CLIENT || ev->type == MM_EV_PICKUP ||
	       (ev->type == MM_EV_QUEUED && (ev->flags & MM_EVF_ARRIVAL));
}

/* A content-filter hop (filterhop.h): the daemon counts them on their
 * own; the channel counters already count each hop's two legs on their
 * own channels (the filter's smtp/lmtp and the re-injecting smtpd). */
static void count_hop(struct mm_logpipe *lp, const struct mm_log_event *ev)
{
	static const struct mm_sv smtpd = {"smtpd", 5}, postscreen = {"postscreen", 10};
	if (ev->type == MM_EV_CLIENT &&
	    ((ev->service.len == smtpd.len && memcmp(ev->service.p, smtpd.p, smtpd.len) == 0) ||
	     (ev->service.len == postscreen.len &&
	      memcmp(ev->service.p, postscreen.p, postscreen.len) == 0)) &&
	    mm_filterhop_loopback(ev->client_ip)) {
		mm_filterhop_received(lp->hops, ev->queue_id, ev->time_ms);
	} else if (ev->type == MM_EV_DELIVERY && ev->status == MM_DS_SENT) {
		int64_t at;
		uint64_t size;
		if (mm_filterhop_match(lp->hops, ev->reason, &at, &size))
			lp->st.filter_hops++;
	}
}

void mm_logpipe_event(struct mm_logpipe *lp, const struct mm_log_event *ev,
		      struct mm_lc_change *out)
{
	struct mm_lc_change local;
	struct mm_lc_change *c = out ? out : &local;
	uint16_t id = MM_LC_NO_CHAN;
	switch (ev->type) {
	case MM_EV_UNPARSED:
	case MM_EV_IGNORED:
		memset(c, 0, sizeof *c);
		return;
	case MM_EV_CONNECT:
	case MM_EV_DISCONNECT:
	case MM_EV_LOST:
	case MM_EV_REJECT:
	case MM_EV_CLIENT:
	case MM_EV_PICKUP:
	case MM_EV_DELIVERY:
	case MM_EV_CONN_FAIL:
	case MM_EV_LOGIN:
	case MM_EV_AUTH_FAIL:
	case MM_EV_LOGIN_ABORT:
		id = mm_channels_id_for(lp->ch, ev);
		break;
	case MM_EV_QUEUED:
		/* Postfix qmgr lines name no channel; MS E records and Exim
		 * arrivals ("<=", P= gives smtp or local) do. */
		if (ev->source == MM_SRC_MSGSRV || (ev->flags & MM_EVF_ARRIVAL))
			id = mm_channels_id_for(lp->ch, ev);
		break;
	default:
		break;
	}
	mm_lc_event(lp->lc, ev, is_inbound(ev) ? MM_LC_NO_CHAN : id,
		    is_inbound(ev) ? id : MM_LC_NO_CHAN, c);
	mm_channels_apply(lp->ch, ev, id, c);
	if (lp->hops)
		count_hop(lp, ev);
}

void mm_logpipe_line(struct mm_logpipe *lp, const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	struct mm_log_event ev;
	lp->parser->parse(line, len, lp->year_hint, &ev);
	lp->st.lines++;
	if (lp->path)
		lp->last_line_mono = mm_mono_ms(); /* a vDSO read; the daemon only */
	if (ev.type == MM_EV_UNPARSED)
		lp->st.unparsed++;
	mm_progstat_event(&lp->ps, &ev);
	mm_logpipe_event(lp, &ev, NULL);
}

void mm_logpipe_flush(struct mm_logpipe *lp)
{
	bool damaged = lp->path && mm_cfile_damaged(lp->cf);
	if (lp->path && (damaged || mm_cfile_replaced(lp->cf))) {
		/* -create or -delete ran: map the new file (or make one). A
		 * file truncated under us is set aside and made afresh;
		 * counting starts again in the new one, as after -create. */
		struct mm_err err;
		char aside[640] = "";
		if (damaged && !mm_cfile_replaced(lp->cf)) {
			char *moved = xasprintf("%s.damaged.%lld", lp->path,
						(long long)(mm_wall_ms() / 1000));
			if (rename(lp->path, moved) == 0)
				snprintf(aside, sizeof aside, "%s (truncated under mailmond)", moved);
			free(moved);
		}
		struct mm_cfile *cf = mm_cfile_open_or_recreate(lp->path, lp->max_channels,
								aside[0] ? NULL : aside,
								aside[0] ? 0 : sizeof aside, &err);
		note_aside(lp, aside);
		if (cf) {
			mm_cfile_close(lp->cf);
			lp->cf = cf;
			mm_channels_rebind(lp->ch, cf);
		} else {
			lp->st.reopen_failures++;
		}
	}
	mm_cfile_service(lp->cf);
	struct mm_lc_stats st;
	mm_lc_get_stats(lp->lc, &st);
	struct mm_cf_header *h = lp->cf->hdr;
	atomic_store_explicit(&h->lines, lp->st.lines, memory_order_relaxed);
	atomic_store_explicit(&h->unparsed, lp->st.unparsed, memory_order_relaxed);
	atomic_store_explicit(&h->inflight, st.inflight, memory_order_relaxed);
	atomic_store_explicit(&h->evicted_full, st.evicted_full, memory_order_relaxed);
	atomic_store_explicit(&h->evicted_age, st.evicted_age, memory_order_relaxed);
	atomic_store_explicit(&h->rcpts_dropped, st.rcpts_dropped, memory_order_relaxed);
	atomic_store_explicit(&h->truncated, st.truncated + mm_channels_truncated(lp->ch),
			      memory_order_relaxed);
	/* Expiry follows log time. While the log is quiet, log time is
	 * carried forward by the wall time since the last line, so idle
	 * messages still age out; a replayed old log is not expired by
	 * today's date. */
	if (lp->path && lp->last_line_mono && mm_lc_now(lp->lc) > 0)
		mm_lc_expire(lp->lc, mm_lc_now(lp->lc) + (mm_mono_ms() - lp->last_line_mono));
}

void mm_logpipe_get_stats(const struct mm_logpipe *lp, struct mm_logpipe_stats *out)
{
	*out = lp->st;
	mm_lc_get_stats(lp->lc, &out->lc);
}

struct mm_cfile *mm_logpipe_cfile(struct mm_logpipe *lp)
{
	return lp->cf;
}

void mm_logpipe_set_stored(struct mm_logpipe *lp, const struct mm_stored_msg *msgs, size_t n,
			   int64_t now_s)
{
	if (lp->cf)
		mm_channels_set_stored(lp->ch, lp->lc, msgs, n, now_s);
}

const struct mm_lifecycle *mm_logpipe_lifecycle(const struct mm_logpipe *lp)
{
	return lp->lc;
}

const struct mm_progstat *mm_logpipe_progstat(const struct mm_logpipe *lp)
{
	return &lp->ps;
}

/* ---- the log watcher's consumer ---- */

static void c_line(void *arg, unsigned src, const char *line, size_t len)
{
	mm_logpipe_line(arg, line, len);
}

/* The counters live in a shared mapping that survives our death; only a
 * machine crash loses them, and /run does not survive that anyway. So a
 * flush is the periodic housekeeping, not an msync. */
static int c_flush(void *arg, struct mm_err *err)
{
	mm_logpipe_flush(arg);
	return 0;
}

static char *c_checkpoint(void *arg)
{
	struct mm_logpipe *lp = arg;
	return mm_logpipe_state_encode(lp->cf, lp->ch, lp->lc);
}

static int c_restore(void *arg, const char *text, struct mm_err *err)
{
	struct mm_logpipe *lp = arg;
	return mm_logpipe_state_restore(text, lp->cf, lp->ch, lp->lc, err);
}

static void c_free(void *arg)
{
	mm_logpipe_free(arg);
}

void mm_logpipe_consumer(struct mm_logpipe *lp, struct mm_line_consumer *c)
{
	*c = (struct mm_line_consumer){.name = "counters",
				       .line = c_line,
				       .flush = c_flush,
				       .checkpoint = c_checkpoint,
				       .restore = c_restore,
				       .free = c_free,
				       .arg = lp};
}

uint64_t mm_logpipe_unparsed(const struct mm_logpipe *lp)
{
	return lp->st.unparsed;
}

void mm_logpipe_set_parser(struct mm_logpipe *lp, const struct mm_parser *p)
{
	lp->parser = p ? p : default_parser();
}

const char *mm_logpipe_parser_name(const struct mm_logpipe *lp)
{
	return lp->parser->name;
}

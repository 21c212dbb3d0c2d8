/* event_fmt: see event_fmt.h. */
#include "parsers/event_fmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/strbuf.h"

/* The size through a volatile: with a size the compiler knows, it
 * inlines "rep stos"/"rep movs", which on x86-64 costs as much as a sixth
 * of a whole Postfix line; libc's memset with vector stores does it in a
 * fraction (measured with bench/parse_bench.c). */
static volatile size_t ev_size = sizeof(struct mm_log_event);

void mm_ev_reset(struct mm_log_event *ev)
{
	memset(ev, 0, ev_size);
	ev->delays[0] = ev->delays[1] = ev->delays[2] = ev->delays[3] = -1;
}

static const char *const type_names[MM_EV__COUNT] = {
	[MM_EV_UNPARSED] = "UNPARSED",
	[MM_EV_IGNORED] = "IGNORED",
	[MM_EV_CONNECT] = "CONNECT",
	[MM_EV_DISCONNECT] = "DISCONNECT",
	[MM_EV_LOST] = "LOST",
	[MM_EV_REJECT] = "REJECT",
	[MM_EV_REJECT_WARN] = "REJECT_WARN",
	[MM_EV_HOLD] = "HOLD",
	[MM_EV_DISCARD] = "DISCARD",
	[MM_EV_CLIENT] = "CLIENT",
	[MM_EV_PICKUP] = "PICKUP",
	[MM_EV_MESSAGE_ID] = "MESSAGE_ID",
	[MM_EV_QUEUED] = "QUEUED",
	[MM_EV_DELIVERY] = "DELIVERY",
	[MM_EV_EXPIRED] = "EXPIRED",
	[MM_EV_REMOVED] = "REMOVED",
	[MM_EV_BOUNCE_DSN] = "BOUNCE_DSN",
	[MM_EV_CONN_FAIL] = "CONN_FAIL",
	[MM_EV_SUSPENDED] = "SUSPENDED",
	[MM_EV_WARNING] = "WARNING",
	[MM_EV_ERROR] = "ERROR",
	[MM_EV_FATAL] = "FATAL",
	[MM_EV_PANIC] = "PANIC",
	[MM_EV_LOGIN] = "LOGIN",
	[MM_EV_AUTH_FAIL] = "AUTH_FAIL",
	[MM_EV_LOGIN_ABORT] = "LOGIN_ABORT",
	[MM_EV_LMTP_SAVED] = "LMTP_SAVED",
	[MM_EV_SESSION_END] = "SESSION_END",
};

const char *mm_ev_type_name(enum mm_ev_type t)
{
	if ((unsigned)t >= MM_EV__COUNT || type_names[t] == NULL)
		return "?";
	return type_names[t];
}

const char *mm_dstatus_name(enum mm_dstatus s)
{
	switch (s) {
	case MM_DS_SENT:
		return "sent";
	case MM_DS_DEFERRED:
		return "deferred";
	case MM_DS_BOUNCED:
		return "bounced";
	case MM_DS_EXPIRED:
		return "expired";
	case MM_DS_DEFERRED_FIRST:
		return "deferred-first";
	case MM_DS_NONE:
		break;
	}
	return "";
}

static void put_sv(struct mm_strbuf *o, const char *key, struct mm_sv v)
{
	if (v.p == NULL)
		return;
	bool quote = v.len == 0 || memchr(v.p, ' ', v.len) != NULL;
	mm_strbuf_add(o, " ", 1);
	mm_strbuf_adds(o, key);
	mm_strbuf_add(o, "=", 1);
	if (quote)
		mm_strbuf_add(o, "\"", 1);
	for (uint32_t i = 0; i < v.len; i++) {
		unsigned char ch = (unsigned char)v.p[i];
		if (ch < 0x20 || ch >= 0x7f || ch == '\\' || ch == '"')
			mm_strbuf_printf(o, "\\x%02x", ch);
		else
			mm_strbuf_add(o, (const char *)&v.p[i], 1);
	}
	if (quote)
		mm_strbuf_add(o, "\"", 1);
}

static const struct {
	uint32_t bit;
	const char *name;
} flag_names[] = {
	{MM_EVF_ESMTP, "esmtp"},	 {MM_EVF_CHUNKING, "chunking"}, {MM_EVF_TLS, "tls"},
	{MM_EVF_SASL, "sasl"},		 {MM_EVF_LMTP, "lmtp"},	       {MM_EVF_INBOUND, "in"},
	{MM_EVF_OUTBOUND, "out"},	 {MM_EVF_SUSPENDED, "suspended"},
	{MM_EVF_SECURED, "secured"},	 {MM_EVF_ARRIVAL, "arrival"},
};

size_t mm_ev_format(const struct mm_log_event *ev, char *buf, size_t cap)
{
	struct mm_strbuf o;
	mm_strbuf_fixed(&o, buf, cap);
	mm_strbuf_adds(&o, mm_ev_type_name(ev->type));
	if (ev->time_ms != 0)
		mm_strbuf_printf(&o, " t=%lld", (long long)ev->time_ms);
	put_sv(&o, "host", ev->host);
	put_sv(&o, "prog", ev->program);
	put_sv(&o, "inst", ev->instance);
	put_sv(&o, "svc", ev->service);
	if (ev->pid != 0)
		mm_strbuf_printf(&o, " pid=%u", ev->pid);
	put_sv(&o, "qid", ev->queue_id);
	put_sv(&o, "chan", ev->channel);
	put_sv(&o, "src_chan", ev->src_channel);
	put_sv(&o, "code", ev->code);
	put_sv(&o, "sender", ev->sender);
	put_sv(&o, "addr", ev->addr);
	put_sv(&o, "orig_to", ev->orig_to);
	put_sv(&o, "client", ev->client_name);
	put_sv(&o, "ip", ev->client_ip);
	put_sv(&o, "relay", ev->relay);
	if (ev->smtp_code != 0)
		mm_strbuf_printf(&o, " smtp=%u", ev->smtp_code);
	put_sv(&o, "dsn", ev->dsn);
	if (ev->status != MM_DS_NONE)
		mm_strbuf_printf(&o, " status=%s", mm_dstatus_name(ev->status));
	if (ev->size != 0)
		mm_strbuf_printf(&o, " size=%llu", (unsigned long long)ev->size);
	if (ev->nrcpt != 0)
		mm_strbuf_printf(&o, " nrcpt=%u", ev->nrcpt);
	if (ev->conn_count != 0)
		mm_strbuf_printf(&o, " count=%u", ev->conn_count);
	if (ev->delay != 0)
		mm_strbuf_printf(&o, " delay=%.3f", ev->delay);
	if (ev->delays[0] >= 0)
		mm_strbuf_printf(&o, " delays=%.3f/%.3f/%.3f/%.3f", ev->delays[0], ev->delays[1],
		     ev->delays[2], ev->delays[3]);
	put_sv(&o, "msgid", ev->message_id);
	put_sv(&o, "new_qid", ev->new_queue_id);
	if (ev->flags != 0) {
		mm_strbuf_add(&o, " flags=", 7);
		bool first = true;
		for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++) {
			if (ev->flags & flag_names[i].bit) {
				if (!first)
					mm_strbuf_add(&o, ",", 1);
				mm_strbuf_adds(&o, flag_names[i].name);
				first = false;
			}
		}
	}
	put_sv(&o, "reason", ev->reason);
	return o.len + (size_t)o.dropped;
}

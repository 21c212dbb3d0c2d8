/*
 * proto_pop3_box: the POP3 half of the mailbox task (probe.h, struct
 * mm_probe_box), after STAT. POP3 shows the maildrop as it was at login,
 * so one probe takes one look; the end-to-end probe starts another after
 * poll_ms while the message is not there.
 *
 *   TOP n 0 for the newest SCAN_MAX messages      (stage scan)
 *   RETR ours                                      (stage fetch)
 *   DELE ours, claimed and stale ones              (stage delete)
 *   QUIT (the deletions take effect)
 *
 * A look that does not find ours still deletes what it claimed or found
 * stale, and ends successfully with res.box.found false.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "probes/box.h"
#include "probes/pingpong.h"
#include "probes/received.h"

#define SCAN_MAX 200

enum { Q_TOP = MM_POP3_BOX_STEP, Q_RETR, Q_DELE, Q_QUIT };

/* "VERB n": TOP n 0 (multi-line), RETR n (multi-line), DELE n. */
static void pop3_box_cmd(struct mm_probe *p, int step, bool multi, const char *stage,
			 const char *verb, uint32_t n)
{
	p->step = step;
	p->rs.multiline = multi;
	pp_send(p, stage, "%s %u%s\r\n", verb, n, step == Q_TOP ? " 0" : "");
}

/* The reply text after its status line. */
static const char *body(struct mm_probe *p, size_t *len)
{
	const char *nl = memchr(p->reply, '\n', p->reply_len);
	if (!nl) {
		*len = 0;
		return p->reply + p->reply_len;
	}
	*len = p->reply_len - (size_t)(nl + 1 - p->reply);
	return nl + 1;
}

static void next_step(struct mm_probe *p);

static void quit(struct mm_probe *p)
{
	p->step = Q_QUIT;
	p->rs.multiline = false;
	pp_send(p, "quit", "QUIT\r\n");
}

/* After the look: fetch ours, then delete, then quit. */
static void after_scan(struct mm_probe *p)
{
	struct mm_box_state *b = p->box;
	if (b->own && !p->res.box.fetched_us) {
		pop3_box_cmd(p, Q_RETR, true, "fetch", "RETR", b->own);
		return;
	}
	next_step(p);
}

/* Deletes ours first, then the others; QUIT when none is left. */
static void next_step(struct mm_probe *p)
{
	struct mm_box_state *b = p->box;
	if (b->own && !p->res.box.found) {
		p->res.box.found = true; /* counted once QUIT commits; see Q_QUIT */
		pop3_box_cmd(p, Q_DELE, false, "delete", "DELE", b->own);
		return;
	}
	if (b->ndel > 0) {
		uint32_t n = b->del[--b->ndel];
		pop3_box_cmd(p, Q_DELE, false, "delete", "DELE", n);
		return;
	}
	quit(p);
}

static void look(struct mm_probe *p)
{
	struct mm_box_state *b = p->box;
	uint32_t lowest = b->count > SCAN_MAX ? b->count - SCAN_MAX + 1 : 1;
	if (b->next >= lowest && b->next > 0) {
		pop3_box_cmd(p, Q_TOP, true, "scan", "TOP", b->next--);
		return;
	}
	after_scan(p);
}

void mm_pop3_box_start(struct mm_probe *p)
{
	p->box = xcalloc(1, sizeof *p->box);
	p->res.box.ready = true;
	p->res.box.polls++;
	/* "+OK nn mm" */
	unsigned long n = 0;
	if (sscanf(p->reply, "+OK %lu", &n) != 1 || n > 1000000) {
		pp_fail(p, MM_PF_PROTOCOL, "stat: cannot read the message count");
		return;
	}
	p->box->count = (uint32_t)n;
	p->box->next = (uint32_t)n;
	look(p);
}

void mm_pop3_box_reply(struct mm_probe *p)
{
	char t[200];
	struct mm_box_state *b = p->box;
	bool ok = p->rs.status == MM_ST_OK;
	size_t bl;
	const char *text;
	switch (p->step) {
	case Q_TOP:
		if (ok) { /* a message deleted by another session: -ERR, skipped */
			text = body(p, &bl);
			struct mm_received_hop hops[MM_RECEIVED_MAX];
			size_t nh = mm_received_parse(text, bl, hops, MM_RECEIVED_MAX);
			int64_t at = 0;
			for (size_t i = 0; i < nh; i++)
				if (hops[i].have_time)
					at = hops[i].wall_ms; /* the newest stamp: the final delivery */
			mm_box_note(p, mm_box_classify(p, text, bl, at), b->next + 1);
		}
		look(p);
		return;
	case Q_RETR:
		if (!ok) {
			pp_fail(p, MM_PF_REJECTED, "fetch: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		text = body(p, &bl);
		const char *end = NULL;
		for (size_t i = 0; i + 1 < bl; i++)
			if (text[i] == '\n' && text[i + 1] == '\n') {
				end = text + i + 1;
				break;
			}
		size_t hl = end ? (size_t)(end - text) : bl;
		if (hl >= sizeof p->res.box.header)
			hl = sizeof p->res.box.header - 1;
		memcpy(p->res.box.header, text, hl);
		p->res.box.header[hl] = '\0';
		p->res.box.header_len = hl;
		p->res.box.fetched_us = mm_probe_now_us();
		next_step(p);
		return;
	case Q_DELE:
		if (!ok) {
			pp_fail(p, MM_PF_REJECTED, "delete: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		next_step(p);
		return;
	case Q_QUIT:
		if (!ok) {
			/* The deletions were not committed. */
			p->res.box.found = false;
			pp_fail(p, MM_PF_REJECTED, "quit: %s", pp_reply_text(p, t, sizeof t));
			return;
		}
		pp_finish(p);
		return;
	}
}

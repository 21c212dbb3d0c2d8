/*
 * proto_imap_box: the IMAP half of the mailbox task (probe.h, struct
 * mm_probe_box), after SELECT INBOX:
 *
 *   CAPABILITY (IDLE, UIDPLUS after login)
 *   loop: UID SEARCH UID n:* HEADER X-Mailmon-Probe "mailmon-e2e"   (stage search)
 *         UID FETCH the new ones (INTERNALDATE + that header)      (stage scan)
 *         ours not there: search again at once if the reply said EXISTS
 *         (the server's view grew after the command), else IDLE until
 *         EXISTS or poll_ms passed, or wait poll_ms     (stage wait)
 *                         or, without IDLE, SEARCH every poll_ms
 *   UID FETCH ours (BODY.PEEK[])                                   (stage fetch)
 *   UID STORE ours + claimed + stale +FLAGS.SILENT (\Deleted)      (stage delete)
 *   UID EXPUNGE those (UIDPLUS), else EXPUNGE                      (stage expunge)
 *   LOGOUT
 *
 * Only messages the task decided on are flagged; UID EXPUNGE keeps a
 * concurrent probe's flagged message from being removed under it (plain
 * EXPUNGE, without UIDPLUS, removes every \Deleted message).
 * A NO/BAD to any command is MM_PF_REJECTED; the total timeout ends the
 * wait as MM_PF_TIMEOUT with res.box.ready set, which the end-to-end
 * probe reads as "not delivered in time", not as a retrieval failure.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/xalloc.h"
#include "probes/box.h"
#include "probes/e2etag.h"
#include "probes/pingpong.h"

enum {
	B_CAPA = MM_IMAP_BOX_STEP,
	B_SEARCH,
	B_SCAN,
	B_IDLE,
	B_FETCH,
	B_STORE,
	B_EXPUNGE,
};

static void search(struct mm_probe *p);

/* "1,5,9" of the ids, own first; false if it does not fit. */
static bool id_set(const struct mm_box_state *b, bool with_own, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	uint32_t ids[BOX_MAX_IDS + 1];
	size_t n = 0;
	if (with_own && b->own)
		ids[n++] = b->own;
	for (size_t i = 0; i < b->ndel; i++)
		ids[n++] = b->del[i];
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + o, cap - o, "%s%u", i ? "," : "", ids[i]);
		if (w < 0 || (size_t)w >= cap - o)
			return false;
		o += (size_t)w;
	}
	return n > 0;
}

static bool reply_ok(struct mm_probe *p, const char *what)
{
	if (p->rs.status == MM_ST_OK)
		return true;
	const char *last = strrchr(p->reply, '\n');
	pp_fail(p, MM_PF_REJECTED, "%s: %.160s", what, last ? last + 1 : p->reply);
	return false;
}

void mm_imap_box_start(struct mm_probe *p)
{
	p->box = xcalloc(1, sizeof *p->box);
	p->res.box.ready = true;
	mm_imap_cmd(p, B_CAPA, "capability", "CAPABILITY");
}

static void search_again(struct mm_probe *p)
{
	search(p);
}

static void idle_recheck(struct mm_probe *p)
{
	if (!p->box->done_sent) {
		p->box->done_sent = true;
		pp_write(p, "DONE\r\n");
	}
}

/* Ours is not there yet: IDLE, or SEARCH again after poll_ms. */
static void wait_more(struct mm_probe *p)
{
	struct mm_box_state *b = p->box;
	if (b->idle_cap) {
		b->done_sent = false;
		p->res.box.idle = true;
		mm_imap_cmd(p, B_IDLE, "wait", "IDLE");
		/* Servers may notify late or never (Dovecot without inotify
		 * checks every 30 s): re-check at the poll interval anyway. */
		pp_wait(p, p->prm.box.poll_ms, idle_recheck);
		return;
	}
	pp_wait(p, p->prm.box.poll_ms, search_again);
}

static void search(struct mm_probe *p)
{
	char cmd[128];
	p->res.box.polls++;
	snprintf(cmd, sizeof cmd, "UID SEARCH UID %u:* HEADER %s \"%s\"", p->box->seen_max + 1,
		 MM_E2E_HEADER, MM_E2E_MAGIC);
	mm_imap_cmd(p, B_SEARCH, "search", cmd);
}

static void fetch_own(struct mm_probe *p)
{
	char cmd[64];
	snprintf(cmd, sizeof cmd, "UID FETCH %u (BODY.PEEK[])", p->box->own);
	mm_imap_cmd(p, B_FETCH, "fetch", cmd);
}

static void store(struct mm_probe *p)
{
	char set[BOX_MAX_IDS * 12], cmd[sizeof set + 64];
	if (!id_set(p->box, true, set, sizeof set)) {
		mm_imap_logout(p);
		return;
	}
	snprintf(cmd, sizeof cmd, "UID STORE %s +FLAGS.SILENT (\\Deleted)", set);
	mm_imap_cmd(p, B_STORE, "delete", cmd);
}

static void expunge(struct mm_probe *p)
{
	char set[BOX_MAX_IDS * 12], cmd[sizeof set + 32];
	if (p->box->uidplus && id_set(p->box, true, set, sizeof set)) {
		snprintf(cmd, sizeof cmd, "UID EXPUNGE %s", set);
		mm_imap_cmd(p, B_EXPUNGE, "expunge", cmd);
	} else {
		mm_imap_cmd(p, B_EXPUNGE, "expunge", "EXPUNGE");
	}
}

/* One line of a reply: literals counted, FETCH items collected, IDLE
 * ended when the mailbox grows. */
int mm_imap_box_line(struct mm_probe *p, const char *line, size_t len)
{
	struct mm_box_state *b = p->box;
	int r = mm_imap_reply_feed(&p->rs, line, len);
	if (r == MM_REPLY_BAD)
		return r;
	if (p->step == B_SCAN || p->step == B_FETCH) {
		if (mm_imap_item_feed(&b->item, &p->rs, line, len) && b->item.uid) {
			if (p->step == B_SCAN) {
				enum mm_box_verdict v =
					mm_box_classify(p, b->item.text, b->item.len,
							b->item.have_internal ? b->item.internal_ms : 0);
				mm_box_note(p, v, b->item.uid);
			} else if (b->item.uid == b->own) {
				/* Keep the header section: up to the empty line. */
				const char *end = strstr(b->item.text, "\n\n");
				size_t hl = end ? (size_t)(end - b->item.text) + 1 : b->item.len;
				if (hl >= sizeof p->res.box.header)
					hl = sizeof p->res.box.header - 1;
				memcpy(p->res.box.header, b->item.text, hl);
				p->res.box.header[hl] = '\0';
				p->res.box.header_len = hl;
			}
		}
	} else if (p->step == B_IDLE && !b->done_sent && p->rs.lit_part == 0 && len > 2 &&
		   line[0] == '*' && len >= 7 && strncasecmp(line + len - 7, " EXISTS", 7) == 0) {
		b->done_sent = true;
		pp_wait_cancel(p);
		pp_write(p, "DONE\r\n");
	}
	return r;
}

void mm_imap_box_reply(struct mm_probe *p)
{
	struct mm_box_state *b = p->box;
	switch (p->step) {
	case B_CAPA:
		if (!reply_ok(p, "capability"))
			return;
		b->idle_cap = !p->prm.box.no_idle && mm_reply_has_word(p->reply, p->reply_len, "IDLE");
		b->uidplus = mm_reply_has_word(p->reply, p->reply_len, "UIDPLUS");
		search(p);
		return;
	case B_SEARCH: {
		if (!reply_ok(p, "search"))
			return;
		b->nscan = mm_imap_search_uids(p->reply, p->reply_len, b->seen_max, b->scan,
					       BOX_MAX_IDS);
		if (b->nscan == 0) {
			/* The server tells of new mail after the command that saw
			 * the old view ("* N EXISTS" in this reply): look again at
			 * once rather than a poll interval later. */
			if (mm_reply_has_word(p->reply, p->reply_len, "EXISTS")) {
				search(p);
				return;
			}
			wait_more(p);
			return;
		}
		char set[BOX_MAX_IDS * 12], cmd[sizeof set + 96];
		size_t o = 0;
		for (size_t i = 0; i < b->nscan; i++) {
			o += (size_t)snprintf(set + o, sizeof set - o, "%s%u", i ? "," : "", b->scan[i]);
			if (b->scan[i] > b->seen_max)
				b->seen_max = b->scan[i];
		}
		snprintf(cmd, sizeof cmd, "UID FETCH %s (UID INTERNALDATE BODY.PEEK[HEADER.FIELDS (%s)])",
			 set, MM_E2E_HEADER);
		memset(&b->item, 0, sizeof b->item);
		mm_imap_cmd(p, B_SCAN, "scan", cmd);
		return;
	}
	case B_SCAN:
		if (!reply_ok(p, "scan"))
			return;
		if (b->own)
			fetch_own(p);
		else if (mm_reply_has_word(p->reply, p->reply_len, "EXISTS"))
			search(p);
		else
			wait_more(p);
		return;
	case B_IDLE:
		pp_wait_cancel(p);
		if (!reply_ok(p, "idle"))
			return;
		search(p);
		return;
	case B_FETCH:
		if (!reply_ok(p, "fetch"))
			return;
		if (!p->res.box.header_len) {
			pp_fail(p, MM_PF_PROTOCOL, "fetch: no message text for UID %u", b->own);
			return;
		}
		p->res.box.fetched_us = mm_probe_now_us();
		store(p);
		return;
	case B_STORE:
		if (!reply_ok(p, "delete"))
			return;
		expunge(p);
		return;
	case B_EXPUNGE:
		if (!reply_ok(p, "expunge"))
			return;
		p->res.box.found = true;
		mm_imap_logout(p);
		return;
	}
}

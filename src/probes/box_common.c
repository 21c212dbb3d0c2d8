/*
 * box_common: what the IMAP and POP3 mailbox tasks share: deciding what
 * a probe message found in the mailbox is (ours, an earlier run's to
 * claim, a stale leftover to delete, or another probe's to leave alone),
 * and freeing the task's state.
 */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "probes/box.h"
#include "probes/e2etag.h"
#include "probes/pingpong.h"
#include "probes/received.h"

static void add_del(struct mm_box_state *b, uint32_t id)
{
	if (b->ndel < BOX_MAX_IDS)
		b->del[b->ndel++] = id;
}

enum mm_box_verdict mm_box_classify(struct mm_probe *p, const char *header, size_t len,
				    int64_t delivered_wall_ms)
{
	struct mm_probe_box_result *r = &p->res.box;
	char value[MM_PROBE_TAG + 64];
	if (!mm_header_field(header, len, MM_E2E_HEADER, value, sizeof value))
		return MM_BOX_OTHER;
	r->scanned++;
	if (strcmp(value, p->prm.box.tag) == 0) {
		if (!r->visible_us)
			r->visible_us = mm_probe_now_us();
		return MM_BOX_OWN;
	}
	int64_t sent_ms;
	if (!mm_e2e_tag_parse(value, NULL, 0, &sent_ms))
		return MM_BOX_OTHER;
	size_t cl = strlen(p->prm.box.claim);
	if (cl && strncmp(value, p->prm.box.claim, cl) == 0) {
		if (r->nclaimed < MM_BOX_MAX_CLAIMED) {
			mm_strlcpy(r->claimed[r->nclaimed].tag, value, sizeof r->claimed[0].tag);
			r->claimed[r->nclaimed].delivered_wall_ms = delivered_wall_ms;
			r->nclaimed++;
			return MM_BOX_CLAIM;
		}
		return MM_BOX_OTHER; /* the next run takes the rest */
	}
	if (p->prm.box.cleanup_age_ms > 0 && mm_wall_ms() - sent_ms > p->prm.box.cleanup_age_ms) {
		r->cleaned++;
		return MM_BOX_STALE;
	}
	return MM_BOX_OTHER;
}

/* Records id as ours or to be deleted, by verdict. */
void mm_box_note(struct mm_probe *p, enum mm_box_verdict v, uint32_t id)
{
	struct mm_box_state *b = p->box;
	if (v == MM_BOX_OWN)
		b->own = id;
	else if (v == MM_BOX_CLAIM || v == MM_BOX_STALE)
		add_del(b, id);
}

void mm_box_free(struct mm_probe *p)
{
	free(p->box);
	p->box = NULL;
}

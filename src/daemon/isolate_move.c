/*
 * isolate_move: a release moves the released destination's deferred mail
 * back (isolate_impl.h; the why is in isolate.c's header): the IDs from
 * postqueue -j (read by S_LIST in isolate.c), then postqueue -i per ID,
 * MOVE_PARALLEL children at a time; or, separated, the root helper's
 * answer with its counts. Then the release's result.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "daemon/daemon.h"
#include "daemon/isolate_impl.h"

/* The release is done (its mail moved, or as much as could be): the
 * result says how many messages moved and why any did not. */
void mm_iso_released(struct mm_isolate *x)
{
	const struct moving *mv = &x->mv;
	char text[400];
	int n = snprintf(text, sizeof text, "released %s (%s)", x->cur.dest, x->cur.reason);
	size_t left = mv->left + mv->pq.nids - mv->next + (size_t)mv->pq.over;
	if (mv->last_err[0] && x->step == S_LIST)
		n += snprintf(text + n, sizeof text - (size_t)n,
			      "; %s: its deferred mail moves at its next retry", mv->last_err);
	else if (mv->done + mv->failed + left == 0)
		n += snprintf(text + n, sizeof text - (size_t)n, "; no deferred mail to move");
	else
		n += snprintf(text + n, sizeof text - (size_t)n,
			      "; %zu deferred messages moved back (postqueue -i)", mv->done);
	if (left > 0 && n < (int)sizeof text)
		n += snprintf(text + n, sizeof text - (size_t)n,
			      mv->pq.over ? ", %zu left to their next retry (more than %d)"
					  : ", %zu left to their next retry (time limit)",
			      left, MM_ISOLATE_MOVE_MAX);
	if (mv->failed > 0 && n < (int)sizeof text)
		n += snprintf(text + n, sizeof text - (size_t)n, ", %zu failed (%s)", mv->failed,
			      mv->last_err);
	if ((mv->pq.bad || mv->pq.long_lines) && n < (int)sizeof text)
		snprintf(text + n, sizeof text - (size_t)n,
			 ", %" PRIu64 " postqueue -j lines not understood",
			 mv->pq.bad + mv->pq.long_lines);
	if (x->cur.manual)
		mm_iso_hold(x, x->cur.dest);
	mm_iso_remember_release(x);
	mm_iso_finish(x, true, C_RELEASED, "%s", text);
}

static void on_move_done(const struct mm_child_result *res, void *arg);

/* Starts postqueue -i children up to MOVE_PARALLEL; the release is done
 * when none is left to start or running. */
void mm_iso_move_more(struct mm_isolate *x)
{
	struct moving *mv = &x->mv;
	char prog[600];
	mm_iso_cmd(x, "postqueue", prog, sizeof prog);
	bool running = false;
	for (size_t k = 0; k < MOVE_PARALLEL; k++) {
		struct mover *m = &mv->movers[k];
		while (!m->child && mv->next < mv->pq.nids && mm_mono_ms() < mv->deadline_ms) {
			char *argv[] = {prog, "-c", (char *)mm_iso_confdir(x), "-i",
					mv->pq.ids[mv->next++], NULL};
			struct mm_child_params p = {.argv = argv,
						    .timeout_ms = CMD_TIMEOUT_MS,
						    .max_output = 4096,
						    .keep_stderr = true};
			struct mm_err err = {{0}};
			m->child = mm_child_start(x->d->base, &p, on_move_done, m, &err);
			if (!m->child) {
				mv->failed++;
				mm_strlcpy(mv->last_err, err.msg, sizeof mv->last_err);
			}
		}
		running |= m->child != NULL;
	}
	if (!running)
		mm_iso_released(x);
}

static void on_move_done(const struct mm_child_result *res, void *arg)
{
	struct mover *m = arg;
	struct mm_isolate *x = m->x;
	m->child = NULL;
	if (res->exit_code == 0 && !res->timed_out) {
		x->mv.done++;
	} else {
		char desc[200];
		mm_child_describe(res, desc, sizeof desc);
		x->mv.failed++;
		char why[2048];
		snprintf(why, sizeof why, "postqueue -i: %s%s%s", desc, res->err[0] ? ": " : "",
			 res->err);
		mm_strlcpy(x->mv.last_err, why, sizeof x->mv.last_err);
	}
	mm_iso_move_more(x);
	if (!x->busy)
		mm_iso_kick(x);
}

/* The root helper's answer to a move (privsep.h): its counts, in the text
 * mm_isolate_move_format wrote, into x->mv. */
void mm_iso_helper_moved(struct mm_isolate *x, const struct mm_child_result *res,
			 const char *desc)
{
	struct moving *mv = &x->mv;
	if (res->exit_code != 0 || mm_isolate_move_parse(res->err, &mv->done, &mv->left,
							 &mv->failed, &mv->pq.over,
							 &mv->pq.bad, mv->last_err,
							 sizeof mv->last_err) < 0) {
		char why[2048];
		snprintf(why, sizeof why, "the root helper's move: %s%s%s", desc,
			 res->err[0] ? ": " : "", res->err);
		mm_strlcpy(mv->last_err, why, sizeof mv->last_err);
		x->step = S_LIST; /* says: the mail moves at its next retry */
	}
	mm_iso_released(x);
}


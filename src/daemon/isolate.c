/*
 * isolate: the "isolate" module (issue 15 item 3): a flooded destination's
 * mail goes to a slow transport of its own, so the rest of the queue keeps
 * flowing; it comes back once the destination answers again.
 *
 * mailmond owns one Postfix transport map, STATE_DIRECTORY/isolate/transport
 * (+ .db, by postmap), and edits no other file. The postmaster lists it
 * first in transport_maps and defines [isolate] transport in master.cf
 * (docs/cluster.md); before each isolation mailmond checks both with
 * postconf and refuses, naming what is missing, when they are not there.
 *
 * A change (isolate, release, or a resync of the map at start) is an
 * operation run as a chain of child processes, one operation at a time:
 *   isolate: postconf -x -h transport_maps (our map first?), postconf -M
 *            TRANSPORT/unix (defined?), postmap -q DEST MAP for the other
 *            maps (the nexthop the destination had, kept in our entry),
 *            then write map + state, postmap (no reload; reload for a
 *            destination that does not answer, below);
 *   release: write map + state, postmap, reload, postqueue -j (the
 *            deferred mail of the destination), postqueue -i QUEUE_ID
 *            for each of those messages (MOVE_PARALLEL at a time, at
 *            most MM_ISOLATE_MOVE_MAX, none started after
 *            MM_ISOLATE_MOVE_MS); separated, the root helper does the
 *            last two (privsep.h: postqueue run by another user than
 *            root accepts -c DIR only for a DIR the default main.cf
 *            lists), one postqueue -i at a time, and answers the counts.
 * "reload" is `postfix -c DIR reload`, through the root helper when
 * privileges are separated (privsep.h: it derives the command from its
 * own config). An isolation does not reload: a reload restarts the queue
 * manager, which puts the whole active queue (the flood) back in front of
 * new mail, and that was normal mail's 1.4 s p99 spike in
 * bench/cluster_tarpit.py. trivial-rewrite notices the rebuilt .db by
 * itself ("table ... has changed -- restarting", at its next new client
 * connection: seconds on a busy node, at most ipc_ttl) and the queue
 * manager resolves with the new map from then on (docs/cluster.md).
 * Except for a destination that does not answer (flooded by the cluster
 * module's no-answer rule, mailmon_flooded_destination_unanswered): its
 * isolation ends with postfix reload right after postmap. Its mail already
 * in the active queue is the whole clog (a tarpit found before its first
 * failure: none of it has been deferred yet) and keeps its transport until
 * deferred; the reload's new queue manager resolves it again, to the
 * isolated transport, whose short greeting timeout lets Postfix mark the
 * destination dead and defer it in seconds. The reload's own latency cost
 * is paid once, when the clog is worse. A failed reload leaves the
 * isolation in place, with the pickup check below. After
 * a release the destination's deferred mail is moved with postqueue -i,
 * so its backlog goes out now by its usual route: postqueue -i asks the
 * flush(8) daemon, which renames the file from deferred to incoming, and
 * the new queue manager scans incoming when it starts. (postqueue -f
 * was used before: it only sends a trigger to qmgr, and a trigger that
 * reaches the qmgr the reload is replacing is lost; the backlog then
 * waited for its next retry. It also retried every deferred message.)
 * Postfix 3.7's postqueue takes one -i per call, so one child per ID.
 * The queue module's summary keeps only a few example IDs per
 * destination, so the IDs come from postqueue -j. After an isolation the
 * backlog takes the slow route at its next retry (moving it at once
 * would only re-activate the whole flood).
 *
 * After an isolation, every run also checks that trivial-rewrite picked
 * up the map (daemon/isolate_rewrite.h: every trivial-rewrite child of
 * the master started after postmap finished). If not within [isolate]
 * rewrite_wait, a reload operation (OP_RELOAD) runs postfix reload, and
 * the log names the process that kept the old map; GET /api/isolate
 * "rewrite" has the state.
 *
 * Every run ([isolate] interval): a destination the cluster module reports
 * flooded (mailmon_flooded_destination_messages) with a class of
 * [isolate] classes is isolated (auto = yes, below max_destinations); an
 * automatically isolated destination with no failing queued mail
 * (mailmon_queue_destination_reason_recipients, any class but none) for
 * release_after is released. Manual isolations stay until released; a
 * destination released by hand is not isolated again automatically for
 * release_after.
 *
 * Files: this one (operations, runs, the module row), isolate_move.c (a
 * release's move of the deferred mail), isolate_api.c (metrics, HTTP),
 * sharing isolate_impl.h; isolate_rewrite.c (the map pickup check).
 *
 * State: STATE_DIRECTORY/isolate/state (cluster/isolate_state.h), written
 * atomically with the map at every change, read at start; a damaged file
 * is set aside (state.damaged) and the map emptied, with an error logged.
 *
 * Publishes mailmon_isolated_destination{destination,reason} (1 each; 0
 * for five minutes after a release, so that the alarm clears at once),
 * mailmon_isolate_setup_missing (1 after a refused isolation: the alarm
 * isolatesetup) and mailmon_isolate_changes_total{action}. HTTP:
 * GET /api/isolate (the set, the pending operations, the last results),
 * POST /api/isolate?destination=D[&release=1] (202: queued; the result
 * appears in GET's "results" under the returned id).
 */
#include <errno.h>
#include <inttypes.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/isolate_queue.h"
#include "cluster/isolate_state.h"
#include "core/atomicfile.h"
#include "core/childproc.h"
#include "core/clock.h"
#include "core/strbuf.h"
#include "core/strutil.h"
#include "core/utf8.h"
#include "core/xalloc.h"
#include "daemon/daemon.h"
#include "daemon/isolate_impl.h"
#include "daemon/isolate_rewrite.h"
#include "daemon/module.h"
#include "daemon/privsep.h"
#include "metrics/registry.h"


const char *mm_iso_confdir(const struct mm_isolate *x)
{
	return mm_config_get(x->d->conf, "mta", "config_directory");
}

/* DIR/name, DIR from [mta] command_directory (as the queue module runs
 * postqueue), into buf. */
char *mm_iso_cmd(const struct mm_isolate *x, const char *name, char *buf, size_t cap)
{
	const char *dir = mm_config_get(x->d->conf, "mta", "command_directory");
	snprintf(buf, cap, "%s/%s", dir && *dir ? dir : "/usr/sbin", name);
	return buf;
}

static void take_conf(struct mm_isolate *x)
{
	const struct mm_config *conf = x->d->conf;
	mm_strlcpy(x->transport, mm_config_get(conf, "isolate", "transport"), sizeof x->transport);
	x->autoiso = mm_config_bool(conf, "isolate", "auto");
	mm_config_list_free(x->classes);
	x->classes = mm_config_list(conf, "isolate", "classes");
	x->max_dest = mm_config_int(conf, "isolate", "max_destinations");
	x->release_after_ms = mm_config_duration_ms(conf, "isolate", "release_after");
	x->rewrite_wait_ms = mm_config_duration_ms(conf, "isolate", "rewrite_wait");
	const char *q = mm_config_get(conf, "mta", "queue_directory");
	if (q && *q)
		mm_strlcpy(x->qdir, q, sizeof x->qdir);
}

/* ---- results and files ---- */

void mm_iso_finish(struct mm_isolate *x, bool ok, int change, const char *fmt, ...)
{
	struct result r = {.id = x->cur.id, .ok = ok, .at_s = mm_wall_ms() / 1000};
	mm_strlcpy(r.dest, x->cur.dest, sizeof r.dest);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r.text, sizeof r.text, fmt, ap);
	va_end(ap);
	if (ok)
		mm_log_notice(&x->d->log, "isolate: %s", r.text);
	else
		mm_log_err(&x->d->log, "isolate: %s", r.text);
	if (change >= 0)
		x->changes[change]++;
	if (x->nresults == MAX_RESULTS)
		memmove(&x->results[0], &x->results[1], (MAX_RESULTS - 1) * sizeof x->results[0]);
	else
		x->nresults++;
	x->results[x->nresults - 1] = r;
	x->busy = false;
	x->child = NULL;
	x->ps_id = 0;
	mm_isolate_pq_free(&x->mv.pq);
	struct mover movers[MOVE_PARALLEL];
	memcpy(movers, x->mv.movers, sizeof movers);
	memset(&x->mv, 0, sizeof x->mv);
	memcpy(x->mv.movers, movers, sizeof movers);
}

/* The map and the state file, from x->set. */
static int write_files(struct mm_isolate *x, struct mm_err *err)
{
	struct mm_strbuf sb;
	mm_strbuf_init(&sb, 1 << 20);
	mm_isolate_map(&x->set, x->transport, &sb);
	int rc = mm_file_write_atomic(x->map_path, sb.p, sb.len, 0644, err);
	mm_strbuf_reset(&sb);
	mm_isolate_format(&x->set, &sb);
	if (rc == 0)
		rc = mm_file_write_atomic(x->state_path, sb.p, sb.len, 0644, err);
	mm_strbuf_free(&sb);
	return rc;
}

/* ---- the steps ---- */

static void step(struct mm_isolate *x);
static void on_done(const struct mm_child_result *res, void *arg);

static int spawn(struct mm_isolate *x, char *const *argv)
{
	struct mm_child_params p = {.argv = argv,
				    .timeout_ms = CMD_TIMEOUT_MS,
				    .max_output = 64 * 1024,
				    .capture = true,
				    .keep_stderr = true};
	struct mm_err err = {{0}};
	x->child = mm_child_start(x->d->base, &p, on_done, x, &err);
	if (!x->child) {
		mm_iso_finish(x, false, C_FAILED, "%s %s: cannot run %s: %s",
		       x->cur.kind == OP_RELEASE ? "release" : "isolate", x->cur.dest, argv[0],
		       err.msg);
		return -1;
	}
	return 0;
}

static void free_maps(struct mm_isolate *x)
{
	for (size_t i = 0; i < x->nmaps; i++)
		free(x->maps[i]);
	x->nmaps = 0;
}

/* transport_maps as postconf -x -h prints it: items split at commas and
 * blanks. */
static void split_maps(struct mm_isolate *x, const char *out)
{
	free_maps(x);
	const char *p = out;
	while (*p && x->nmaps < MAX_MAPS) {
		p += strspn(p, ", \t\r\n");
		size_t n = strcspn(p, ", \t\r\n");
		if (n)
			x->maps[x->nmaps++] = xstrndup(p, n);
		p += n;
	}
}

const char *mm_iso_op_name(enum op_kind k)
{
	return k == OP_ISOLATE ? "isolate" : k == OP_RELEASE ? "release" : k == OP_RELOAD ? "reload"
												: "resync";
}

const char *mm_iso_verb(const struct mm_isolate *x)
{
	return mm_iso_op_name(x->cur.kind);
}

static void refuse_setup(struct mm_isolate *x, const char *what)
{
	x->setup_missing = true;
	if (!x->cur.manual) /* automatic tries wait; an operator's never holds them back */
		x->setup_retry_ms = mm_mono_ms() + SETUP_RETRY_MS;
	mm_iso_finish(x, false, C_REFUSED, "isolate %s refused: %s (docs/cluster.md, \"Isolation\")",
	       x->cur.dest, what);
}

/* After postmap or reload failed: the files go back to the set before. */
static void roll_back(struct mm_isolate *x)
{
	struct mm_err err;
	x->set = x->before;
	if (write_files(x, &err) < 0)
		mm_log_err(&x->d->log, "isolate: rolling back %s: %s", x->map_path, err.msg);
}

/* A destination released by hand is not isolated again automatically for
 * release_after: the operator's choice holds while the flood lasts. */
void mm_iso_hold(struct mm_isolate *x, const char *dest)
{
	size_t slot = 0;
	for (size_t i = 0; i < MAX_RESULTS; i++)
		if (x->held[i].until_ms < x->held[slot].until_ms)
			slot = i;
	mm_strlcpy(x->held[slot].dest, dest, sizeof x->held[slot].dest);
	x->held[slot].until_ms = mm_mono_ms() + x->release_after_ms;
}

static bool held(const struct mm_isolate *x, const char *dest)
{
	for (size_t i = 0; i < MAX_RESULTS; i++)
		if (x->held[i].until_ms > mm_mono_ms() && strcmp(x->held[i].dest, dest) == 0)
			return true;
	return false;
}

void mm_iso_remember_release(struct mm_isolate *x)
{
	size_t slot = 0;
	for (size_t i = 0; i < MAX_RESULTS; i++)
		if (x->gone[i].until_ms < x->gone[slot].until_ms)
			slot = i;
	mm_strlcpy(x->gone[slot].dest, x->cur.dest, sizeof x->gone[slot].dest);
	mm_strlcpy(x->gone[slot].reason, x->cur.reason, sizeof x->gone[slot].reason);
	x->gone[slot].until_ms = mm_mono_ms() + 5 * 60000;
}

static void on_ps_done(const struct mm_child_result *res, void *arg)
{
	on_done(res, arg);
}

static void advance(struct mm_isolate *x, const struct mm_child_result *res);

/* Every check passed: the entry into the set and the files, then postmap
 * (or finish with the reason). */
static void change(struct mm_isolate *x)
{
	x->before = x->set;
	if (!mm_isolate_add(&x->set, x->cur.dest, x->cur.reason, x->cur.manual,
			    mm_wall_ms() / 1000, x->nexthop)) {
		mm_iso_finish(x, false, C_REFUSED, "isolate %s: cannot add (full or invalid)", x->cur.dest);
		return;
	}
	struct mm_err err;
	if (write_files(x, &err) < 0) {
		x->set = x->before;
		mm_iso_finish(x, false, C_FAILED, "isolate %s: %s", x->cur.dest, err.msg);
		return;
	}
	x->step = S_POSTMAP;
	step(x);
}

/* A step's child (or the root helper) is done: the next step, or, when
 * the operation finished, the next pending operation. */
static void on_done(const struct mm_child_result *res, void *arg)
{
	struct mm_isolate *x = arg;
	advance(x, res);
	if (!x->busy)
		mm_iso_kick(x);
}

/* An isolation is done once postmap has rebuilt the map: no reload (see
 * the header comment) and no flush; or, for a destination that does not
 * answer (reloaded), once postfix reload ran after postmap. */
static void isolated(struct mm_isolate *x, bool reloaded)
{
	const struct mm_isolated *e = mm_isolate_find(&x->set, x->cur.dest);
	x->rw.at_s = mm_wall_ms() / 1000;
	mm_strlcpy(x->rw.dest, x->cur.dest, sizeof x->rw.dest);
	x->rw.pending = !reloaded && x->rewrite_wait_ms > 0;
	if (reloaded) {
		mm_strlcpy(x->rw.state, "reloaded", sizeof x->rw.state);
		snprintf(x->rw.detail, sizeof x->rw.detail,
			 "postfix reload after the isolation of %s (no answer: its mail in the "
			 "active queue is resolved again)",
			 x->cur.dest);
	} else if (x->rw.pending) {
		x->rw.since = mm_isolate_boot_ticks();
		x->rw.start_ms = mm_mono_ms();
		x->rw.deadline_ms = x->rw.start_ms + x->rewrite_wait_ms;
		x->rw.err_logged = false;
		mm_strlcpy(x->rw.state, "waiting", sizeof x->rw.state);
		snprintf(x->rw.detail, sizeof x->rw.detail,
			 "for trivial-rewrite to restart on the map of %s (at most %lld s)",
			 x->cur.dest, (long long)(x->rewrite_wait_ms / 1000));
	} else {
		mm_strlcpy(x->rw.state, "not checked", sizeof x->rw.state);
		snprintf(x->rw.detail, sizeof x->rw.detail, "[isolate] rewrite_wait = 0");
	}
	mm_iso_finish(x, true, C_ISOLATED, "isolated %s (%s, %s) to transport %s, nexthop %s%s",
	       x->cur.dest, x->cur.reason, x->cur.manual ? "manual" : "auto",
	       x->transport, e && e->nexthop[0] ? e->nexthop : "(default)",
	       reloaded ? "; postfix reload (no answer: the active queue is resolved again)" : "");
}

static void advance(struct mm_isolate *x, const struct mm_child_result *res)
{
	x->child = NULL;
	x->ps_id = 0;
	char desc[200];
	mm_child_describe(res, desc, sizeof desc);
	bool ok = res->exit_code == 0 && !res->timed_out && !res->capped;
	switch (x->step) {
	case S_MAPS: {
		if (!ok) {
			mm_iso_finish(x, false, C_FAILED, "isolate %s: postconf transport_maps: %s",
			       x->cur.dest, desc);
			return;
		}
		/* Line 1: transport_maps, line 2: queue_directory. */
		char first[4096];
		mm_strlcpy(first, res->out, sizeof first);
		first[strcspn(first, "\r\n")] = '\0';
		split_maps(x, first);
		const char *nl = strchr(res->out, '\n');
		const char *q = mm_config_get(x->d->conf, "mta", "queue_directory");
		if (nl && nl[1] == '/' && !(q && *q)) {
			mm_strlcpy(x->qdir, nl + 1, sizeof x->qdir);
			x->qdir[strcspn(x->qdir, "\r\n")] = '\0';
		}
		char want[700];
		snprintf(want, sizeof want, "hash:%s", x->map_path);
		if (x->nmaps == 0 || strcmp(x->maps[0], want) != 0) {
			char now[320], what[1100];
			mm_strlcpy(now, res->out, sizeof now);
			now[strcspn(now, "\r\n")] = '\0';
			snprintf(what, sizeof what,
				 "main.cf transport_maps does not list %s first (it is \"%s\")",
				 want, now);
			refuse_setup(x, what);
			return;
		}
		x->step = S_MASTER;
		break;
	}
	case S_MASTER:
		if (!ok || res->out_len == 0) {
			char what[200];
			snprintf(what, sizeof what, "master.cf has no \"%s unix\" service",
				 x->transport);
			refuse_setup(x, what);
			return;
		}
		x->setup_missing = false;
		x->step = S_NEXTHOP;
		x->map_i = 1;
		x->nexthop[0] = '\0';
		if (x->map_i < x->nmaps)
			break; /* ask the other maps */
		change(x); /* ours is the only map */
		return;
	case S_NEXTHOP:
		/* postmap -q: 0 found, 1 not found. A map we cannot read leaves
		 * the nexthop to the next one (or Postfix's default). */
		if (ok && mm_isolate_nexthop_of(res->out, x->nexthop, sizeof x->nexthop) == 0) {
			x->map_i = x->nmaps;
		} else {
			if (res->exit_code != 1)
				mm_log_warn(&x->d->log, "isolate: postmap -q %s %s: %s%s%s",
					    x->cur.dest, x->maps[x->map_i], desc,
					    res->err[0] ? ": " : "", res->err);
			x->nexthop[0] = '\0';
			x->map_i++;
		}
		if (x->map_i < x->nmaps)
			break;
		change(x);
		return;
	case S_POSTMAP:
		if (!ok) {
			if (x->cur.kind != OP_SYNC)
				roll_back(x);
			mm_iso_finish(x, false, C_FAILED, "%s %s: postmap %s: %s%s%s", mm_iso_verb(x), x->cur.dest,
			       x->map_path, desc, res->err[0] ? ": " : "", res->err);
			return;
		}
		if (x->cur.kind == OP_ISOLATE && !x->cur.reload) {
			isolated(x, false);
			return;
		}
		x->step = S_RELOAD;
		break;
	case S_RELOAD:
		if (!ok && x->cur.kind == OP_ISOLATE) {
			/* Isolated all the same: new mail takes the transport
			 * once trivial-rewrite restarts (the pickup check). */
			mm_log_warn(&x->d->log, "isolate: %s: postfix reload after the isolation: %s%s%s",
				    x->cur.dest, desc, res->err[0] ? ": " : "", res->err);
			isolated(x, false);
			return;
		}
		if (!ok) {
			/* The map is in place: Postfix reads it at its next reload
			 * or trivial-rewrite restart. Say so, do not roll back. */
			if (x->cur.kind == OP_RELOAD)
				mm_strlcpy(x->rw.state, "reload failed", sizeof x->rw.state);
			mm_iso_finish(x, false, C_FAILED, "%s %s: map written, but postfix reload: %s%s%s",
			       mm_iso_verb(x), x->cur.dest, desc, res->err[0] ? ": " : "", res->err);
			return;
		}
		x->rw.pending = false; /* every Postfix process restarts on a reload */
		if (x->cur.kind == OP_ISOLATE) {
			isolated(x, true);
			return;
		}
		if (x->cur.kind == OP_RELOAD) {
			mm_strlcpy(x->rw.state, "reloaded", sizeof x->rw.state);
			x->rw.at_s = mm_wall_ms() / 1000;
			mm_iso_finish(x, true, -1, "postfix reload done: %s", x->rw.detail);
			return;
		}
		if (x->cur.kind == OP_SYNC) {
			mm_iso_finish(x, true, -1, "map %s resynchronised (%zu destinations)", x->map_path,
			       x->set.n);
			return;
		}
		x->step = S_LIST;
		break;
	case S_LIST:
		if (ok)
			mm_isolate_pq_end(&x->mv.pq);
		if (!ok) {
			char why[2048];
			snprintf(why, sizeof why, "postqueue -j: %s%s%s", desc,
				 res->err[0] ? ": " : "", res->err);
			mm_strlcpy(x->mv.last_err, why, sizeof x->mv.last_err);
			mm_iso_released(x);
			return;
		}
		x->step = S_MOVE;
		x->mv.deadline_ms = mm_mono_ms() + MM_ISOLATE_MOVE_MS;
		mm_iso_move_more(x);
		return;
	case S_MOVE: /* separated: the root helper's answer */
		mm_iso_helper_moved(x, res, desc);
		return;
	}
	step(x);
}

/* Starts the child of x->step. */
static void step(struct mm_isolate *x)
{
	const char *dir = mm_iso_confdir(x);
	char prog[600];
	char spec[700];
	snprintf(spec, sizeof spec, "hash:%s", x->map_path);
	switch (x->step) {
	case S_MAPS: {
		char *argv[] = {mm_iso_cmd(x, "postconf", prog, sizeof prog), "-c", (char *)dir, "-x", "-h", "transport_maps", "queue_directory", NULL};
		spawn(x, argv);
		return;
	}
	case S_MASTER: {
		char svc[64];
		snprintf(svc, sizeof svc, "%s/unix", x->transport);
		char *argv[] = {mm_iso_cmd(x, "postconf", prog, sizeof prog), "-c", (char *)dir, "-M", svc, NULL};
		spawn(x, argv);
		return;
	}
	case S_NEXTHOP: {
		char *argv[] = {mm_iso_cmd(x, "postmap", prog, sizeof prog), "-c", (char *)dir, "-q", x->cur.dest, x->maps[x->map_i],
				NULL};
		spawn(x, argv);
		return;
	}
	case S_POSTMAP: {
		char *argv[] = {mm_iso_cmd(x, "postmap", prog, sizeof prog), "-c", (char *)dir, spec, NULL};
		spawn(x, argv);
		return;
	}
	case S_RELOAD:
		if (x->d->privsep) {
			x->ps_id = mm_privsep_postfix_reload(x->d, on_ps_done, x);
			if (!x->ps_id)
				mm_iso_finish(x, false, C_FAILED,
				       "%s %s: map written, but the root helper cannot be asked "
				       "for postfix reload",
				       mm_iso_verb(x), x->cur.dest);
			return;
		} else {
			char *argv[] = {mm_iso_cmd(x, "postfix", prog, sizeof prog), "-c", (char *)dir, "reload", NULL};
			spawn(x, argv);
		}
		return;
	case S_LIST: {
		mm_isolate_pq_init(&x->mv.pq, x->cur.dest);
		if (x->d->privsep) {
			/* postqueue as mailmon needs [mta] config_directory in
			 * the default main.cf's alternate_config_directories:
			 * the root helper moves the mail instead. */
			x->step = S_MOVE;
			x->ps_id = mm_privsep_isolate_move(x->d, x->cur.dest, on_ps_done, x);
			if (!x->ps_id) {
				x->step = S_LIST;
				mm_strlcpy(x->mv.last_err, "the root helper cannot be asked",
					   sizeof x->mv.last_err);
				mm_iso_released(x);
			}
			return;
		}
		char *argv[] = {mm_iso_cmd(x, "postqueue", prog, sizeof prog), "-c", (char *)dir, "-j", NULL};
		struct mm_child_params p;
		mm_isolate_pq_params(x->d->conf, argv, &x->mv.pq, &p);
		struct mm_err err = {{0}};
		x->child = mm_child_start(x->d->base, &p, on_done, x, &err);
		if (!x->child) {
			char why[2048];
			snprintf(why, sizeof why, "cannot run %s: %s", argv[0], err.msg);
			mm_strlcpy(x->mv.last_err, why, sizeof x->mv.last_err);
			mm_iso_released(x);
		}
		return;
	}
	case S_MOVE:
		return; /* started by advance() */
	}
}

/* Starts the next pending operation when none runs. */
void mm_iso_kick(struct mm_isolate *x)
{
	while (!x->busy && x->npending > 0) {
		x->cur = x->pending[0];
		memmove(&x->pending[0], &x->pending[1], (x->npending - 1) * sizeof x->pending[0]);
		x->npending--;
		x->busy = true;
		if (x->cur.kind == OP_ISOLATE) {
			if (mm_isolate_find(&x->set, x->cur.dest)) {
				mm_iso_finish(x, true, -1, "%s is already isolated", x->cur.dest);
				continue;
			}
			if ((int64_t)x->set.n >= x->max_dest) {
				mm_iso_finish(x, false, C_REFUSED,
				       "isolate %s refused: %zu destinations isolated already "
				       "([isolate] max_destinations)",
				       x->cur.dest, x->set.n);
				continue;
			}
			x->step = S_MAPS;
		} else if (x->cur.kind == OP_RELEASE) {
			struct mm_isolated *e = mm_isolate_find(&x->set, x->cur.dest);
			if (!e) {
				mm_iso_finish(x, false, -1, "%s is not isolated", x->cur.dest);
				continue;
			}
			mm_strlcpy(x->cur.reason, e->reason, sizeof x->cur.reason);
			x->before = x->set;
			mm_isolate_remove(&x->set, x->cur.dest);
			struct mm_err err;
			if (write_files(x, &err) < 0) {
				x->set = x->before;
				mm_iso_finish(x, false, C_FAILED, "release %s: %s", x->cur.dest, err.msg);
				continue;
			}
			x->step = S_POSTMAP;
		} else if (x->cur.kind == OP_RELOAD) {
			x->step = S_RELOAD;
		} else {
			struct mm_err err;
			if (write_files(x, &err) < 0) {
				mm_iso_finish(x, false, C_FAILED, "resync: %s", err.msg);
				continue;
			}
			x->step = S_POSTMAP;
		}
		step(x);
	}
}

/* Queues an operation; its id (0: the queue is full). */
uint32_t mm_iso_enqueue(struct mm_isolate *x, enum op_kind kind, const char *dest,
			const char *reason, bool manual, bool reload)
{
	for (size_t i = 0; i < x->npending; i++)
		if (x->pending[i].kind == kind && strcmp(x->pending[i].dest, dest) == 0)
			return x->pending[i].id;
	if (x->npending == MAX_PENDING)
		return 0;
	struct op *o = &x->pending[x->npending++];
	memset(o, 0, sizeof *o);
	if (++x->next_id == 0)
		x->next_id = 1;
	o->id = x->next_id;
	o->kind = kind;
	mm_strlcpy(o->dest, dest, sizeof o->dest);
	mm_strlcpy(o->reason, reason, sizeof o->reason);
	o->manual = manual;
	o->reload = reload;
	uint32_t id = o->id;
	mm_iso_kick(x); /* may start it at once (o is then gone) */
	return id;
}

static bool in_list(char **list, const char *s)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

bool mm_iso_pending_or_running(const struct mm_isolate *x, const char *dest)
{
	if (x->busy && strcmp(x->cur.dest, dest) == 0)
		return true;
	for (size_t i = 0; i < x->npending; i++)
		if (strcmp(x->pending[i].dest, dest) == 0)
			return true;
	return false;
}

/* Does dest have queued recipients whose delay reason is a failure? */
static bool failing(const struct mm_registry *reg, const char *dest)
{
	const struct mm_metric *m = mm_registry_find(reg, "mailmon_queue_destination_reason_recipients");
	for (size_t i = 0; m && i < mm_metric_nseries(m); i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		if (strcmp(s->lv[1], dest) == 0 && strcmp(s->lv[2], "none") != 0 && s->value > 0)
			return true;
	}
	return false;
}

/* Has trivial-rewrite picked up the map of the last isolation (every
 * trivial-rewrite child of the master started after postmap finished, or
 * none running)? If not within rewrite_wait: postfix reload, logged with
 * the process that kept the old map. */
static void check_rewrite(struct mm_isolate *x)
{
	if (!x->rw.pending)
		return;
	int64_t now = mm_mono_ms();
	long long wait_s = (long long)(x->rewrite_wait_ms / 1000);
	long long waited_s = (long long)((now - x->rw.start_ms) / 1000);
	struct mm_rewrite_check c;
	struct mm_err err = {{0}};
	char why[400];
	if (mm_isolate_rewrite_check(x->d, x->qdir, x->rw.since, &c, &err) == 0) {
		x->rw.err_logged = false;
		if (c.stale == 0) {
			x->rw.pending = false;
			x->rw.at_s = mm_wall_ms() / 1000;
			mm_strlcpy(x->rw.state, "picked up", sizeof x->rw.state);
			snprintf(x->rw.detail, sizeof x->rw.detail,
				 "the map of %s: %d trivial-rewrite processes of master %d, all "
				 "started after the map change (seen %lld s after it)",
				 x->rw.dest, c.total, (int)c.master, waited_s);
			mm_log_notice(&x->d->log, "isolate: trivial-rewrite picked up %s",
				      x->rw.detail);
			return;
		}
		snprintf(why, sizeof why,
			 "trivial-rewrite pid %d (running for %lld s, started %lld s before the "
			 "map change of %s; %d of %d processes of master %d) has not restarted",
			 (int)c.pid, (long long)c.age_s, (long long)c.before_s, x->rw.dest, c.stale,
			 c.total, (int)c.master);
	} else {
		if (!x->rw.err_logged)
			mm_log_warn(&x->d->log, "isolate: cannot check trivial-rewrite: %s", err.msg);
		x->rw.err_logged = true;
		snprintf(why, sizeof why,
			 "cannot check that trivial-rewrite restarted on the map of %s (%.200s)",
			 x->rw.dest, err.msg);
	}
	if (now < x->rw.deadline_ms) {
		snprintf(x->rw.detail, sizeof x->rw.detail, "%.300s (waited %lld of %lld s)", why,
			 waited_s, wait_s);
		return;
	}
	x->rw.pending = false;
	x->rw.at_s = mm_wall_ms() / 1000;
	mm_strlcpy(x->rw.state, "reload", sizeof x->rw.state);
	snprintf(x->rw.detail, sizeof x->rw.detail, "%.300s within rewrite_wait (%lld s)", why,
		 wait_s);
	mm_log_warn(&x->d->log, "isolate: %s: postfix reload", x->rw.detail);
	mm_iso_enqueue(x, OP_RELOAD, x->rw.dest, "reload", false, false);
}

static void run(void *arg, int64_t now_ms)
{
	struct mm_isolate *x = arg;
	(void)now_ms;
	if (x->need_sync) {
		x->need_sync = false;
		mm_iso_enqueue(x, OP_SYNC, "", "", false, false);
	}
	check_rewrite(x);
	mm_daemon_collect(x->d);
	const struct mm_registry *reg = x->d->metrics;
	int64_t now_s = mm_wall_ms() / 1000;
	/* Release: an automatic isolation whose destination stopped failing. */
	bool changed = false;
	for (size_t i = 0; i < x->set.n; i++) {
		struct mm_isolated *e = &x->set.v[i];
		if (failing(reg, e->dest)) {
			changed |= e->quiet_since_s != 0;
			e->quiet_since_s = 0;
			continue;
		}
		if (e->quiet_since_s == 0) {
			e->quiet_since_s = now_s;
			changed = true;
		}
		if (!e->manual && (now_s - e->quiet_since_s) * 1000 >= x->release_after_ms &&
		    !mm_iso_pending_or_running(x, e->dest)) {
			mm_log_notice(&x->d->log,
				      "isolate: %s has not been failing for %lld s: releasing",
				      e->dest, (long long)(now_s - e->quiet_since_s));
			char dest[MM_ISOLATE_DEST], reason[MM_ISOLATE_REASON];
			mm_strlcpy(dest, e->dest, sizeof dest);
			mm_strlcpy(reason, e->reason, sizeof reason);
			/* It may start at once and take e out of the set: one
			 * release per run, the next ones at the next runs. */
			mm_iso_enqueue(x, OP_RELEASE, dest, reason, false, false);
			break;
		}
	}
	if (changed && !x->busy) {
		struct mm_err err;
		if (write_files(x, &err) < 0)
			mm_log_err(&x->d->log, "isolate: %s", err.msg);
	}
	/* Isolate: floods of a class we act on. */
	if (!x->autoiso || mm_mono_ms() < x->setup_retry_ms)
		return;
	const struct mm_metric *m = mm_registry_find(reg, "mailmon_flooded_destination_messages");
	const struct mm_metric *ua = mm_registry_find(reg, "mailmon_flooded_destination_unanswered");
	for (size_t i = 0; m && i < mm_metric_nseries(m); i++) {
		const struct mm_series *s = mm_metric_series(m, i);
		const char *dest = s->lv[0], *cls = s->lv[1];
		if (s->folded || !in_list(x->classes, cls) || !mm_isolate_dest_ok(dest) ||
		    mm_isolate_find(&x->set, dest) || mm_iso_pending_or_running(x, dest) || held(x, dest))
			continue;
		if ((int64_t)(x->set.n + x->npending + x->busy) >= x->max_dest) {
			mm_log_warn(&x->d->log,
				    "isolate: %s is flooded (%s) but %zu destinations are isolated "
				    "already ([isolate] max_destinations)",
				    dest, cls, x->set.n);
			x->setup_retry_ms = mm_mono_ms() + SETUP_RETRY_MS; /* say it once a minute */
			break;
		}
		const struct mm_series *us = ua ? mm_metric_lookup(ua, (const char *[]){dest}) : NULL;
		bool unanswered = us && us->value > 0;
		mm_log_warn(&x->d->log, "isolate: %s is flooded (%s, %.0f messages%s): isolating%s",
			    dest, cls, s->value, unanswered ? ", no answer" : "",
			    unanswered ? ", then postfix reload" : "");
		mm_iso_enqueue(x, OP_ISOLATE, dest, cls, false, unanswered);
	}
}

/* ---- the module ---- */

static int isolate_check(struct mm_daemon *d, const struct mm_config *next, struct mm_err *err)
{
	(void)d;
	if (!mm_isolate_transport_ok(mm_config_get(next, "isolate", "transport")))
		return mm_err_set(err, "isolate.transport: \"%s\": give a master.cf service name "
				       "(a-z, 0-9, - and _, at most 32)",
				  mm_config_get(next, "isolate", "transport"));
	return 0;
}

/* The state file: read, or set aside when damaged (the map is then
 * rewritten from the empty set). */
static void load_state(struct mm_isolate *x)
{
	struct mm_err err = {{0}};
	size_t len;
	int e = 0;
	char *text = mm_file_read_capped(x->state_path, MM_ISOLATE_STATE_MAX, &len, &e, &err);
	if (!text && e == ENOENT)
		return;
	if (text && mm_isolate_parse(text, len, &x->set, &err) == 0) {
		free(text);
		mm_log_notice(&x->d->log, "isolate: %zu destinations isolated (from %s)", x->set.n,
			      x->state_path);
		return;
	}
	free(text);
	char aside[700];
	snprintf(aside, sizeof aside, "%s.damaged", x->state_path);
	rename(x->state_path, aside);
	mm_log_err(&x->d->log, "isolate: %s: %s; set aside as %s, map emptied", x->state_path,
		   err.msg, aside);
	x->set.n = 0;
	x->changes[C_FAILED]++;
	x->need_sync = true;
}

static void isolate_free(struct mm_daemon *d);

static int isolate_init(struct mm_daemon *d, struct mm_err *err)
{
	if (!mm_config_bool(d->conf, "isolate", "enable"))
		return 0;
	if (isolate_check(d, d->conf, err) < 0)
		return -1;
	struct mm_isolate *x = xcalloc(1, sizeof *x);
	x->d = d;
	d->isolate = x;
	for (size_t k = 0; k < MOVE_PARALLEL; k++)
		x->mv.movers[k].x = x;
	const char *sd = mm_config_get(d->conf, "daemon", "state_directory");
	snprintf(x->dir, sizeof x->dir, "%s/isolate", sd);
	snprintf(x->map_path, sizeof x->map_path, "%s/transport", x->dir);
	snprintf(x->state_path, sizeof x->state_path, "%s/state", x->dir);
	/* Postfix (as its own user) reads the map: the directory is
	 * world-searchable; nothing in it is secret. */
	if (mkdir(x->dir, 0755) < 0 && errno != EEXIST)
		return mm_err_set(err, "isolate: cannot create %s: %s", x->dir, strerror(errno));
	take_conf(x);
	if (mm_iso_publish_add(x, err) < 0)
		return -1;
	load_state(x);
	/* A map file missing (first start, or removed): written from the set,
	 * at the first run: after the privilege drop, so that the files and
	 * postmap's .db belong to mailmond's user. */
	if (access(x->map_path, F_OK) < 0)
		x->need_sync = true;
	mm_http_route_post(d, "/api/isolate", mm_iso_on_api, x);
	int64_t iv = mm_config_duration_ms(d->conf, "isolate", "interval");
	mm_schedule_add(&d->sched, "isolate", iv, iv, mm_mono_ms(), run, x);
	return 0;
}

static void isolate_apply(struct mm_daemon *d, const struct mm_config *old)
{
	(void)old;
	if (d->isolate)
		take_conf(d->isolate);
}

static void isolate_in_effect(struct mm_daemon *d, json_t *out)
{
	struct mm_isolate *x = d->isolate;
	if (!x)
		return;
	struct mm_strbuf cl;
	mm_strbuf_init(&cl, 4096);
	for (size_t i = 0; x->classes && x->classes[i]; i++)
		mm_strbuf_printf(&cl, "%s%s", i ? ", " : "", x->classes[i]);
	json_object_set_new(out, "isolate.transport", json_string(x->transport));
	json_object_set_new(out, "isolate.auto", json_string(x->autoiso ? "yes" : "no"));
	json_object_set_new(out, "isolate.classes", mm_json_text(cl.len ? cl.p : ""));
	json_object_set_new(out, "isolate.max_destinations", json_integer(x->max_dest));
	json_object_set_new(out, "isolate.release_after", json_integer(x->release_after_ms));
	json_object_set_new(out, "isolate.rewrite_wait", json_integer(x->rewrite_wait_ms));
	mm_strbuf_free(&cl);
}

static void isolate_free(struct mm_daemon *d)
{
	struct mm_isolate *x = d->isolate;
	if (!x)
		return;
	mm_registry_remove_collector(d->metrics, x);
	mm_http_unroute(d, "/api/isolate");
	if (x->child)
		mm_child_cancel(x->child);
	for (size_t k = 0; k < MOVE_PARALLEL; k++)
		if (x->mv.movers[k].child)
			mm_child_cancel(x->mv.movers[k].child);
	mm_isolate_pq_free(&x->mv.pq);
	if (x->ps_id)
		mm_privsep_cancel(d, x->ps_id);
	for (size_t i = 0; i < d->sched.n; i++)
		if (strcmp(d->sched.jobs[i].name, "isolate") == 0)
			d->sched.jobs[i].fn = NULL;
	free_maps(x);
	mm_config_list_free(x->classes);
	free(x);
	d->isolate = NULL;
}

const struct mm_module mm_module_isolate = {
	.name = "isolate",
	.conf = {&mm_conf_table_isolate},
	.init = isolate_init,
	.check = isolate_check,
	.apply = isolate_apply,
	.in_effect = isolate_in_effect,
	.status = mm_iso_status,
	.free = isolate_free,
};

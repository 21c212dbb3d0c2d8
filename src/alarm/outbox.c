/*
 * outbox: a directory of notices waiting for delivery (see outbox.h).
 */
#include "alarm/outbox.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "core/xalloc.h"

static int cmp_seq(const void *a, const void *b)
{
	const struct mm_outbox_entry *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* "00000000000000000042.mail" -> seq 42, channel "mail"; else -1. */
static int parse_name(const char *name, uint64_t *seq, char *channel, size_t cap)
{
	const char *dot = strchr(name, '.');
	if (!dot || dot - name != 20 || strlen(dot + 1) == 0 || strlen(dot + 1) >= cap)
		return -1;
	for (const char *p = name; p < dot; p++)
		if (*p < '0' || *p > '9')
			return -1;
	for (const char *p = dot + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return -1;
	*seq = strtoull(name, NULL, 10);
	snprintf(channel, cap, "%s", dot + 1);
	return 0;
}

static struct mm_outbox_entry *push(struct mm_outbox *ob, uint64_t seq, const char *channel,
				    const char *name, int64_t now_ms)
{
	ob->v = xgrow(ob->v, &ob->cap, ob->n + 1, sizeof *ob->v);
	struct mm_outbox_entry *e = &ob->v[ob->n++];
	memset(e, 0, sizeof *e);
	e->seq = seq;
	snprintf(e->channel, sizeof e->channel, "%s", channel);
	size_t len = strlen(ob->dir) + strlen(name) + 2;
	e->path = xmalloc(len);
	snprintf(e->path, len, "%s/%s", ob->dir, name);
	e->next_ms = now_ms;
	if (seq >= ob->next_seq)
		ob->next_seq = seq + 1;
	return e;
}

struct mm_outbox *mm_outbox_open(const char *dir, int64_t retry_min_ms, int64_t retry_max_ms,
				 struct mm_err *err)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		mm_err_sys(err, errno, "cannot create the alarm outbox %s", dir);
		return NULL;
	}
	DIR *dp = opendir(dir);
	if (!dp) {
		mm_err_sys(err, errno, "cannot read the alarm outbox %s", dir);
		return NULL;
	}
	struct mm_outbox *ob = xcalloc(1, sizeof *ob);
	ob->dir = xstrdup(dir);
	ob->next_seq = 1;
	mm_outbox_set_retry(ob, retry_min_ms, retry_max_ms);
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		uint64_t seq;
		char ch[16];
		if (parse_name(de->d_name, &seq, ch, sizeof ch) == 0)
			push(ob, seq, ch, de->d_name, 0);
	}
	closedir(dp);
	if (ob->n) /* qsort(NULL, 0, ...) is undefined */
		qsort(ob->v, ob->n, sizeof *ob->v, cmp_seq);
	return ob;
}

void mm_outbox_set_retry(struct mm_outbox *ob, int64_t retry_min_ms, int64_t retry_max_ms)
{
	ob->retry_min_ms = retry_min_ms > 0 ? retry_min_ms : 1000;
	ob->retry_max_ms = retry_max_ms >= ob->retry_min_ms ? retry_max_ms : ob->retry_min_ms;
}

static void entry_free(struct mm_outbox_entry *e)
{
	free(e->path);
	free(e->keys);
}

void mm_outbox_close(struct mm_outbox *ob)
{
	if (!ob)
		return;
	for (size_t i = 0; i < ob->n; i++)
		entry_free(&ob->v[i]);
	free(ob->v);
	free(ob->dir);
	free(ob);
}

struct mm_outbox_entry *mm_outbox_add(struct mm_outbox *ob, const char *channel,
				      const void *data, size_t len, const char *keys,
				      int64_t now_ms, struct mm_err *err)
{
	char name[64];
	snprintf(name, sizeof name, "%020" PRIu64 ".%s", ob->next_seq, channel);
	size_t plen = strlen(ob->dir) + strlen(name) + 2;
	char *path = xmalloc(plen);
	snprintf(path, plen, "%s/%s", ob->dir, name);
	int rc = mm_file_write_atomic(path, data, len, 0600, err);
	free(path);
	if (rc < 0)
		return NULL;
	struct mm_outbox_entry *e = push(ob, ob->next_seq, channel, name, now_ms);
	e->keys = keys ? xstrdup(keys) : NULL;
	return e;
}

/* Only the oldest entry of a channel is eligible: notices go out in
 * order, and a channel that is down is tried with one notice, not all. */
static bool first_of_channel(const struct mm_outbox *ob, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(ob->v[j].channel, ob->v[i].channel) == 0)
			return false;
	return true;
}

struct mm_outbox_entry *mm_outbox_due(struct mm_outbox *ob, const char *channel, int64_t now_ms)
{
	for (size_t i = 0; i < ob->n; i++) {
		struct mm_outbox_entry *e = &ob->v[i];
		if (strcmp(e->channel, channel) != 0 || !first_of_channel(ob, i))
			continue;
		return !e->busy && e->next_ms <= now_ms ? e : NULL;
	}
	return NULL;
}

int64_t mm_outbox_next_due(const struct mm_outbox *ob)
{
	int64_t best = INT64_MAX;
	for (size_t i = 0; i < ob->n; i++)
		if (!ob->v[i].busy && ob->v[i].next_ms < best && first_of_channel(ob, i))
			best = ob->v[i].next_ms;
	return best;
}

char *mm_outbox_read(const struct mm_outbox *ob, const struct mm_outbox_entry *e, size_t *len,
		     struct mm_err *err)
{
	(void)ob;
	return mm_file_read_capped(e->path, MM_OUTBOX_MAX_FILE, len, NULL, err);
}

void mm_outbox_done(struct mm_outbox *ob, struct mm_outbox_entry *e)
{
	unlink(e->path);
	ob->delivered++;
	size_t i = (size_t)(e - ob->v);
	entry_free(e);
	memmove(&ob->v[i], &ob->v[i + 1], (ob->n - i - 1) * sizeof *ob->v);
	ob->n--;
}

void mm_outbox_failed(struct mm_outbox *ob, struct mm_outbox_entry *e, const char *why,
		      int64_t now_ms)
{
	e->busy = false;
	e->attempts++;
	ob->failures++;
	int64_t wait = ob->retry_min_ms;
	for (unsigned i = 1; i < e->attempts && wait < ob->retry_max_ms; i++)
		wait *= 2;
	if (wait > ob->retry_max_ms)
		wait = ob->retry_max_ms;
	e->next_ms = now_ms + wait;
	snprintf(e->last_error, sizeof e->last_error, "%s", why);
	snprintf(ob->last_error, sizeof ob->last_error, "%s", why);
	ob->last_error_ms = now_ms;
}

size_t mm_outbox_backlog(const struct mm_outbox *ob, const char *channel)
{
	size_t n = 0;
	for (size_t i = 0; i < ob->n; i++)
		if (!channel || strcmp(ob->v[i].channel, channel) == 0)
			n++;
	return n;
}

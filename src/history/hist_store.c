/*
 * hist_store: the tiered SQLite history (see hist_store.h). This file
 * opens, recovers, writes and expires; hist_query.c reads.
 */
#include "history/hist_store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/xalloc.h"

const struct mm_hist_tier mm_hist_tiers[MM_HIST_TIERS] = {
	{10, 2 * 86400, 86400},
	{60, 30 * 86400, 86400},
	{3600, 730 * 86400, 30 * 86400},
};

#define SCHEMA_VERSION "1"

static const char *const schema_sql =
	"CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
	"INSERT OR IGNORE INTO meta(k, v) VALUES('version', '" SCHEMA_VERSION "');"
	"CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL, counter INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS series_name ON series(name);";

bool mm_hist_damage_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
		return true;
	default:
		return false;
	}
}

int mm_hist_sqlerr(struct mm_hist_store *h, struct mm_err *err, int rc, const char *what)
{
	if (mm_hist_damage_rc(rc))
		h->damaged = true;
	return mm_err_set(err, "history %s: %s: %s", h->path, what,
			  h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
}

static int exec(struct mm_hist_store *h, const char *sql, struct mm_err *err)
{
	int rc = sqlite3_exec(h->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : mm_hist_sqlerr(h, err, rc, sql);
}

void mm_hist_table_name(char *buf, size_t cap, int tier, int64_t part)
{
	snprintf(buf, cap, "h%d_%" PRId64, tier, part);
}

static void drop_statements(struct mm_hist_store *h)
{
	sqlite3_stmt **all[] = {&h->sel_series, &h->ins_series, &h->has_table};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		sqlite3_finalize(*all[i]);
		*all[i] = NULL;
	}
	for (int i = 0; i < MM_HIST_TIERS; i++) {
		sqlite3_finalize(h->ins[i]);
		h->ins[i] = NULL;
		h->ins_part[i] = INT64_MIN;
	}
}

static void close_db(struct mm_hist_store *h)
{
	drop_statements(h);
	if (h->db)
		sqlite3_close_v2(h->db);
	h->db = NULL;
}

static int prepare(struct mm_hist_store *h, const char *sql, sqlite3_stmt **st, struct mm_err *err)
{
	int rc = sqlite3_prepare_v2(h->db, sql, -1, st, NULL);
	return rc == SQLITE_OK ? 0 : mm_hist_sqlerr(h, err, rc, sql);
}

/* Opens the file as it is; -1 when it is not a usable version-1 database. */
static int open_db(struct mm_hist_store *h, struct mm_err *err)
{
	h->damaged = false;
	int rc = sqlite3_open_v2(h->path, &h->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		mm_hist_sqlerr(h, err, rc, "open");
		h->damaged = true;
		return -1;
	}
	sqlite3_extended_result_codes(h->db, 0);
	/* auto_vacuum only takes effect before the first table: a new file. */
	if (exec(h, "PRAGMA auto_vacuum=INCREMENTAL", err) < 0 ||
	    exec(h, "PRAGMA journal_mode=WAL", err) < 0 ||
	    exec(h, "PRAGMA synchronous=NORMAL", err) < 0 ||
	    exec(h, "PRAGMA journal_size_limit=16777216", err) < 0 ||
	    exec(h, schema_sql, err) < 0)
		return -1;
	sqlite3_stmt *st = NULL;
	if (prepare(h, "SELECT v FROM meta WHERE k='version'", &st, err) < 0)
		return -1;
	rc = sqlite3_step(st);
	bool ok = rc == SQLITE_ROW &&
		  strcmp((const char *)sqlite3_column_text(st, 0), SCHEMA_VERSION) == 0;
	sqlite3_finalize(st);
	if (!ok) {
		h->damaged = true;
		return mm_err_set(err, "history %s: not a version %s mailmon history", h->path,
				  SCHEMA_VERSION);
	}
	if (prepare(h, "SELECT id FROM series WHERE key=?", &h->sel_series, err) < 0 ||
	    prepare(h, "INSERT INTO series(key, name, counter) VALUES(?, ?, ?)", &h->ins_series,
		    err) < 0 ||
	    prepare(h, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
		    &h->has_table, err) < 0)
		return -1;
	/* Put the header on disk now, so the identity check below has one. */
	sqlite3_wal_checkpoint_v2(h->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	struct stat sb;
	if (stat(h->path, &sb) < 0) {
		h->damaged = true;
		return mm_err_sys(err, errno, "history %s", h->path);
	}
	h->dev = sb.st_dev;
	h->ino = sb.st_ino;
	return 0;
}

/* Moves path (and its WAL and shared-memory files) aside. */
static void move_aside(struct mm_hist_store *h, int64_t now_s)
{
	snprintf(h->st.last_moved_to, sizeof h->st.last_moved_to, "%s.broken-%" PRId64, h->path,
		 now_s);
	if (rename(h->path, h->st.last_moved_to) < 0 && errno != ENOENT)
		unlink(h->path);
	const char *sfx[] = {"-wal", "-shm"};
	for (size_t i = 0; i < 2; i++) {
		char a[600], b[600];
		snprintf(a, sizeof a, "%s%s", h->path, sfx[i]);
		snprintf(b, sizeof b, "%s%s", h->st.last_moved_to, sfx[i]);
		if (rename(a, b) < 0 && errno != ENOENT)
			unlink(a);
	}
}

static void note_error(struct mm_hist_store *h, const struct mm_err *e)
{
	snprintf(h->st.last_error, sizeof h->st.last_error, "%s", e->msg);
	h->st.last_error_unix = (int64_t)time(NULL);
}

/* After damage: close, move aside, create a fresh file. 0 when the store
 * has a database again. */
static int recover(struct mm_hist_store *h, struct mm_err *err)
{
	/* closing checkpoints the WAL into the file: not into a damaged one */
	if (h->db)
		sqlite3_db_config(h->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	close_db(h);
	move_aside(h, (int64_t)time(NULL));
	h->st.recoveries++;
	if (open_db(h, err) < 0) {
		close_db(h);
		snprintf(h->st.state, sizeof h->st.state, "unavailable");
		return -1;
	}
	snprintf(h->st.state, sizeof h->st.state, "ok");
	return 0;
}

/* Opens the file if the store has none; moves a damaged one aside. */
static int ensure_open(struct mm_hist_store *h, struct mm_err *err)
{
	if (h->db)
		return 0;
	if (open_db(h, err) == 0) {
		snprintf(h->st.state, sizeof h->st.state, "ok");
		return 0;
	}
	note_error(h, err);
	if (h->damaged)
		return recover(h, err);
	close_db(h);
	snprintf(h->st.state, sizeof h->st.state, "unavailable");
	return -1;
}

struct mm_hist_store *mm_hist_open(const char *path, uint64_t max_bytes, struct mm_err *err)
{
	struct mm_hist_store *h = xcalloc(1, sizeof *h);
	h->path = xstrdup(path);
	h->st.max_bytes = max_bytes;
	for (int i = 0; i < MM_HIST_TIERS; i++)
		h->ins_part[i] = INT64_MIN;
	snprintf(h->st.path, sizeof h->st.path, "%s", path);
	if (ensure_open(h, err) < 0)
		note_error(h, err);
	return h;
}

struct mm_hist_store *mm_hist_open_reader(const char *path, struct mm_err *err)
{
	struct mm_hist_store *h = xcalloc(1, sizeof *h);
	h->path = xstrdup(path);
	int rc = sqlite3_open_v2(path, &h->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(h->db,
					"SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", -1,
					&h->has_table, NULL);
	if (rc != SQLITE_OK) {
		mm_hist_sqlerr(h, err, rc, "open for reading");
		mm_hist_close(h);
		return NULL;
	}
	return h;
}

void mm_hist_close(struct mm_hist_store *h)
{
	if (!h)
		return;
	close_db(h);
	free(h->path);
	free(h);
}

void mm_hist_set_max_bytes(struct mm_hist_store *h, uint64_t max_bytes)
{
	h->st.max_bytes = max_bytes;
}

/* Is the file at our path still the database we opened? Someone may have
 * replaced, removed or overwritten it; SQLite, holding its pages in cache,
 * might not notice for a long time. */
static bool file_intact(struct mm_hist_store *h, struct mm_err *err)
{
	struct stat sb;
	if (stat(h->path, &sb) < 0 || sb.st_dev != h->dev || sb.st_ino != h->ino) {
		mm_err_set(err, "history %s: the file was removed or replaced", h->path);
		return false;
	}
	char hdr[16] = {0};
	int fd = open(h->path, O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? pread(fd, hdr, sizeof hdr, 0) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof hdr || memcmp(hdr, "SQLite format 3", 16) != 0) {
		mm_err_set(err, "history %s: the file no longer has a SQLite header", h->path);
		return false;
	}
	return true;
}

static int64_t series_id(struct mm_hist_store *h, const struct mm_hist_sample *s,
			 struct mm_err *err)
{
	sqlite3_stmt *q = h->sel_series;
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, s->key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		return id;
	}
	if (rc != SQLITE_DONE)
		return mm_hist_sqlerr(h, err, rc, "series lookup");
	sqlite3_stmt *in = h->ins_series;
	sqlite3_reset(in);
	sqlite3_bind_text(in, 1, s->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(in, 2, s->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(in, 3, s->counter);
	rc = sqlite3_step(in);
	sqlite3_reset(in);
	if (rc != SQLITE_DONE)
		return mm_hist_sqlerr(h, err, rc, "series insert");
	return sqlite3_last_insert_rowid(h->db);
}

/* The insert statement of tier i for the partition holding t. */
static sqlite3_stmt *tier_insert(struct mm_hist_store *h, int i, int64_t t, struct mm_err *err)
{
	int64_t part = mm_hist_floordiv(t, mm_hist_tiers[i].part_s);
	if (h->ins[i] && h->ins_part[i] == part)
		return h->ins[i];
	sqlite3_finalize(h->ins[i]);
	h->ins[i] = NULL;
	char tab[48], sql[512];
	mm_hist_table_name(tab, sizeof tab, i, part);
	if (i == 0)
		snprintf(sql, sizeof sql,
			 "CREATE TABLE IF NOT EXISTS %s(series INTEGER NOT NULL, t INTEGER NOT NULL,"
			 " v REAL, PRIMARY KEY(series, t)) WITHOUT ROWID",
			 tab);
	else
		snprintf(sql, sizeof sql,
			 "CREATE TABLE IF NOT EXISTS %s(series INTEGER NOT NULL, t INTEGER NOT NULL,"
			 " n INTEGER NOT NULL, mn REAL, sm REAL, mx REAL, last REAL,"
			 " PRIMARY KEY(series, t)) WITHOUT ROWID",
			 tab);
	if (exec(h, sql, err) < 0)
		return NULL;
	if (i == 0)
		snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO %s(series, t, v) VALUES(?, ?, ?)",
			 tab);
	else
		snprintf(sql, sizeof sql,
			 "INSERT INTO %s(series, t, n, mn, sm, mx, last) VALUES(?, ?, 1, ?4, ?4, ?4, ?4)"
			 " ON CONFLICT(series, t) DO UPDATE SET n = n + 1, mn = min(mn, excluded.mn),"
			 " sm = sm + excluded.sm, mx = max(mx, excluded.mx), last = excluded.last",
			 tab);
	if (prepare(h, sql, &h->ins[i], err) < 0)
		return NULL;
	h->ins_part[i] = part;
	return h->ins[i];
}

static int write_batch(struct mm_hist_store *h, int64_t t_s, const struct mm_hist_sample *s,
		       size_t n, struct mm_err *err)
{
	if (exec(h, "BEGIN", err) < 0)
		return -1;
	sqlite3_stmt *ins[MM_HIST_TIERS];
	for (int i = 0; i < MM_HIST_TIERS; i++)
		if (!(ins[i] = tier_insert(h, i, t_s, err)))
			goto fail;
	for (size_t k = 0; k < n; k++) {
		int64_t id = series_id(h, &s[k], err);
		if (id < 0)
			goto fail;
		for (int i = 0; i < MM_HIST_TIERS; i++) {
			int64_t res = mm_hist_tiers[i].res_s;
			sqlite3_reset(ins[i]);
			sqlite3_bind_int64(ins[i], 1, id);
			sqlite3_bind_int64(ins[i], 2, i == 0 ? t_s : mm_hist_floordiv(t_s, res) * res);
			if (i == 0)
				sqlite3_bind_double(ins[i], 3, s[k].v);
			else
				sqlite3_bind_double(ins[i], 4, s[k].v);
			int rc = sqlite3_step(ins[i]);
			if (rc != SQLITE_DONE) {
				mm_hist_sqlerr(h, err, rc, "insert");
				goto fail;
			}
		}
	}
	if (exec(h, "COMMIT", err) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int mm_hist_write(struct mm_hist_store *h, int64_t t_s, const struct mm_hist_sample *s,
		  size_t n, struct mm_err *err)
{
	struct mm_err e = {""};
	int rc = ensure_open(h, &e);
	if (rc == 0 && !file_intact(h, &e)) {
		note_error(h, &e);
		rc = recover(h, &e);
	}
	if (rc == 0 && write_batch(h, t_s, s, n, &e) < 0) {
		note_error(h, &e);
		/* a plain failure (disk full, a bad value) is not the file's fault */
		rc = h->damaged || !file_intact(h, &e) ? recover(h, &e) : -1;
		if (rc == 0)
			rc = write_batch(h, t_s, s, n, &e);
	}
	if (rc < 0) {
		note_error(h, &e);
		h->st.samples_dropped += n;
		*err = e;
		return -1;
	}
	h->st.samples_written += n;
	h->st.batches_written++;
	h->st.last_write_unix = t_s;
	return 0;
}

/* Partitions present, as (tier, part) pairs, oldest first per tier. */
struct part {
	int tier;
	int64_t part;
};

static int list_parts(struct mm_hist_store *h, struct part **out, size_t *n, struct mm_err *err)
{
	sqlite3_stmt *st;
	if (prepare(h,
		    "SELECT name FROM sqlite_master WHERE type='table' AND name GLOB 'h[0-9]_*'",
		    &st, err) < 0)
		return -1;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int tier;
		int64_t part;
		if (sscanf(name, "h%d_%" SCNd64, &tier, &part) != 2 || tier < 0 ||
		    tier >= MM_HIST_TIERS)
			continue;
		*out = xgrow(*out, &cap, *n + 1, sizeof **out);
		(*out)[(*n)++] = (struct part){tier, part};
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		return mm_hist_sqlerr(h, err, rc, "listing partitions");
	}
	return 0;
}

static int drop_part(struct mm_hist_store *h, struct part p, struct mm_err *err)
{
	char tab[48], sql[96];
	mm_hist_table_name(tab, sizeof tab, p.tier, p.part);
	snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", tab);
	if (h->ins_part[p.tier] == p.part) {
		sqlite3_finalize(h->ins[p.tier]);
		h->ins[p.tier] = NULL;
		h->ins_part[p.tier] = INT64_MIN;
	}
	return exec(h, sql, err);
}

static int64_t pragma_int(struct mm_hist_store *h, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static uint64_t used_bytes(struct mm_hist_store *h)
{
	int64_t pages = pragma_int(h, "PRAGMA page_count");
	int64_t freep = pragma_int(h, "PRAGMA freelist_count");
	int64_t psz = pragma_int(h, "PRAGMA page_size");
	if (pages < 0 || freep < 0 || psz < 0)
		return 0;
	return (uint64_t)(pages - freep) * (uint64_t)psz;
}

int mm_hist_maintain(struct mm_hist_store *h, int64_t now_s, struct mm_err *err)
{
	if (!h->db)
		return mm_err_set(err, "history %s: unavailable", h->path);
	struct part *ps;
	size_t n;
	if (list_parts(h, &ps, &n, err) < 0)
		return -1;
	bool dropped = false;
	for (size_t i = 0; i < n; i++) {
		const struct mm_hist_tier *t = &mm_hist_tiers[ps[i].tier];
		if ((ps[i].part + 1) * t->part_s > now_s - t->keep_s)
			continue;
		if (drop_part(h, ps[i], err) < 0)
			goto fail;
		ps[i].tier = -1;
		h->st.partitions_expired++;
		dropped = true;
	}
	/* The size bound: oldest partitions first, finest tier first, never a
	 * tier's newest partition. */
	while (h->st.max_bytes && used_bytes(h) > h->st.max_bytes) {
		struct part *victim = NULL;
		for (int tier = 0; tier < MM_HIST_TIERS && !victim; tier++) {
			size_t count = 0;
			struct part *oldest = NULL;
			for (size_t i = 0; i < n; i++) {
				if (ps[i].tier != tier)
					continue;
				count++;
				if (!oldest || ps[i].part < oldest->part)
					oldest = &ps[i];
			}
			if (count > 1)
				victim = oldest;
		}
		if (!victim)
			break;
		if (drop_part(h, *victim, err) < 0)
			goto fail;
		victim->tier = -1;
		h->st.partitions_dropped_for_size++;
		dropped = true;
	}
	free(ps);
	if (dropped && exec(h, "PRAGMA incremental_vacuum", err) < 0)
		return -1;
	return 0;
fail:
	free(ps);
	return -1;
}

static uint64_t file_size(const char *path, const char *suffix)
{
	char p[600];
	snprintf(p, sizeof p, "%s%s", path, suffix);
	struct stat sb;
	return stat(p, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

void mm_hist_status(struct mm_hist_store *h, struct mm_hist_status *out)
{
	h->st.size_bytes = file_size(h->path, "") + file_size(h->path, "-wal");
	int64_t ns = h->db ? pragma_int(h, "SELECT count(*) FROM series") : -1;
	h->st.series = ns > 0 ? (uint64_t)ns : 0;
	*out = h->st;
}

/*
 * hist_store_impl: the store's private state, shared by hist_store.c
 * (open, recover, write, expire) and hist_query.c (read). Nothing else
 * includes it.
 */
#ifndef MAILMON_HISTORY_HIST_STORE_IMPL_H
#define MAILMON_HISTORY_HIST_STORE_IMPL_H

#include <sqlite3.h>
#include <sys/types.h>

#include "history/hist_store.h"

struct mm_hist_store {
	char *path;
	sqlite3 *db; /* NULL while unavailable */
	dev_t dev;
	ino_t ino;
	bool damaged; /* the last SQLite error says the file is unusable */
	sqlite3_stmt *sel_series, *ins_series, *has_table;
	sqlite3_stmt *ins[MM_HIST_TIERS];
	int64_t ins_part[MM_HIST_TIERS];
	struct mm_hist_status st;
};

/* Whether rc means the file itself is broken or unusable. */
bool mm_hist_damage_rc(int rc);
/* Fills err from the connection's message; marks damage. Returns -1. */
int mm_hist_sqlerr(struct mm_hist_store *h, struct mm_err *err, int rc, const char *what);
void mm_hist_table_name(char *buf, size_t cap, int tier, int64_t part);

/* a / b rounded towards minus infinity (b > 0): bucket and partition of t */
static inline int64_t mm_hist_floordiv(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

#endif

/*
 * hist_fill: writes points with past timestamps into a history database
 * through the store's own write API (history/hist_store.h), so a system
 * test can start mailmond on days of history it knows exactly
 * (tests/system/test_baseline.py).
 *
 *   hist_fill DB < POINTS
 *
 * POINTS: one "UNIX_SECONDS KEY VALUE" per line, KEY as the history
 * stores it (`name{label="value"}`); a name ending in _total is a counter
 * (its cumulative value). Consecutive lines with the same time are one
 * write, as one 10 s batch of mailmond is. Lines are at most 1 KiB.
 * Exit 0, or 1 with the line or the store's error on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history/hist_store.h"

#define BATCH_MAX 64

struct pending {
	struct mm_hist_sample s[BATCH_MAX];
	char key[BATCH_MAX][256], name[BATCH_MAX][256];
	size_t n;
	long long t;
};

static int flush(struct mm_hist_store *h, struct pending *p)
{
	struct mm_err err;
	if (p->n && mm_hist_write(h, p->t, p->s, p->n, &err) < 0) {
		fprintf(stderr, "hist_fill: write at %lld: %s\n", p->t, err.msg);
		return -1;
	}
	p->n = 0;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: hist_fill DB < POINTS\n");
		return 2;
	}
	struct mm_err err;
	struct mm_hist_store *h = mm_hist_open(argv[1], 0, &err);
	struct mm_hist_status st;
	mm_hist_status(h, &st);
	if (strcmp(st.state, "unavailable") == 0) {
		fprintf(stderr, "hist_fill: %s: %s\n", argv[1], err.msg);
		mm_hist_close(h);
		return 1;
	}
	static struct pending p;
	char line[1024];
	long lineno = 0;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof line, stdin)) {
		lineno++;
		long long t;
		char key[256];
		double v;
		if (sscanf(line, "%lld %255s %lf", &t, key, &v) != 3) {
			fprintf(stderr, "hist_fill: line %ld: want UNIX_SECONDS KEY VALUE\n", lineno);
			rc = 1;
			break;
		}
		if ((p.n && t != p.t) || p.n == BATCH_MAX)
			rc = flush(h, &p) < 0;
		size_t i = p.n++;
		p.t = t;
		snprintf(p.key[i], sizeof p.key[i], "%s", key);
		snprintf(p.name[i], sizeof p.name[i], "%s", key);
		p.name[i][strcspn(p.name[i], "{")] = '\0';
		size_t nl = strlen(p.name[i]);
		p.s[i] = (struct mm_hist_sample){p.key[i], p.name[i], v,
						 nl > 6 && strcmp(p.name[i] + nl - 6, "_total") == 0};
	}
	if (rc == 0)
		rc = flush(h, &p) < 0;
	mm_hist_close(h);
	return rc;
}

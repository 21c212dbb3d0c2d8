/*
 * parse_bench: lines per second of the log grammars on one core.
 *
 *   parse_bench [-n LINES] [-p PARSER] [-r ROUNDS] [-w OUT] [FILE]
 *
 * Without FILE it builds a realistic Postfix log in memory (the message
 * shapes seen in the lab: smtpd connect/client/disconnect, cleanup
 * message-id, qmgr queued/removed, smtp/lmtp deliveries with sent,
 * deferred and bounced outcomes, connect failures, bounce notices and
 * NOQUEUE rejects; rotating queue ids, client addresses and recipients).
 * With FILE it parses that file's lines. The log is held in memory, so
 * the figure is the parser alone: no I/O, no consumer. Each round parses
 * every line once; the best round is reported (and the median).
 * -w OUT also writes the generated log to OUT (to feed other tools).
 *
 * Built by bench/parsers.sh (not by CMake): cc -O2 -Isrc bench/parse_bench.c
 * src/parsers/[*].c and the two core files they use (strbuf, xalloc)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/strbuf.h"
#include "parsers/event_fmt.h"
#include "parsers/parser.h"

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* A realistic Postfix log of about `lines` lines. */
static void generate(struct mm_strbuf *b, size_t lines)
{
	static const char *const mon = "Nov";
	size_t n = 0;
	unsigned sec = 0, qid = 0xA0000;
	while (n < lines) {
		unsigned h = (sec / 3600) % 24, m = (sec / 60) % 60, s = sec % 60;
		char ts[32];
		snprintf(ts, sizeof ts, "%s %2u %02u:%02u:%02u mail", mon, 21 + sec / 86400 % 7, h, m,
			 s);
		unsigned ip = rnd(), kind = rnd() % 100, pid = 1000 + rnd() % 5000;
		char q[16];
		snprintf(q, sizeof q, "%X%05X", 0x4 + (qid & 0xF), qid);
		qid++;
		if (kind < 10) { /* rejected at RCPT */
			mm_strbuf_printf(b, "%s postfix/smtpd[%u]: connect from unknown[198.51.%u.%u]\n", ts, pid,
			     ip & 255, (ip >> 8) & 255);
			mm_strbuf_printf(b, "%s postfix/smtpd[%u]: NOQUEUE: reject: RCPT from unknown[198.51.%u.%u]: 554 5.7.1 <user%u@example.org>: Relay access denied; from=<spam%u@spam.example> to=<user%u@example.org> proto=ESMTP helo=<spam.example>\n",
			     ts, pid, ip & 255, (ip >> 8) & 255, ip % 997, ip % 101, ip % 997);
			mm_strbuf_printf(b, "%s postfix/smtpd[%u]: disconnect from unknown[198.51.%u.%u] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4\n",
			     ts, pid, ip & 255, (ip >> 8) & 255);
			n += 3;
		} else {
			mm_strbuf_printf(b, "%s postfix/smtpd[%u]: connect from mx%u.example.com[203.0.%u.%u]\n", ts,
			     pid, ip % 50, ip & 255, (ip >> 8) & 255);
			mm_strbuf_printf(b, "%s postfix/smtpd[%u]: %s: client=mx%u.example.com[203.0.%u.%u]\n", ts,
			     pid, q, ip % 50, ip & 255, (ip >> 8) & 255);
			mm_strbuf_printf(b, "%s postfix/cleanup[%u]: %s: message-id=<%u.%u@mx%u.example.com>\n", ts,
			     pid + 1, q, ip, qid, ip % 50);
			mm_strbuf_printf(b, "%s postfix/qmgr[900]: %s: from=<sender%u@example.com>, size=%u, nrcpt=1 (queue active)\n",
			     ts, q, ip % 1000, 800 + ip % 60000);
			mm_strbuf_printf(b, "%s postfix/smtpd[%u]: disconnect from mx%u.example.com[203.0.%u.%u] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5\n",
			     ts, pid, ip % 50, ip & 255, (ip >> 8) & 255);
			n += 5;
			if (kind < 70) {
				mm_strbuf_printf(b, "%s postfix/smtp[%u]: %s: to=<rcpt%u@dest%u.example.net>, relay=mx.dest%u.example.net[192.0.2.%u]:25, delay=0.%u, delays=0.0%u/0.01/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as %X)\n",
				     ts, pid + 2, q, ip % 5000, ip % 300, ip % 300, ip % 250, ip % 9,
				     ip % 9, ip);
				n++;
			} else if (kind < 85) {
				mm_strbuf_printf(b, "%s postfix/lmtp[%u]: %s: to=<user%u@lab.test>, relay=mail.lab.test[/var/run/dovecot/lmtp], delay=0.05, delays=0/0.01/0.01/0.03, dsn=2.0.0, status=sent (250 2.0.0 <user%u@lab.test> 3JirLbszAWvqNQAAg+zDdQ Saved)\n",
				     ts, pid + 3, q, ip % 500, ip % 500);
				n++;
			} else if (kind < 95) {
				mm_strbuf_printf(b, "%s postfix/smtp[%u]: connect to mx.dead%u.example[192.0.2.%u]:25: Connection refused\n",
				     ts, pid + 2, ip % 20, ip % 250);
				mm_strbuf_printf(b, "%s postfix/smtp[%u]: %s: to=<x%u@dead%u.example>, relay=none, delay=%u, delays=0.01/0/30/0, dsn=4.4.1, status=deferred (connect to mx.dead%u.example[192.0.2.%u]:25: Connection refused)\n",
				     ts, pid + 2, q, ip % 100, ip % 20, 30 + ip % 500, ip % 20, ip % 250);
				n += 2;
				continue; /* stays queued */
			} else {
				mm_strbuf_printf(b, "%s postfix/smtp[%u]: %s: to=<nobody%u@dest.example.net>, relay=mx.dest.example.net[192.0.2.7]:25, delay=0.4, delays=0.01/0/0.2/0.19, dsn=5.1.1, status=bounced (host mx.dest.example.net[192.0.2.7] said: 550 5.1.1 <nobody%u@dest.example.net>: Recipient address rejected: User unknown (in reply to RCPT TO command))\n",
				     ts, pid + 2, q, ip % 100, ip % 100);
				mm_strbuf_printf(b, "%s postfix/bounce[%u]: %s: sender non-delivery notification: %X%05X\n",
				     ts, pid + 4, q, 0x4 + (qid & 0xF), qid + 0x80000);
				n += 2;
			}
			mm_strbuf_printf(b, "%s postfix/qmgr[900]: %s: removed\n", ts, q);
			n++;
		}
		if (rnd() % 4 == 0)
			sec++;
	}
}

static double now(clockid_t clk)
{
	struct timespec t;
	clock_gettime(clk, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t want = 2000000;
	int rounds = 5;
	const char *pname = "postfix", *wout = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "n:p:r:w:")) != -1) {
		switch (opt) {
		case 'n':
			want = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			pname = optarg;
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'w':
			wout = optarg;
			break;
		default:
			fprintf(stderr, "usage: parse_bench [-n LINES] [-p PARSER] [-r ROUNDS] [-w OUT] [FILE]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > 100)
		rounds = 5;
	const struct mm_parser *parser = mm_parser_find(pname);
	if (parser == NULL) {
		fprintf(stderr, "parse_bench: no parser %s\n", pname);
		return 2;
	}
	struct mm_strbuf b;
	mm_strbuf_init(&b, 0);
	if (optind < argc) {
		FILE *f = fopen(argv[optind], "rb");
		if (f == NULL) {
			perror(argv[optind]);
			return 1;
		}
		char chunk[1 << 16];
		size_t got;
		while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
			mm_strbuf_add(&b, chunk, got);
		fclose(f);
	} else {
		generate(&b, want);
		if (wout != NULL) {
			FILE *f = fopen(wout, "wb");
			if (f == NULL || fwrite(b.p, 1, b.len, f) != b.len || fclose(f) != 0) {
				perror(wout);
				return 1;
			}
		}
	}
	/* line index, so the timed loop only parses */
	size_t nlines = 0, cap = 1 << 20;
	uint32_t *off = malloc(cap * sizeof *off), *len = malloc(cap * sizeof *len);
	for (size_t i = 0; i < b.len;) {
		const char *nl = memchr(b.p + i, '\n', b.len - i);
		size_t e = nl ? (size_t)(nl - b.p) : b.len;
		if (nlines == cap) {
			cap *= 2;
			off = realloc(off, cap * sizeof *off);
			len = realloc(len, cap * sizeof *len);
		}
		off[nlines] = (uint32_t)i;
		len[nlines] = (uint32_t)(e - i);
		nlines++;
		i = e + 1;
	}
	uint64_t by_type[MM_EV__COUNT] = {0};
	double secs[100], cpu[100];
	for (int r = 0; r < rounds; r++) {
		double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
		for (size_t i = 0; i < nlines; i++) {
			struct mm_log_event ev;
			parser->parse(b.p + off[i], len[i], 2026, &ev);
			if (r == 0)
				by_type[ev.type]++;
		}
		secs[r] = now(CLOCK_MONOTONIC) - t0;
		cpu[r] = now(CLOCK_THREAD_CPUTIME_ID) - c0;
	}
	qsort(secs, (size_t)rounds, sizeof secs[0], cmp_double);
	qsort(cpu, (size_t)rounds, sizeof cpu[0], cmp_double);
	printf("parser %s: %zu lines, %.1f MB, %d rounds\n", pname, nlines, (double)b.len / 1e6,
	       rounds);
	/* CPU time is the figure that counts on a shared machine: wall time
	 * also holds the time other processes had the core. */
	printf("cpu  best   %.3f s  %.2f M lines/s  %.0f MB/s  (%.0f ns/line)\n", cpu[0],
	       (double)nlines / cpu[0] / 1e6, (double)b.len / cpu[0] / 1e6,
	       cpu[0] * 1e9 / (double)nlines);
	printf("cpu  median %.3f s  %.2f M lines/s\n", cpu[rounds / 2],
	       (double)nlines / cpu[rounds / 2] / 1e6);
	printf("wall best   %.3f s  %.2f M lines/s\n", secs[0], (double)nlines / secs[0] / 1e6);
	for (int t = 0; t < MM_EV__COUNT; t++)
		if (by_type[t])
			printf("  %-12s %llu\n", mm_ev_type_name((enum mm_ev_type)t),
			       (unsigned long long)by_type[t]);
	free(off);
	free(len);
	free(b.p);
	return 0;
}

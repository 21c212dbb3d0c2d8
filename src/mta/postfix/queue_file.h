/*
 * queue_file: parser for the Postfix queue file records mailmon needs.
 *
 * A queue file is a sequence of records: one type byte, the data length as
 * a base-128 varint (low 7 bits first, high bit = more), then the data
 * (Postfix src/global/record.c, rec_type.h). Records used here:
 *   'C' size   "%15ld %15ld %15ld ...": content length, data offset,
 *              recipient count, ... (first record of a cleanup file)
 *   'T' time   "SECONDS USECONDS" arrival time (second record)
 *   'S' sender, 'R' pending recipient, 'D' recipient done, '@' recipient
 *   deleted, 'O' original recipient, 'M' content starts (skipped with the
 *   'C' length, as qmgr and qshape do), 'X' extracted segment, 'p' pointer
 *   to another offset, 'E' end. Everything else is skipped unread.
 * Files from the maildrop queue (postdrop) have no 'C' record; their
 * arrival time is left at -1 for the caller to take from the file's mtime.
 *
 *   mm_pf_qfile_parse(src, q)  -> MM_PF_OK, or a problem (q->problem says
 *                                 what and where). Never aborts on input.
 *
 * The parser reads through a struct mm_pf_src (pread on a file, or memory
 * for tests and fuzzing), so it never needs the message content in RAM.
 * Caps: a needed record over MM_PF_MAX_REC bytes is MM_PF_OVERSIZE; more
 * than MM_PF_MAX_RCPT pending recipients are counted in q->rcpt_dropped;
 * at most MM_PF_MAX_JUMPS pointer records are followed.
 *
 * Ownership: struct mm_pf_qfile owns its buffers; reuse it for the next
 * file (mm_pf_qfile_parse resets it) and free with mm_pf_qfile_free().
 */
#ifndef MAILMON_MTA_POSTFIX_QUEUE_FILE_H
#define MAILMON_MTA_POSTFIX_QUEUE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MM_PF_MAX_REC 65536
#define MM_PF_MAX_RCPT 100000
#define MM_PF_MAX_JUMPS 10000

enum mm_pf_status {
	MM_PF_OK,
	MM_PF_TRUNCATED, /* ended before the 'E' record */
	MM_PF_MALFORMED, /* not a queue file, or records out of order */
	MM_PF_OVERSIZE,	 /* a needed record over its cap */
	MM_PF_IOERR,	 /* read_at failed */
};

struct mm_pf_src {
	/* Reads up to len bytes at off; returns the count (0 at end), -1 on error. */
	ssize_t (*read_at)(void *ctx, uint64_t off, void *buf, size_t len);
	void *ctx;
};

struct mm_pf_qfile {
	int64_t arrival;     /* 'T' seconds, -1 when absent */
	uint64_t size;	     /* 'C' content length, 0 when absent */
	bool has_size_rec;   /* first record was 'C' */
	bool has_sender;
	uint64_t done;	     /* 'D' and '@' records */
	uint64_t rcpt_dropped;
	enum mm_pf_status status;
	char problem[96];

	/* Strings: sender at sender_off, recipients at rcpt_off[i], in buf. */
	char *buf;
	size_t blen, bcap;
	size_t sender_off;
	size_t *rcpt_off;
	size_t nrcpt, rcap;

	/* Read window. */
	unsigned char win[8192];
	uint64_t win_off;
	size_t win_len;
	unsigned char *rec;  /* scratch for one record's data */
};

enum mm_pf_status mm_pf_qfile_parse(const struct mm_pf_src *src, struct mm_pf_qfile *q);
void mm_pf_qfile_free(struct mm_pf_qfile *q);

static inline const char *mm_pf_qfile_sender(const struct mm_pf_qfile *q)
{
	return q->has_sender ? q->buf + q->sender_off : "";
}
static inline const char *mm_pf_qfile_rcpt(const struct mm_pf_qfile *q, size_t i)
{
	return q->buf + q->rcpt_off[i];
}

/* A source over memory (ctx is a struct mm_pf_mem). */
struct mm_pf_mem {
	const unsigned char *data;
	size_t len;
};
ssize_t mm_pf_mem_read_at(void *ctx, uint64_t off, void *buf, size_t len);
/* A source over a file descriptor (ctx is a pointer to the int fd). */
ssize_t mm_pf_fd_read_at(void *ctx, uint64_t off, void *buf, size_t len);

#endif

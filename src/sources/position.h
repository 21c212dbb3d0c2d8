/*
 * position: the saved reading positions of the log sources, and their
 * on-disk encoding.
 *
 * One state file holds every source of the daemon, so one atomic rename
 * saves a consistent snapshot of all of them (and of the consumer's
 * checkpoint, if it gives one). The encoding is text, versioned, with a
 * checksum; never a raw struct:
 *
 *     mailmon-positions 2
 *     source file /var/log/mail.log
 *     dev 2049
 *     ino 1311
 *     offset 81920
 *     line_len 97
 *     line_hash 8d3a0f0c5ad1f6b2
 *     lines 840
 *     end
 *     source journal journal
 *     cursor s=0a1b...;i=2f;b=...
 *     lines 12
 *     end
 *     consumer <escaped text>
 *     checksum 1f2e3d4c5b6a7988
 *
 * Names, cursors and the consumer text are %XX-escaped (bytes <= 0x20,
 * '%', >= 0x7f; core/pct.h). The checksum is mm_hash64 (core/hash.h) of
 * every byte before the "checksum" line. The decoder is strict: a wrong
 * magic or version, an
 * unknown or repeated key, a bad number, a missing "end" or checksum, or a
 * file over MM_POSFILE_MAX is an error that says what and where, and the
 * caller falls back to its no-position behaviour.
 *
 * A file position is (dev, ino, offset) plus the raw length and the hash
 * (mm_hash64 of the delivered form, see linebuf.h) of the last complete
 * line before offset: a file replaced by another one that reuses the
 * inode is told apart by that line.
 *
 * Version 1 (mailmon before the hash functions were merged into
 * core/hash.c) used FNV-1a for both hashes. It is still read, so an
 * upgrade keeps its positions: its checksum cannot be checked and its
 * line hashes are dropped (line_len 0: dev, ino and offset alone decide),
 * and the next save writes version 2.
 *
 * Ownership: struct mm_posfile owns its records and strings; free with
 * mm_posfile_free().
 */
#ifndef MAILMON_SOURCES_POSITION_H
#define MAILMON_SOURCES_POSITION_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MM_POSFILE_MAX (256 * 1024 * 1024) /* the consumer's checkpoint may be large */
#define MM_POSFILE_MAX_SOURCES 256

enum mm_srckind {
	MM_SRCKIND_FILE = 1,
	MM_SRCKIND_JOURNAL,
};

struct mm_filepos {
	uint64_t dev, ino, offset;
	uint64_t line_len;  /* raw bytes of the last line before offset, 0: none */
	uint64_t line_hash; /* mm_hash64 of that line as delivered */
};

struct mm_srcstate {
	enum mm_srckind kind;
	char *name;	       /* the path, or "journal" */
	struct mm_filepos pos; /* files */
	char *cursor;	       /* journal; NULL: none */
	uint64_t lines;	       /* lines consumed from this source, ever */
};

struct mm_posfile {
	struct mm_srcstate *src;
	size_t n, cap;
	char *consumer; /* the consumer's checkpoint text; NULL: none */
};

void mm_posfile_init(struct mm_posfile *pf);
void mm_posfile_free(struct mm_posfile *pf);
/* Appends a zeroed record (name copied) and returns it. */
struct mm_srcstate *mm_posfile_add(struct mm_posfile *pf, enum mm_srckind kind,
				   const char *name);
/* The record for kind+name, or NULL. */
const struct mm_srcstate *mm_posfile_find(const struct mm_posfile *pf, enum mm_srckind kind,
					  const char *name);

/* Encodes pf; returns a heap string (length in *len). */
char *mm_posfile_encode(const struct mm_posfile *pf, size_t *len);
/* Decodes text[0..len) into pf (initialised by the caller, filled only on
 * success). Returns 0, or -1 with err naming the line and the problem. */
int mm_posfile_decode(const char *text, size_t len, struct mm_posfile *pf,
		      struct mm_err *err);

/* Atomic save (temp + fsync + rename). */
int mm_posfile_save(const struct mm_posfile *pf, const char *path, struct mm_err *err);
/* Loads path into pf. Returns 0, 1 when the file does not exist (pf stays
 * empty: a first start), or -1 with err when it is unreadable or corrupt. */
int mm_posfile_load(const char *path, struct mm_posfile *pf, struct mm_err *err);

#endif

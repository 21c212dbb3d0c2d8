/*
 * tailer: follows one log file the way `tail -F` does, but never loses or
 * repeats a line across rotations and restarts.
 *
 * It is driven from outside (the daemon loop calls mm_tailer_poll() on a
 * timer or after an inotify event); it never blocks and never sleeps, and
 * one poll reads at most read_limit bytes so a huge backlog cannot stall
 * the loop (poll returns 1: call again soon).
 *
 * What it survives:
 *   - rename-and-create rotation: the old file (still open) is read to its
 *     end, then the tailer switches to the new file at offset 0. It waits
 *     until the old file has been quiet at EOF for rotate_grace_ms, so a
 *     writer that reopens late loses nothing;
 *   - copytruncate: the file shrinks below the read offset -> restart at 0;
 *   - a file replaced while mailmond was down: the saved inode differs ->
 *     if PATH.1 has the saved inode, it is finished from the saved offset
 *     first, then PATH is read from 0; an inode reused by a new file is
 *     caught by the hash of the last line before the saved offset;
 *   - rotated more than once while down, or compressed: the rotated file
 *     that holds the saved position (PATH.2, PATH.1.gz, PATH-20261207.gz,
 *     ...; see backlog.h) is read from there, then every newer rotated
 *     file, then PATH from 0;
 *   - partial last lines, lines over line_max, NUL bytes, invalid UTF-8,
 *     CRLF: the line rules of linebuf.h.
 *
 * Position: mm_tailer_position() gives (dev, ino, offset of the end of
 * the last delivered line, that line's raw length and hash). Save it only
 * after the consumer has applied every line delivered so far: then after
 * a restart nothing is delivered twice and nothing is skipped.
 *
 * Errors are not fatal and are not printed: a missing file is waited for,
 * an unreadable one is retried at the next poll; each event is counted in
 * the stats and reported through the optional notice callback.
 *
 * Ownership: the tailer owns its path copy, fd and buffer; free with
 * mm_tailer_free(). Line pointers passed to the callback are valid only
 * during the call.
 */
#ifndef MAILMON_SOURCES_TAILER_H
#define MAILMON_SOURCES_TAILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/logsink.h"
#include "sources/linebuf.h"
#include "sources/position.h"

typedef void mm_line_fn(const char *line, size_t len, void *arg);

struct mm_tailer_opts {
	size_t line_max;	 /* 0: MM_LINE_MAX_DEFAULT (64 KiB) */
	size_t read_limit;	 /* bytes per poll; 0: 4 MiB */
	size_t chunk;		 /* bytes per read(); 0: 256 KiB */
	bool start_at_end;	 /* no saved position: begin at the last line end */
	int64_t rotate_grace_ms; /* quiet time at EOF of a rotated file; 0: none */
	/* Optional (fn NULL: silent): told about rotations, truncations,
	 * missing files, at LOG_NOTICE (logsink.h). */
	struct mm_logsink notice;
};

struct mm_tailer_stats {
	struct mm_line_stats lines; /* lines, capped, unterminated, bytes */
	uint64_t rotations;	    /* switched to a new file at the path */
	uint64_t truncations;	    /* file shrank below the offset */
	uint64_t replaced;	    /* saved position unusable: new file from 0 */
	uint64_t open_errors, read_errors;
	int64_t last_read_ms; /* wall time of the last read that got data; 0: never */
};

struct mm_tailer;

struct mm_tailer *mm_tailer_new(const char *path, const struct mm_tailer_opts *opts);
void mm_tailer_free(struct mm_tailer *t);

/* Sets where reading begins: at the saved position (NULL: none, then
 * opts.start_at_end decides). Call once, before the first poll. */
void mm_tailer_start(struct mm_tailer *t, const struct mm_filepos *saved);

/* Reads what is new and calls fn for each complete line. With
 * check_rotation (about once a second) the path is stat()ed for a new
 * file; a file being finished after a rotation is checked every poll.
 * Returns 1 when read_limit stopped it (more is waiting), else 0. */
int mm_tailer_poll(struct mm_tailer *t, bool check_rotation, mm_line_fn *fn, void *arg);

/* The position after the last delivered line (all zero: no file open). */
void mm_tailer_position(const struct mm_tailer *t, struct mm_filepos *out);
const struct mm_tailer_stats *mm_tailer_stats(const struct mm_tailer *t);
const char *mm_tailer_path(const struct mm_tailer *t);
/* "reading", "finishing rotated file", "waiting for file". */
const char *mm_tailer_state(const struct mm_tailer *t);

#endif

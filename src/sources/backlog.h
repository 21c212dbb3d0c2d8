/*
 * backlog: after mailmond was down while its log was rotated more than
 * once, find the rotated file that holds the saved position and read
 * forward from there through every newer rotated file, oldest first.
 *
 * Rotated names looked at, newest first: PATH.1, PATH.1.gz, PATH.2,
 * PATH.2.gz, ... PATH.30(.gz) (logrotate's default), then logrotate's
 * `dateext` names PATH-YYYYMMDD[...] and their .gz, newest name first.
 * A candidate holds the position when its text (uncompressed) has a line
 * ending exactly at the saved offset whose raw length and hash are the
 * saved ones; with no line to check (offset 0) only the same inode counts.
 * Compressed copies are new inodes, so the content check is what finds
 * them. Each candidate is read at most up to the saved offset.
 *
 * mm_backlog_find() returns NULL when no rotated file holds the position
 * (the caller then treats the file as gone); otherwise lines come from
 * mm_backlog_next() in order, and mm_backlog_position() says where the
 * next restart would resume (the file being read, its dev/ino, the
 * uncompressed offset and last line), so a restart during the catch-up
 * neither repeats nor skips lines. The file at PATH itself is not part of
 * the backlog: the tailer reads it from 0 afterwards.
 *
 * Errors (a damaged .gz) end that file early with a message for the
 * caller's notice; nothing is fatal. Ownership: the backlog owns its
 * readers and path copies; free with mm_backlog_free().
 */
#ifndef MAILMON_SOURCES_BACKLOG_H
#define MAILMON_SOURCES_BACKLOG_H

#include <stddef.h>
#include <stdint.h>

#include "sources/position.h"

struct mm_backlog;

struct mm_backlog *mm_backlog_find(const char *path, const struct mm_filepos *saved,
				   char *why, size_t whylen);
/* 1 with the next line, 0 when every file is read. A file that fails
 * part-way (damaged gzip) is left and its message put in why. */
int mm_backlog_next(struct mm_backlog *b, const char **line, size_t *len, char *why,
		    size_t whylen);
/* The file being read now ("" when done). */
const char *mm_backlog_current(const struct mm_backlog *b);
/* The resume point after the last line returned (dev/ino of the rotated
 * file being read, uncompressed offset, that line's raw length and hash). */
void mm_backlog_position(const struct mm_backlog *b, struct mm_filepos *out);
void mm_backlog_free(struct mm_backlog *b);

#endif

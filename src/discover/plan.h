/*
 * plan: the config `mailmon init` is about to write, as sections of keys
 * each with the reason it was chosen, and its rendering as a commented
 * INI file.
 *
 *   mm_plan_set(plan, section, key, value, why)    a value that was found
 *   mm_plan_off(plan, section, key, example, why)  a value that could not
 *        be determined: written commented out, with the reason
 *   mm_plan_note(plan, fmt, ...)                   a finding for --dry-run
 *   mm_plan_render(plan, header)                   the whole file (malloc)
 *   mm_plan_free(plan)
 *
 * Rendering walks the config schema: every fixed section is written with
 * every key, the planned ones set (or commented out with their reason),
 * the others commented out at their default with the schema's help, so
 * the file is complete and documents itself. Named instances
 * ([service.NAME]) follow, holding only their planned keys (commented
 * out as a whole when none of them was determined). A section
 * comment (mm_plan_comment) is written above the section.
 *
 * Ownership: the plan owns every string given to it (copied).
 */
#ifndef MAILMON_DISCOVER_PLAN_H
#define MAILMON_DISCOVER_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/kvlist.h"

struct mm_plan_key {
	char *key, *value, *why;
	bool off; /* written commented out */
};

struct mm_plan_section {
	char *name;
	struct mm_kvlist comments; /* names are comment lines */
	struct mm_plan_key *keys;
	size_t n, cap;
};

struct mm_plan {
	struct mm_plan_section *secs;
	size_t n, cap;
	struct mm_kvlist notes; /* names are note lines, in order */
};

void mm_plan_set(struct mm_plan *p, const char *section, const char *key,
		 const char *value, const char *why);
void mm_plan_off(struct mm_plan *p, const char *section, const char *key,
		 const char *example, const char *why);
/* Adds a comment line above section (creating the section). */
void mm_plan_comment(struct mm_plan *p, const char *section, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void mm_plan_note(struct mm_plan *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The planned key, or NULL. */
const struct mm_plan_key *mm_plan_get(const struct mm_plan *p, const char *section,
				      const char *key);
bool mm_plan_has_section(const struct mm_plan *p, const char *section);
char *mm_plan_render(const struct mm_plan *p, const char *header);
void mm_plan_free(struct mm_plan *p);

#endif

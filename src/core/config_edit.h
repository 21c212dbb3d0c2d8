/*
 * config_edit: change one key in a config file in place, the way
 * `configutil -o NAME -v VALUE` does, keeping every comment and the layout.
 *
 * The value is checked against the schema first. The new file is written
 * beside the old one, flushed to disk and renamed over it, so a crash
 * leaves either the old or the new file, never half of one. The file's
 * mode and owner are kept.
 */
#ifndef MAILMON_CORE_CONFIG_EDIT_H
#define MAILMON_CORE_CONFIG_EDIT_H

#include "core/err.h"

/* Sets section.key = value in path (created if missing). Where the key is
 * absent, it goes after a commented-out "# key = ..." line of the section
 * if there is one, else after the section's last key; a missing section is
 * appended. Returns 0, or -1 with err. */
int mm_config_set_in_file(const char *path, const char *section, const char *key,
			  const char *value, struct mm_err *err);

/* The same edit on text in memory; returns a new heap string. Exposed for
 * tests. */
char *mm_config_edit_text(const char *text, const char *section, const char *key,
			  const char *value);

#endif

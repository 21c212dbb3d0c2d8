/*
 * section_check: runs a module's own loader over every [PREFIX.NAME]
 * section of a config and turns each refusal into one diagnostic
 * "FILE:LINE: [PREFIX.NAME] KEY: problem" (the line of the key the
 * loader named, else of any key of the section), so that `mailmon config
 * check` and `mailmond --check` find what the daemon would refuse.
 *
 * load returns 0 (and frees what it built) or -1 with err, whose message
 * starts "PREFIX.NAME.KEY: " or "PREFIX.NAME: ". Returns the number of
 * diagnostics added; diags owns them.
 */
#ifndef MAILMON_CORE_SECTION_CHECK_H
#define MAILMON_CORE_SECTION_CHECK_H

#include <stddef.h>

#include "core/config.h"

typedef int mm_section_load_fn(const struct mm_config *conf, const char *name,
			       struct mm_err *err);

size_t mm_sections_check(const struct mm_config *conf, const char *prefix,
			 mm_section_load_fn *load, struct mm_diags *diags);

#endif

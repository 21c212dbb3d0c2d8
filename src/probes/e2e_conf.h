/*
 * e2e_conf: one [e2e.NAME] section into the parameters of an end-to-end
 * probe run (e2e.h) plus its schedule. URLs, the recipient and the
 * credentials files are checked here, so a bad section is refused at
 * start with the key that is wrong. Errors name "e2e.NAME.KEY".
 */
#ifndef MAILMON_PROBES_E2E_CONF_H
#define MAILMON_PROBES_E2E_CONF_H

#include "core/config.h"
#include "probes/e2e.h"

struct mm_e2e_conf {
	char name[MM_E2E_NAME_MAX];
	struct mm_e2e_params prm;
	int64_t interval_ms, lost_after_ms;
};

int mm_e2e_conf_load(const struct mm_config *conf, const char *name, struct mm_e2e_conf *out,
		     struct mm_err *err);
/* Every [e2e.NAME] of conf through the loader, for `mailmon config check`
 * and `mailmond --check`: one diagnostic per bad section (FILE:LINE:
 * [e2e.NAME] KEY: problem); returns how many. */
size_t mm_e2e_check(const struct mm_config *conf, struct mm_diags *diags);

#endif

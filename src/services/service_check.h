/*
 * service_check: the checks of [service.NAME] sections that go beyond each
 * key's type (a URL that parses, a credentials file that exists with mode
 * 600, a regex that compiles, a command that splits into argv), so that
 * `mailmon config check` and `mailmond --check` find what the daemon
 * would refuse at start.
 *
 * Each bad section adds one diagnostic "FILE:LINE: [service.NAME] KEY:
 * problem" to diags (the line of the key when the problem names one).
 * Returns the number of diagnostics added. Allocates nothing that
 * outlives the call besides the diagnostics, which diags owns.
 */
#ifndef MAILMON_SERVICES_SERVICE_CHECK_H
#define MAILMON_SERVICES_SERVICE_CHECK_H

#include <stddef.h>

#include "core/config.h"

size_t mm_services_check(const struct mm_config *conf, struct mm_diags *diags);

#endif

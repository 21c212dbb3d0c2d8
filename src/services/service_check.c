/* service_check: see service_check.h. The work is mm_service_conf_load(),
 * the daemon's own loader; this file only places its error in the file. */
#include "services/service_check.h"

#include "core/section_check.h"
#include "services/service_conf.h"

static int load_one(const struct mm_config *conf, const char *name, struct mm_err *err)
{
	struct mm_service_conf sc;
	if (mm_service_conf_load(conf, name, &sc, err) < 0)
		return -1;
	mm_service_conf_free(&sc);
	return 0;
}

size_t mm_services_check(const struct mm_config *conf, struct mm_diags *diags)
{
	return mm_sections_check(conf, "service", load_one, diags);
}

/* fuzz_cpu_proc: the /proc/stat and /proc/loadavg parsers take any bytes
 * (a kernel with other columns, a truncated read) without crashing or
 * reading past the buffer; accepted load averages are finite and >= 0. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "host/cpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_cpu_times t, z = {{0}};
	struct mm_loadavg l;
	if (mm_cpu_parse_stat((const char *)data, size, &t) == 0) {
		double b = mm_cpu_busy(&z, &t);
		if (!(b >= 0 && b <= 1))
			abort();
	}
	if (mm_cpu_parse_loadavg((const char *)data, size, &l) == 0 &&
	    (!isfinite(l.l1) || l.l1 < 0 || !isfinite(l.l15) || l.l15 < 0))
		abort();
	return 0;
}

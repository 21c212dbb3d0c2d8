/*
 * cpu: /proc/stat and /proc/loadavg (see cpu.h).
 */
#include "host/cpu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomicfile.h"

const char *const mm_cpu_mode_names[MM_CPU_NMODES] = {
	"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
};

/* Reads up to MM_CPU_NMODES unsigned numbers after the "cpu " prefix; a
 * kernel with fewer columns leaves the rest at 0. */
int mm_cpu_parse_stat(const char *text, size_t len, struct mm_cpu_times *out)
{
	memset(out, 0, sizeof *out);
	size_t pos = 0;
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		pos += ll + 1;
		if (ll < 4 || memcmp(line, "cpu ", 4) != 0)
			continue;
		size_t i = 4;
		int n = 0;
		while (n < MM_CPU_NMODES) {
			while (i < ll && line[i] == ' ')
				i++;
			if (i >= ll || line[i] < '0' || line[i] > '9')
				break;
			uint64_t v = 0;
			while (i < ll && line[i] >= '0' && line[i] <= '9') {
				uint64_t d = (uint64_t)(line[i] - '0');
				if (v > (UINT64_MAX - d) / 10)
					return -1;
				v = v * 10 + d;
				i++;
			}
			out->t[n++] = v;
		}
		return n >= 4 ? 0 : -1; /* user nice system idle at least */
	}
	return -1;
}

int mm_cpu_parse_loadavg(const char *text, size_t len, struct mm_loadavg *out)
{
	char buf[256];
	if (len >= sizeof buf)
		len = sizeof buf - 1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	memset(out, 0, sizeof *out);
	if (sscanf(buf, "%lf %lf %lf %u/%u", &out->l1, &out->l5, &out->l15, &out->running,
		   &out->total) != 5)
		return -1;
	if (!(out->l1 >= 0 && out->l5 >= 0 && out->l15 >= 0 && out->l1 < 1e9 && out->l5 < 1e9 &&
	      out->l15 < 1e9))
		return -1;
	return 0;
}

double mm_cpu_busy(const struct mm_cpu_times *prev, const struct mm_cpu_times *cur)
{
	double total = 0, idle = 0; /* doubles: eight huge counters never wrap */
	for (int i = 0; i < MM_CPU_NMODES; i++) {
		if (cur->t[i] < prev->t[i])
			return 0; /* counters went back (a different boot): no answer */
		double d = (double)(cur->t[i] - prev->t[i]);
		total += d;
		if (i == MM_CPU_IDLE || i == MM_CPU_IOWAIT)
			idle += d;
	}
	return total > 0 ? (total - idle) / total : 0;
}

int mm_cpu_read(struct mm_cpu_times *out, struct mm_loadavg *load, struct mm_err *err)
{
	size_t len;
	char *text = mm_file_read_capped("/proc/stat", 1 << 20, &len, NULL, err);
	if (!text)
		return -1;
	int rc = mm_cpu_parse_stat(text, len, out);
	free(text);
	if (rc < 0)
		return mm_err_set(err, "/proc/stat: no aggregate cpu line");
	text = mm_file_read_capped("/proc/loadavg", 4096, &len, NULL, err);
	if (!text)
		return -1;
	rc = mm_cpu_parse_loadavg(text, len, load);
	free(text);
	if (rc < 0)
		return mm_err_set(err, "/proc/loadavg: malformed");
	return 0;
}

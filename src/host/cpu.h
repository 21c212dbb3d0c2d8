/*
 * cpu: the system's CPU time and load from /proc (the seed's "Monitoring
 * CPU Usage", 27.3.3), parsed from text so it can be tested and fuzzed
 * without a /proc.
 *
 *   mm_cpu_parse_stat(text, len, out)     the aggregate "cpu" line of
 *                                         /proc/stat; -1 when absent
 *   mm_cpu_parse_loadavg(text, len, out)  /proc/loadavg; -1 when malformed
 *   mm_cpu_busy(prev, cur)                busy share of all CPUs between
 *                                         two samples, 0..1 (0 when no
 *                                         time passed)
 *   mm_cpu_read(out, load, err)           both files, read now
 *
 * Times are in clock ticks (USER_HZ) as /proc gives them.
 */
#ifndef MAILMON_HOST_CPU_H
#define MAILMON_HOST_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum { MM_CPU_USER, MM_CPU_NICE, MM_CPU_SYSTEM, MM_CPU_IDLE, MM_CPU_IOWAIT, MM_CPU_IRQ,
       MM_CPU_SOFTIRQ, MM_CPU_STEAL, MM_CPU_NMODES };

extern const char *const mm_cpu_mode_names[MM_CPU_NMODES];

struct mm_cpu_times {
	uint64_t t[MM_CPU_NMODES];
};

struct mm_loadavg {
	double l1, l5, l15;
	unsigned running, total;
};

int mm_cpu_parse_stat(const char *text, size_t len, struct mm_cpu_times *out);
int mm_cpu_parse_loadavg(const char *text, size_t len, struct mm_loadavg *out);
double mm_cpu_busy(const struct mm_cpu_times *prev, const struct mm_cpu_times *cur);
int mm_cpu_read(struct mm_cpu_times *out, struct mm_loadavg *load, struct mm_err *err);

#endif

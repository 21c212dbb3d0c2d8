/*
 * prom_format: the registry in Prometheus text exposition format 0.0.4
 * (what `promtool check metrics` checks and every Prometheus scrapes).
 *
 *   mm_prom_write(r, write, arg)   one # HELP and # TYPE per family, then
 *                                  its series; histograms as _bucket (le,
 *                                  cumulative, +Inf last), _sum, _count;
 *                                  state sets as gauges (0/1 per state)
 *
 * Families with no series are left out. Label values are escaped (\\, \",
 * \n); the registry already made them valid UTF-8. The output goes to
 * write() in pieces; nothing is kept.
 */
#ifndef MAILMON_METRICS_PROM_FORMAT_H
#define MAILMON_METRICS_PROM_FORMAT_H

#include <stddef.h>

struct mm_registry;

typedef void mm_write_fn(void *arg, const char *s, size_t n);

void mm_prom_write(const struct mm_registry *r, mm_write_fn *write, void *arg);
/* A sample value as Prometheus writes it: integers without a fraction,
 * NaN, +Inf, -Inf. buf needs 32 bytes. */
void mm_prom_value(double v, char *buf, size_t cap);

#endif

/*
 * clock: monotonic and wall time in milliseconds. Periodic work and
 * timeouts use the monotonic clock so that a wall-clock jump (NTP, DST)
 * neither fires nor starves a check. Also the one UTC timestamp format
 * (ISO 8601, "2026-12-07T21:04:07Z") that reports and notices print.
 * No state, no allocation.
 */
#ifndef MAILMON_CORE_CLOCK_H
#define MAILMON_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t mm_mono_ms(void);
int64_t mm_wall_ms(void);
/* Monotonic microseconds, for measuring short work. */
int64_t mm_mono_us(void);

/* secs (since the epoch) as "YYYY-MM-DDTHH:MM:SSZ" in buf; cap >= 21. */
void mm_utc_iso8601(int64_t secs, char *buf, size_t cap);

#endif

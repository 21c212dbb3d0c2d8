/*
 * clock: monotonic and wall time in milliseconds. Periodic work and
 * timeouts use the monotonic clock so that a wall-clock jump (NTP, DST)
 * neither fires nor starves a check.
 */
#ifndef MAILMON_CORE_CLOCK_H
#define MAILMON_CORE_CLOCK_H

#include <stdint.h>

int64_t mm_mono_ms(void);
int64_t mm_wall_ms(void);
/* Monotonic microseconds, for measuring short work. */
int64_t mm_mono_us(void);

#endif

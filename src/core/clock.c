/* clock: see clock.h. */
#include "core/clock.h"

#include <time.h>

static int64_t read_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mm_mono_ms(void)
{
	return read_ms(CLOCK_MONOTONIC);
}

int64_t mm_wall_ms(void)
{
	return read_ms(CLOCK_REALTIME);
}

int64_t mm_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void mm_utc_iso8601(int64_t secs, char *buf, size_t cap)
{
	time_t tt = (time_t)secs;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

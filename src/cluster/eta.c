/* eta: see eta.h. */
#include "cluster/eta.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/strutil.h"

void mm_eta_duration(double s, char *buf, size_t cap)
{
	double min = s / 60.0;
	if (s < 60)
		snprintf(buf, cap, "under a minute");
	else if (min < 10)
		snprintf(buf, cap, "about %.0f min", round(min));
	else if (min < 90)
		snprintf(buf, cap, "about %.0f min", round(min / 5) * 5);
	else if (min < 48 * 60) {
		double h = round(min / 30) / 2;
		snprintf(buf, cap, h == floor(h) ? "about %.0f h" : "about %.1f h", h);
	} else
		snprintf(buf, cap, "about %.0f days", round(min / 1440));
}

static void rate(double per_min, char *buf, size_t cap)
{
	double a = fabs(per_min);
	if (a >= 10 || a == 0) {
		mm_fmt_count(a, buf, cap > 4 ? cap - 4 : cap);
		strncat(buf, "/min", cap - strlen(buf) - 1);
	} else
		snprintf(buf, cap, "%.1f/min", a);
}

void mm_eta_words(const char *queue, double messages, double growth_per_min, bool known,
		  char *buf, size_t cap)
{
	char n[32], r[32], t[32];
	mm_fmt_count(messages, n, sizeof n);
	const char *unit = messages == 1 ? "message" : "messages";
	if (messages <= 0) {
		snprintf(buf, cap, "%s: empty", queue);
	} else if (!known) {
		snprintf(buf, cap, "%s: backlog of %s %s, rate not known yet", queue, n, unit);
	} else if (growth_per_min < 0) {
		rate(growth_per_min, r, sizeof r);
		mm_eta_duration(messages / -growth_per_min * 60.0, t, sizeof t);
		snprintf(buf, cap, "%s: backlog of %s %s, draining at %s, clear in %s", queue, n, unit,
			 r, t);
	} else {
		rate(growth_per_min, r, sizeof r);
		snprintf(buf, cap, "%s: backlog of %s %s, not draining (%s%s)", queue, n, unit,
			 growth_per_min > 0 ? "+" : "", growth_per_min > 0 ? r : "steady");
	}
}

/* logsink: see logsink.h. */
#include "core/logsink.h"

#include <stdarg.h>
#include <stdio.h>

void mm_logsink_printf(const struct mm_logsink *sink, int level, const char *fmt, ...)
{
	if (!sink->fn)
		return;
	char msg[MM_LOGSINK_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sink->fn(sink->arg, level, msg);
}

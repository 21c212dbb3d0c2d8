/*
 * logsink: how a library module that must report something in passing
 * (an HTTP listener out of descriptors, a notice that could not be sent)
 * hands a message to its owner, which alone decides where logs go.
 *
 *   struct mm_logsink { fn, arg }
 *       fn(arg, level, msg): level is a syslog priority (LOG_ERR ..
 *       LOG_DEBUG); msg is one formatted line, valid only during the call.
 *       A sink with fn NULL drops every message.
 *   mm_logsink_printf(sink, level, fmt, ...)
 *       formats into a stack buffer of MM_LOGSINK_MAX bytes (longer
 *       messages are cut) and calls fn.
 *
 * Ownership: the sink is a value copied into the module that uses it;
 * arg belongs to the owner and must outlive that module. No state of its
 * own, nothing allocated, never fails.
 */
#ifndef MAILMON_CORE_LOGSINK_H
#define MAILMON_CORE_LOGSINK_H

#define MM_LOGSINK_MAX 768

typedef void mm_logsink_fn(void *arg, int level, const char *msg);

struct mm_logsink {
	mm_logsink_fn *fn; /* NULL: messages are dropped */
	void *arg;
};

void mm_logsink_printf(const struct mm_logsink *sink, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

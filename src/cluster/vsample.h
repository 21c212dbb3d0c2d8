/*
 * vsample: one sample of what the node verdict and the flood detector
 * read, taken from the metric registry (the only source: no module's
 * structs are reached).
 *
 *   mm_vsample_take(reg, names, wall_ms, out)
 *
 * Families read (each optional; what is absent reads as unknown):
 *   mailmon_queue_messages{queue}, mailmon_queue_oldest_age_seconds{queue}
 *   mailmon_queue_destination_messages{queue,destination}
 *   mailmon_queue_destination_reason_recipients{queue,destination,reason}
 *   mailmon_queue_destination_suspended_recipients{queue,destination,cause}
 *   mailmon_queue_destination_oldest_age_seconds{queue="active",destination}
 *   mailmon_log_destination_last_delivery_number{destination} (only for
 *     the destinations above), mailmon_log_destination_deliveries_total,
 *     mailmon_log_destination_evicted_last_delivery_number
 *   mailmon_messages_submitted_total{channel}     inflow (smtpd, pickup)
 *   mailmon_messages_delivered_total{channel}, _deferred_total, _bounced_total
 *   mailmon_log_program_lines_total{program}      qmgr logging, any logging
 *   mailmon_log_transport_unavailable_total{transport}, and
 *   mailmon_log_deferred_unavailable_total        a transport with no process
 *   mailmon_disk_locked{path}, mailmon_disk_avail_percent{path}  locked partitions
 *   mailmon_process_count{service}, mailmon_process_stopped{service}
 *   mailmon_service_up{service}
 * names gives the [service.NAME] sections that watch the master, qmgr
 * and smtpd (empty: not watched).
 *
 * With names->instance set, the sample is one Postfix instance's (its
 * syslog_name): the queue sizes and ages from
 * mailmon_queue_instance_messages / _oldest_age_seconds{postfix_instance,queue},
 * inflow, attempts and "mail transport unavailable" from
 * mailmon_log_instance_messages_total{postfix_instance,outcome}, qmgr and
 * all lines from mailmon_log_instance_program_lines_total, the
 * transports from mailmon_log_instance_transport_unavailable_total; no
 * destinations (flooded destinations are judged node-wide only); the
 * locked partitions and the process checks as above (the names then
 * being that instance's services).
 *
 * Ownership: the sample is plain data with fixed arrays; destination
 * names are copied (cut to MM_VDEST_NAME_MAX).
 */
#ifndef MAILMON_CLUSTER_VSAMPLE_H
#define MAILMON_CLUSTER_VSAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mta/mta.h"

struct mm_registry;

enum { MM_VQ_INCOMING, MM_VQ_ACTIVE, MM_VQ_DEFERRED, MM_VQ_N };

#define MM_VDEST_MAX 16
#define MM_VDEST_NAME_MAX 128
#define MM_VNAMED_MAX 4	       /* transports, locked partitions */
#define MM_VNAMED_NAME_MAX 128

/* A named counter or gauge: a transport's "connect to transport"
 * warnings, a locked partition's available percent. */
struct mm_vnamed {
	char name[MM_VNAMED_NAME_MAX];
	double value;
};

/* One destination summed over incoming, active and deferred. */
struct mm_vdest {
	char name[MM_VDEST_NAME_MAX];
	double msgs, deferred;
	double rc[MM_RC_N]; /* pending recipients per delay-reason class */
	/* rc[MM_RC_SUSPENDED] split by the class of the quoted cause
	 * (MM_RC_NONE: none quoted, or the family is absent) */
	double suspended_cause[MM_RC_N];
	/* The active queue alone: messages, and the age of the oldest (from
	 * its arrival; mailmon_queue_destination_oldest_age_seconds). */
	double active_msgs, active_oldest;
	/* The number of the last delivery to the domain, from the log
	 * (mailmon_log_destination_last_delivery_number); -1 when the
	 * domain is not in the log's table (see tally_evicted_no). */
	double last_delivery_no;
};

struct mm_vsample {
	int64_t t_ms; /* wall ms */
	bool have_queue;
	double qmsgs[MM_VQ_N], qoldest[MM_VQ_N];
	bool have_logs;
	bool have_dest_delivered; /* the per-domain delivery tally exists */
	double tally_no;	  /* deliveries numbered so far */
	double tally_evicted_no;  /* last delivery of a domain that left it */
	double inflow;			    /* counter: messages submitted */
	double delivered, deferred, bounced; /* counters */
	double qmgr_lines;		    /* counter; -1 unknown */
	double all_lines;		    /* counter: every program; -1 unknown */
	double unavail_deferred;	    /* counter: "mail transport unavailable" */
	size_t ntransports;		    /* transports qmgr could not connect to */
	struct mm_vnamed transports[MM_VNAMED_MAX];
	size_t nlocked; /* locked partitions, value: available percent */
	struct mm_vnamed locked[MM_VNAMED_MAX];
	int master, qmgr, qmgr_stopped;	    /* process counts; -1 unknown */
	int smtpd_up;			    /* -1 unknown, 0 failing, 1 up */
	size_t ndests;
	struct mm_vdest dests[MM_VDEST_MAX];
};

struct mm_vsample_names {
	const char *master, *qmgr, *smtpd; /* service names; "" or NULL: none */
	const char *instance;		   /* NULL or "": the whole node */
};

/* A sample with everything unknown. */
void mm_vsample_clear(struct mm_vsample *s, int64_t wall_ms);
/* Reads the families above; reg must have been collected. */
void mm_vsample_take(const struct mm_registry *reg, const struct mm_vsample_names *names,
		     int64_t wall_ms, struct mm_vsample *out);
/* The destination of that name, added when absent (NULL when full). */
struct mm_vdest *mm_vsample_dest(struct mm_vsample *s, const char *name);

#endif

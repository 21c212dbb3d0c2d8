/*
 * snmp_view: the SNMP objects mailmon serves, computed from one registry
 * snapshot as a sorted list of (OID, value) pairs, so that GET is a
 * binary search and GETNEXT the first OID after the one asked. No
 * net-snmp type appears here (export/snmp_agentx.c binds it), so the
 * mapping is unit-tested with a registry filled by the test.
 *
 * Objects (all under mib-2, 1.3.6.1.2.1; docs/snmp.md lists them):
 *
 *   NETWORK-SERVICES-MIB applTable (27.1.1.COL.applIndex): row 1 the MTA,
 *     rows 2.. one per watched service (mailmon_service_state), ordered by
 *     name. applName, applVersion, applUptime, applOperStatus,
 *     applInboundAssociations, applOutboundAssociations,
 *     applAccumulatedInboundAssociations, ...Outbound...,
 *     applRejectedInboundAssociations, applFailedOutboundAssociations.
 *   MTA-MIB mtaTable (28.1.1.COL.1): the MTA's totals over all channels
 *     and the queue gauges.
 *   MTA-MIB mtaGroupTable (28.2.1.COL.1.mtaGroupIndex): one group per
 *     channel of the channel families (label "channel"). A channel keeps
 *     its mtaGroupIndex for the life of the view (RFC 2789: stable while
 *     the MTA runs); a channel that disappears leaves a gap.
 *
 * Values: Counter32 and Gauge32 wrap/clip as SNMP requires (counters
 * modulo 2^32, gauges at 2^32-1); volumes are in KB (RFC 2789 units).
 *
 * Ownership: the view owns its entries and its channel -> index table.
 * Not thread-safe: build and read it on the loop thread.
 */
#ifndef MAILMON_EXPORT_SNMP_VIEW_H
#define MAILMON_EXPORT_SNMP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics/registry.h"

#define MM_SNMP_OID_MAX 16

enum mm_snmp_type {
	MM_SNMP_INTEGER,   /* Integer32 */
	MM_SNMP_COUNTER32,
	MM_SNMP_GAUGE32,
	MM_SNMP_TIMETICKS,
	MM_SNMP_STRING,
	MM_SNMP_OID,
};

struct mm_snmp_entry {
	uint32_t oid[MM_SNMP_OID_MAX]; /* full OID */
	size_t len;
	enum mm_snmp_type type;
	int64_t num;	  /* numeric types */
	char *str;	  /* MM_SNMP_STRING (owned) */
	uint32_t oidv[MM_SNMP_OID_MAX]; /* MM_SNMP_OID value */
	size_t oidv_len;
};

struct mm_snmp_view {
	struct mm_snmp_entry *e;
	size_t n, cap;
	char **groups; /* channel names; index i is mtaGroupIndex i + 1 */
	size_t ngroups, gcap;
	char **groups_appl; /* service names; index i is applIndex i + 2 */
	size_t nappl, appl_cap;
};

struct mm_snmp_info {
	const char *mta_name;	 /* applName of row 1, e.g. "postfix" */
	const char *version;	 /* applVersion */
	int64_t now_unix;	 /* for "seconds since" objects */
	int64_t uptime_cs;	 /* agent uptime, hundredths of a second */
};

/* Rebuilds the entries from r (already collected). */
void mm_snmp_view_build(struct mm_snmp_view *v, const struct mm_registry *r,
			const struct mm_snmp_info *info);
/* The entry with exactly this OID, or NULL. */
const struct mm_snmp_entry *mm_snmp_view_get(const struct mm_snmp_view *v, const uint32_t *oid,
					     size_t len);
/* The first entry whose OID is greater than oid, or NULL. */
const struct mm_snmp_entry *mm_snmp_view_next(const struct mm_snmp_view *v, const uint32_t *oid,
					      size_t len);
/* The column subtrees the view serves (applTable, mtaTable and
 * mtaGroupTable columns), up to max; returns how many. An agent registers
 * each one: a master's own registration of a whole table (snmpd's
 * mta_sendmail) is then less specific than ours. */
#define MM_SNMP_MAX_COLUMNS 48
size_t mm_snmp_view_columns(uint32_t (*oids)[MM_SNMP_OID_MAX], size_t *lens, size_t max);
int mm_snmp_oid_cmp(const uint32_t *a, size_t alen, const uint32_t *b, size_t blen);
void mm_snmp_view_free(struct mm_snmp_view *v);

#endif

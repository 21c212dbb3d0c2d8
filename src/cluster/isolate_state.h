/*
 * isolate_state: the set of isolated destinations (issue 15 item 3), its
 * saved form, and the Postfix transport map made from it. Pure: no I/O.
 *
 *   mm_isolate_dest_ok(dest)        a domain mailmon may put in a map
 *   mm_isolate_nexthop_ok(nh)       a nexthop kept from the old route
 *   mm_isolate_find/add/remove      the set (at most MM_ISOLATE_MAX)
 *   mm_isolate_format(set, sb)      the state file, versioned text:
 *       mailmon-isolate 1
 *       DEST <TAB> REASON <TAB> auto|manual <TAB> SINCE <TAB> QUIET <TAB> NEXTHOP
 *     SINCE: when isolated, QUIET: since when the destination has not
 *     been failing (0: failing), both seconds since the epoch; NEXTHOP
 *     may be empty (Postfix keeps the default nexthop).
 *   mm_isolate_parse(text, len, set, err)
 *                                   -1 with "line N: ..." on any problem
 *                                   (the set is then empty)
 *   mm_isolate_map(set, transport, sb)
 *                                   the transport(5) map: "DEST TRANSPORT:NEXTHOP"
 *   mm_isolate_nexthop_of(result, nh, cap)
 *                                   the nexthop of a transport map
 *                                   result ("smtp:[127.0.0.1]:25" ->
 *                                   "[127.0.0.1]:25"); -1 when unusable
 *
 * Ownership: the set is a plain value; nothing is allocated but the
 * strbuf's storage, which the caller owns.
 */
#ifndef MAILMON_CLUSTER_ISOLATE_STATE_H
#define MAILMON_CLUSTER_ISOLATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/strbuf.h"

#define MM_ISOLATE_MAX 64
#define MM_ISOLATE_DEST 128
#define MM_ISOLATE_NEXTHOP 160
#define MM_ISOLATE_REASON 32
#define MM_ISOLATE_STATE_MAX (64 * 1024)

struct mm_isolated {
	char dest[MM_ISOLATE_DEST];
	char reason[MM_ISOLATE_REASON]; /* flood class, or "manual" */
	bool manual;
	int64_t since_s;
	int64_t quiet_since_s; /* 0: failing (or not seen answering yet) */
	char nexthop[MM_ISOLATE_NEXTHOP];
};

struct mm_isolate_set {
	size_t n;
	struct mm_isolated v[MM_ISOLATE_MAX];
};

bool mm_isolate_dest_ok(const char *dest);
bool mm_isolate_nexthop_ok(const char *nh);
bool mm_isolate_transport_ok(const char *name);
struct mm_isolated *mm_isolate_find(struct mm_isolate_set *set, const char *dest);
/* NULL when the set is full or the fields are not valid. */
struct mm_isolated *mm_isolate_add(struct mm_isolate_set *set, const char *dest,
				   const char *reason, bool manual, int64_t now_s,
				   const char *nexthop);
bool mm_isolate_remove(struct mm_isolate_set *set, const char *dest);
void mm_isolate_format(const struct mm_isolate_set *set, struct mm_strbuf *sb);
int mm_isolate_parse(const char *text, size_t len, struct mm_isolate_set *set,
		     struct mm_err *err);
void mm_isolate_map(const struct mm_isolate_set *set, const char *transport,
		    struct mm_strbuf *sb);
int mm_isolate_nexthop_of(const char *result, char *nh, size_t cap);

#endif

/*
 * isolate_schema: the config rows of flooded-destination isolation
 * ([isolate]; see core/config_schema.h for the row format and
 * docs/cluster.md "Isolation" for the Postfix lines it needs).
 */
#include "core/config_schema.h"

static const struct mm_conf_section isolate_sections[] = {
	{"isolate", "Isolation of a flooded destination (Postfix): its mail is routed to a\n"
		    "slow transport of its own, through a transport map mailmond owns\n"
		    "(STATE_DIRECTORY/isolate/transport), so the rest of the queue keeps\n"
		    "flowing. The postmaster adds the map to transport_maps and the\n"
		    "transport to master.cf (docs/cluster.md); mailmond checks both and\n"
		    "refuses to isolate without them. `mailmon isolate` lists, isolates\n"
		    "and releases."},
};

static const struct mm_conf_key isolate_keys[] = {
	{"isolate", "enable", MM_CT_BOOL, "no", 0, 0, NULL, false,
	 "Isolate destinations at all (automatically and by `mailmon isolate`)."},
	{"isolate", "transport", MM_CT_STRING, "isolated", 0, 0, NULL, true,
	 "The master.cf service (type unix, command smtp) isolated mail goes\n"
	 "to; the postmaster defines it (docs/cluster.md)."},
	{"isolate", "auto", MM_CT_BOOL, "yes", 0, 0, NULL, true,
	 "Isolate a destination as soon as the cluster module reports it\n"
	 "flooded with one of the classes below. no: only `mailmon isolate`."},
	{"isolate", "classes", MM_CT_LIST, "refused,timeout", 0, 0, NULL, true,
	 "The flood reason classes that isolate automatically (refused,\n"
	 "timeout, 4xx, tls, dns)."},
	{"isolate", "max_destinations", MM_CT_INT, "4", 1, 64, NULL, true,
	 "At most this many destinations isolated at once; a further flood is\n"
	 "logged and left alone."},
	{"isolate", "release_after", MM_CT_DURATION, "10m", 1000, 604800000, NULL, true,
	 "An automatically isolated destination is released when no queued\n"
	 "mail for it has been failing for this long (it answered, or its\n"
	 "queue drained). A manual isolation stays until released."},
	{"isolate", "rewrite_wait", MM_CT_DURATION, "60s", 0, 3600000, NULL, true,
	 "After an isolation, how long trivial-rewrite may take to restart on\n"
	 "the rebuilt map by itself (it does at its next client connection;\n"
	 "under constant load that can take up to ipc_ttl). Every trivial-\n"
	 "rewrite child of the master (queue_directory/pid/master.pid) must\n"
	 "have started after the map change; if one has not by then, mailmond\n"
	 "runs postfix reload and logs which. Checked every interval. 0: never\n"
	 "reload (and do not check)."},
	{"isolate", "interval", MM_CT_DURATION, "5s", 1000, 600000, NULL, false,
	 "How often floods and isolated destinations are looked at."},
};

const struct mm_conf_table mm_conf_table_isolate =
	MM_CONF_TABLE("isolate", isolate_sections, isolate_keys);

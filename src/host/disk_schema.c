/*
 * disk_schema: the config rows of the disk monitor ([disk]); see
 * core/config_schema.h for the row format. The statvfs timeout is the
 * seed's alarm.diskstattimeout, in alarm/alarm_schema.c.
 */
#include "core/config_schema.h"

static const struct mm_conf_section disk_sections[] = {
	{"disk", "The disk monitor: free space and inodes of the mail partitions\n"
		 "(mailmon_disk_* in /metrics, counterutil -o diskusage), checked more\n"
		 "often as they fill, as the seed's store daemon does: every\n"
		 "interval_max far from near_percent used, down to interval_min at it.\n"
		 "statvfs runs in a thread, so a hung NFS mount never stalls mailmond.\n"
		 "Partition lock: above lock_threshold percent used, lock_command runs\n"
		 "once; below lock_threshold - lock_hysteresis, unlock_command runs\n"
		 "once. Postfix example, holding delivery to a full store:\n"
		 "  lock_command = /usr/sbin/postconf -e defer_transports=lmtp\n"
		 "  unlock_command = /usr/sbin/postconf -e defer_transports=\n"
		 "followed by postfix reload (shell = yes joins both with &&)."},
};

static const struct mm_conf_key disk_keys[] = {
	{"disk", "enable", MM_CT_BOOL, "yes", 0, 0, NULL, true, "Run the disk monitor."},
	{"disk", "paths", MM_CT_LIST, NULL, 0, 0, NULL, true,
	 "Directories whose partitions are watched (queue, mail store, logs).\n"
	 "Unset: [mta] queue_directory when set, [daemon] state_directory and\n"
	 "the directories of the [log] sources files."},
	{"disk", "interval_min", MM_CT_DURATION, "1m", 1000, 86400000, NULL, true,
	 "Check interval at or past near_percent used."},
	{"disk", "interval_max", MM_CT_DURATION, "100m", 1000, 86400000, NULL, true,
	 "Check interval 30 points or more below near_percent."},
	{"disk", "near_percent", MM_CT_NUMBER, "90", 0, 100, NULL, true,
	 "Percent used where checks are most frequent (lock_threshold when set)."},
	{"disk", "lock_threshold", MM_CT_NUMBER, "0", 0, 100, NULL, true,
	 "Percent used at which lock_command runs; 0 turns the lock off."},
	{"disk", "lock_hysteresis", MM_CT_NUMBER, "5", 0, 50, NULL, true,
	 "unlock_command runs when use falls below lock_threshold minus this."},
	{"disk", "lock_command", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "Command that locks a partition (MAILMON_DISK_PATH is set)."},
	{"disk", "unlock_command", MM_CT_STRING, NULL, 0, 0, NULL, true,
	 "Command that unlocks it again."},
	{"disk", "shell", MM_CT_BOOL, "no", 0, 0, NULL, true,
	 "Run the lock commands with /bin/sh -c."},
	{"disk", "command_timeout", MM_CT_DURATION, "60s", 1000, 3600000, NULL, true,
	 "Kill a lock or unlock command after this long (it is retried)."},
};

const struct mm_conf_table mm_conf_table_disk = MM_CONF_TABLE("disk", disk_sections, disk_keys);

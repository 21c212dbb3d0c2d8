/*
 * disk_paths: the partitions the disk monitor watches, as a config names
 * them: [disk] paths when set, else [mta] queue_directory, the state
 * directory and the directories of the [log] sources files.
 *
 *   mm_disk_paths(conf)            a NULL-terminated list of owned strings,
 *                                  deduplicated, absolute paths only; free
 *                                  with mm_config_list_free
 *   mm_disk_path_configured(conf, path)
 *                                  whether path is in that list (the
 *                                  privileged helper runs a lock command
 *                                  only for a partition of its own config)
 */
#ifndef MAILMON_HOST_DISK_PATHS_H
#define MAILMON_HOST_DISK_PATHS_H

#include <stdbool.h>

struct mm_config;

char **mm_disk_paths(const struct mm_config *conf);
bool mm_disk_path_configured(const struct mm_config *conf, const char *path);

#endif

/* SPDX-License-Identifier: MIT */
/* Finding the cgroup2 hierarchy and naming a cgroup the way BPF sees it. */
#ifndef HTTP_ENERGY_CGROUP2_H
#define HTTP_ENERGY_CGROUP2_H

#include <stddef.h>
#include <stdint.h>

struct cgroup2_info {
	char mount[4096]; /* where cgroup2 is mounted, e.g. /sys/fs/cgroup */
	char path[4096];  /* the cgroup's directory, resolved */
	uint64_t id;	  /* cgroup id: the directory's inode number on cgroup2 */
	uint32_t level;	  /* 0 for the root cgroup */
};

/*
 * Finds the first cgroup2 mount point in mountinfo text (the format of
 * /proc/self/mountinfo, octal escapes decoded). Returns 0 or -ENOENT.
 */
int cgroup2_mount_from_mountinfo(const char *text, char *mount, size_t mount_len);

/* The same, reading /proc/self/mountinfo. */
int cgroup2_find_mount(char *mount, size_t mount_len);

/*
 * Resolves dir to its cgroup id and level. Returns 0, or a negative errno after printing
 * one error line (no cgroup2 mount, dir missing, dir not below the cgroup2 mount).
 */
int cgroup2_resolve(const char *dir, struct cgroup2_info *info);

#endif

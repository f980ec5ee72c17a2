/* SPDX-License-Identifier: MIT */
/*
 * cgroup2 ids (what BPF reports: the directory's inode number) to paths relative to the
 * cgroup2 mount ("/" is the root). A bounded cache filled by walking the mount; an unknown
 * id triggers at most one walk per cgroup_names__new_interval().
 */
#ifndef COLLECTOR_CGROUP_NAMES_H
#define COLLECTOR_CGROUP_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cgroup_names;

/* max_entries bounds the cache (directories beyond it are not named). */
int cgroup_names__new(const char *mount, size_t max_entries, struct cgroup_names **out);
/* Allows one more walk of the mount (call once per interval). */
void cgroup_names__new_interval(struct cgroup_names *n);
/* The path of id, or NULL when no directory has that id (it may have been removed).
 * Valid until the next lookup (a walk rebuilds the cache): copy it. */
const char *cgroup_names__lookup(struct cgroup_names *n, uint64_t id);
/* Walks performed so far, and directories known. */
uint64_t cgroup_names__walks(const struct cgroup_names *n);
size_t cgroup_names__count(const struct cgroup_names *n);
void cgroup_names__free(struct cgroup_names *n);

#endif

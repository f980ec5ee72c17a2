// SPDX-License-Identifier: MIT
#include "cgroup_names.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct name_slot {
	uint64_t id; /* 0: empty */
	char *path;
};

struct cgroup_names {
	char *mount;
	size_t max_entries;
	size_t cap; /* power of two, > 2 * max_entries */
	size_t count;
	struct name_slot *slots;
	bool walk_allowed;
	uint64_t walks;
};

static size_t slot_of(const struct cgroup_names *n, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> 20) & (n->cap - 1);
}

static void clear(struct cgroup_names *n)
{
	for (size_t i = 0; i < n->cap; i++) {
		free(n->slots[i].path);
		n->slots[i] = (struct name_slot){ 0 };
	}
	n->count = 0;
}

static int insert(struct cgroup_names *n, uint64_t id, const char *path)
{
	size_t i = slot_of(n, id);

	if (n->count >= n->max_entries)
		return -ENOSPC;
	while (n->slots[i].id && n->slots[i].id != id)
		i = (i + 1) & (n->cap - 1);
	if (n->slots[i].id)
		return 0;
	n->slots[i].path = strdup(path);
	if (!n->slots[i].path)
		return -ENOMEM;
	n->slots[i].id = id;
	n->count++;
	return 0;
}

/* Depth-first below dirfd; rel is the path so far ("" for the root). Bounded by
 * max_entries, and by PATH_MAX for the names. */
static void walk(struct cgroup_names *n, int dirfd, char *rel, size_t rel_len)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *e;

	if (!d) {
		close(dirfd);
		return;
	}
	while ((e = readdir(d)) && n->count < n->max_entries) {
		struct stat st;
		size_t len;
		int fd;

		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		len = strlen(e->d_name);
		if (rel_len + 1 + len + 1 > 4096)
			continue;
		fd = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st)) {
			close(fd);
			continue;
		}
		rel[rel_len] = '/';
		memcpy(rel + rel_len + 1, e->d_name, len + 1);
		if (insert(n, (uint64_t)st.st_ino, rel)) {
			close(fd);
			break;
		}
		walk(n, fd, rel, rel_len + 1 + len);
		rel[rel_len] = '\0';
	}
	closedir(d);
}

static void rewalk(struct cgroup_names *n)
{
	char rel[4096] = "";
	struct stat st;
	int fd;

	clear(n);
	n->walks++;
	fd = open(n->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || insert(n, (uint64_t)st.st_ino, "/")) {
		close(fd);
		return;
	}
	walk(n, fd, rel, 0);
}

int cgroup_names__new(const char *mount, size_t max_entries, struct cgroup_names **out)
{
	struct cgroup_names *n = calloc(1, sizeof(*n));
	int err = -ENOMEM;

	if (!n)
		return -ENOMEM;
	if (max_entries == 0 || max_entries > (1u << 24)) {
		err = -EINVAL;
		goto cleanup;
	}
	n->max_entries = max_entries;
	for (n->cap = 16; n->cap <= 2 * max_entries; n->cap *= 2)
		;
	n->mount = strdup(mount);
	n->slots = calloc(n->cap, sizeof(*n->slots));
	if (!n->mount || !n->slots)
		goto cleanup;
	n->walk_allowed = true;
	*out = n;
	return 0;
cleanup:
	cgroup_names__free(n);
	return err;
}

void cgroup_names__new_interval(struct cgroup_names *n)
{
	n->walk_allowed = true;
}

static const char *find(const struct cgroup_names *n, uint64_t id)
{
	size_t i = slot_of(n, id);

	while (n->slots[i].id) {
		if (n->slots[i].id == id)
			return n->slots[i].path;
		i = (i + 1) & (n->cap - 1);
	}
	return NULL;
}

const char *cgroup_names__lookup(struct cgroup_names *n, uint64_t id)
{
	const char *p;

	if (id == 0)
		return NULL;
	p = find(n, id);
	if (p || !n->walk_allowed)
		return p;
	n->walk_allowed = false;
	rewalk(n);
	return find(n, id);
}

uint64_t cgroup_names__walks(const struct cgroup_names *n)
{
	return n->walks;
}

size_t cgroup_names__count(const struct cgroup_names *n)
{
	return n->count;
}

void cgroup_names__free(struct cgroup_names *n)
{
	if (!n)
		return;
	if (n->slots)
		clear(n);
	free(n->slots);
	free(n->mount);
	free(n);
}

// SPDX-License-Identifier: MIT
#include "cgroup2.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "log.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Copies a mountinfo field, decoding \ooo escapes; returns -ENAMETOOLONG if it won't fit. */
static int unescape_field(const char *s, size_t len, char *out, size_t out_len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < len && s[i + 1] >= '0' &&
		    s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' &&
		    s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= out_len)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int cgroup2_mount_from_mountinfo(const char *text, char *mount, size_t mount_len)
{
	const char *line = text;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		const char *f[5], *sep, *p = line, *end = line + len;
		size_t flen[5];
		int n = 0;

		/* fields: id parent major:minor root mount-point ... " - " fstype source opts */
		while (n < 5 && p < end) {
			const char *sp = memchr(p, ' ', (size_t)(end - p));

			f[n] = p;
			flen[n] = sp ? (size_t)(sp - p) : (size_t)(end - p);
			n++;
			p = sp ? sp + 1 : end;
		}
		sep = n == 5 ? strstr(p, " - ") : NULL;
		if (sep && sep < end && strncmp(sep + 3, "cgroup2 ", 8) == 0)
			return unescape_field(f[4], flen[4], mount, mount_len);
		line = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

int cgroup2_find_mount(char *mount, size_t mount_len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *text = NULL;
	size_t cap = 0;
	ssize_t n;
	int err;

	if (!f)
		return -errno;
	n = getdelim(&text, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(text);
		return -EIO;
	}
	err = cgroup2_mount_from_mountinfo(text, mount, mount_len);
	free(text);
	return err;
}

int cgroup2_resolve(const char *dir, struct cgroup2_info *info)
{
	char mount_real[PATH_MAX];
	struct statfs sfs;
	struct stat st;
	size_t mlen;
	int err;

	err = cgroup2_find_mount(info->mount, sizeof(info->mount));
	if (err) {
		log_error("/proc/self/mountinfo: no cgroup2 mount found (%s)", strerror(-err));
		return err;
	}
	if (!realpath(dir, info->path)) {
		err = -errno;
		log_error("%s: %s", dir, strerror(errno));
		return err;
	}
	if (statfs(info->path, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC ||
	    stat(info->path, &st) || !S_ISDIR(st.st_mode)) {
		log_error("%s: not a cgroup2 directory (cgroup2 is mounted at %s)", dir,
			  info->mount);
		return -ENOTDIR;
	}
	if (!realpath(info->mount, mount_real)) {
		err = -errno;
		log_error("%s: %s", info->mount, strerror(errno));
		return err;
	}
	mlen = strlen(mount_real);
	if (strncmp(info->path, mount_real, mlen) != 0 ||
	    (info->path[mlen] != '/' && info->path[mlen] != '\0')) {
		log_error("%s: not below the cgroup2 mount %s", dir, mount_real);
		return -EINVAL;
	}
	info->id = st.st_ino;
	info->level = 0;
	for (const char *p = info->path + mlen; *p; p++)
		if (*p == '/' && p[1] != '\0' && p[1] != '/')
			info->level++;
	return 0;
}

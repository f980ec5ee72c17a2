// SPDX-License-Identifier: MIT
#include "data_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "endpoints.h"
#include "log.h"

static int mkdir_p(const char *dir)
{
	char path[4096];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_data(int fd, uint64_t size_bytes)
{
	enum { CHUNK = 1 << 20 };
	unsigned char *chunk = malloc(CHUNK);
	int err = 0;

	if (!chunk)
		return -ENOMEM;
	for (uint64_t off = 0; off < size_bytes && !err;) {
		size_t n = size_bytes - off < CHUNK ? (size_t)(size_bytes - off) : CHUNK;
		ssize_t w;

		workload_fill_data(off, chunk, n);
		w = pwrite(fd, chunk, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			err = w < 0 ? -errno : -EIO;
		else
			off += (uint64_t)w;
	}
	if (!err && fsync(fd))
		err = -errno;
	free(chunk);
	return err;
}

int data_file_open(const char *dir, uint64_t size_bytes)
{
	char path[4096], tmp[4096];
	struct stat st;
	int fd = -1, err;

	if (snprintf(path, sizeof(path), "%s/%s", dir, DATA_FILE_NAME) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.%d", dir, DATA_FILE_NAME, (int)getpid()) >=
		    (int)sizeof(tmp)) {
		log_error("--data-dir: \"%s\" is too long", dir);
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == size_bytes)
		return fd;
	if (fd >= 0)
		close(fd);

	err = mkdir_p(dir);
	if (err) {
		log_error("--data-dir: %s: %s", dir, strerror(-err));
		return err;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		log_error("%s: %s", tmp, strerror(errno));
		return err;
	}
	err = write_data(fd, size_bytes);
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		log_error("%s: writing the data file: %s", path, strerror(-err));
		unlink(tmp);
		return err;
	}
	log_info("created data file %s (%llu KiB)", path, (unsigned long long)(size_bytes >> 10));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_error("%s: %s", path, strerror(errno));
		return err;
	}
	return fd;
}

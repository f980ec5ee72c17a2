// SPDX-License-Identifier: MIT
#include "csv_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

struct csv_file {
	int fd;
	char *path;
	char *header;
	char *what;
	bool more_columns;
	bool existed;
	off_t size; /* the file's length: rows go there */
	uint64_t lines; /* '\n' in the file: the next row is line lines + 1 */
	uint64_t rows; /* written through this csv_file */
	struct buf pending;
};

/*
 * An existing file (of size bytes): 0 when it begins with f's header and then '\n' (or,
 * with more_columns, ','), -EINVAL when not, else a negative errno. *lines: its '\n' count.
 */
static int check_existing(const struct csv_file *f, uint64_t *lines)
{
	size_t hlen = strlen(f->header);
	char chunk[65536];
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	off_t at = 0;
	int err = 0;

	*lines = 0;
	if (fd < 0)
		return -errno;
	n = pread(fd, chunk, hlen + 1 < sizeof(chunk) ? hlen + 1 : sizeof(chunk), 0);
	if (n != (ssize_t)hlen + 1 || memcmp(chunk, f->header, hlen) ||
	    (chunk[hlen] != '\n' && !(f->more_columns && chunk[hlen] == ','))) {
		err = -EINVAL;
		goto cleanup;
	}
	while ((n = pread(fd, chunk, sizeof(chunk), at)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			*lines += chunk[i] == '\n';
		at += n;
	}
	if (n < 0)
		err = -errno;
cleanup:
	close(fd);
	return err;
}

/* Opens f->path into *fd, *size, *lines, *existed: the header written or checked. */
static int open_path(struct csv_file *f, int *fd_out, off_t *size, uint64_t *lines, bool *existed)
{
	struct buf line = BUF_INIT;
	struct stat st;
	int fd, err = 0;

	*size = 0;
	*lines = 0;
	*existed = false;
	fd = open(f->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		log_error("%s: %s", f->path, strerror(-err));
		goto cleanup;
	}
	if (st.st_size > 0) {
		err = check_existing(f, lines);
		if (err == -EINVAL)
			log_error("%s:1: the file exists and its header is not the %s header; "
				  "refusing to append to it",
				  f->path, f->what);
		else if (err)
			log_error("%s: reading: %s", f->path, strerror(-err));
		if (err)
			goto cleanup;
		*size = st.st_size;
		*existed = true;
		lseek(fd, 0, SEEK_END);
		goto cleanup;
	}
	err = buf__appendf(&line, "%s\n", f->header);
	if (!err)
		err = buf__write_whole(&line, fd, size);
	if (err)
		log_error("%s:1: writing the header: %s", f->path, strerror(-err));
	else
		*lines = 1;
cleanup:
	buf__free(&line);
	if (err && fd >= 0)
		close(fd);
	else
		*fd_out = fd;
	return err;
}

int csv_file__open(const char *path, const char *header, bool more_columns, const char *what,
		   struct csv_file **out)
{
	struct csv_file *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return -ENOMEM;
	f->fd = -1;
	f->more_columns = more_columns;
	f->path = strdup(path);
	f->header = strdup(header);
	f->what = strdup(what);
	if (!f->path || !f->header || !f->what) {
		err = -ENOMEM;
		log_error("%s: %s", path, strerror(-err));
		goto cleanup;
	}
	err = open_path(f, &f->fd, &f->size, &f->lines, &f->existed);
cleanup:
	if (err)
		csv_file__close(f);
	else
		*out = f;
	return err;
}

bool csv_file__existed(const struct csv_file *f)
{
	return f->existed;
}

struct buf *csv_file__rows(struct csv_file *f)
{
	buf__clear(&f->pending);
	return &f->pending;
}

int csv_file__append(struct csv_file *f, uint64_t rows)
{
	uint64_t lines = 0;
	int err;

	for (size_t i = 0; i < f->pending.len; i++)
		lines += f->pending.data[i] == '\n';
	err = buf__write_whole(&f->pending, f->fd, &f->size);
	if (err) {
		log_error("%s:%" PRIu64 ": writing %s rows: %s", f->path, f->lines + 1, f->what,
			  strerror(-err));
		return err;
	}
	f->lines += lines;
	f->rows += rows;
	buf__clear(&f->pending);
	return 0;
}

int csv_file__reopen(struct csv_file *f)
{
	off_t size;
	uint64_t lines;
	bool existed;
	int fd = -1;
	int err = open_path(f, &fd, &size, &lines, &existed);

	if (err)
		return err; /* rows keep going to the file already open */
	close(f->fd);
	f->fd = fd;
	f->size = size;
	f->lines = lines;
	f->existed = existed;
	return 0;
}

uint64_t csv_file__rows_written(const struct csv_file *f)
{
	return f->rows;
}

const char *csv_file__path(const struct csv_file *f)
{
	return f->path;
}

void csv_file__close(struct csv_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	buf__free(&f->pending);
	free(f->path);
	free(f->header);
	free(f->what);
	free(f);
}

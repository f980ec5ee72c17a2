// SPDX-License-Identifier: MIT
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int buf__reserve(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	need = b->len + extra + 1; /* room for a terminating NUL */
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf__append(struct buf *b, const void *data, size_t len)
{
	if (buf__reserve(b, len))
		return -ENOMEM;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf__appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf__reserve(b, (size_t)n))
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void buf__adopt(struct buf *b, char *data, size_t len)
{
	free(b->data);
	b->data = data;
	b->len = len;
	b->cap = len;
}

void buf__clear(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf__free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* write(2) of b's bytes until all are written or one fails: 0 or a negative errno, and
 * *done the bytes written. */
static int write_all(const struct buf *b, int fd, size_t *done)
{
	*done = 0;
	while (*done < b->len) {
		ssize_t n = write(fd, b->data + *done, b->len - *done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		*done += (size_t)n;
	}
	return 0;
}

int buf__write_rows(const struct buf *b, int fd, off_t *size, size_t *kept)
{
	size_t done, whole;
	int err = write_all(b, fd, &done);

	whole = done;
	if (err) {
		/* Keep the rows that landed whole; take back the part of the next. */
		while (whole > 0 && b->data[whole - 1] != '\n')
			whole--;
		if (ftruncate(fd, *size + (off_t)whole) == 0)
			lseek(fd, *size + (off_t)whole, SEEK_SET);
	}
	*size += (off_t)whole;
	*kept = whole;
	return err;
}

int buf__write_whole(const struct buf *b, int fd, off_t *size)
{
	size_t done;
	int err = write_all(b, fd, &done);

	if (err) {
		/* Take back what part of the row did land, so the file ends on a row. */
		if (ftruncate(fd, *size) == 0)
			lseek(fd, *size, SEEK_SET);
		return err;
	}
	*size += (off_t)b->len;
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* A growable byte buffer. Functions return 0 or -ENOMEM; on error the buffer is unchanged. */
#ifndef HTTP_ENERGY_BUF_H
#define HTTP_ENERGY_BUF_H

#include <stddef.h>
#include <sys/types.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

int buf__reserve(struct buf *b, size_t extra);
int buf__append(struct buf *b, const void *data, size_t len);
int buf__appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes ownership of a malloc'd block of len bytes, freeing what b held. */
void buf__adopt(struct buf *b, char *data, size_t len);
void buf__clear(struct buf *b);	/* len = 0, keeps the memory */
void buf__free(struct buf *b);
/*
 * Appends b's bytes to fd, whose length is *size, as one unit: on a failed or short write
 * the file is cut back to *size (a reader never sees half a row). 0 (and *size grows) or a
 * negative errno.
 */
int buf__write_whole(const struct buf *b, int fd, off_t *size);
/*
 * The same for a buffer of '\n'-ended rows, except that a failed write keeps the rows that
 * landed whole (the file is cut back to the end of the last): *kept is their bytes, and
 * *size grows by them. 0 (*kept = b->len) or a negative errno.
 */
int buf__write_rows(const struct buf *b, int fd, off_t *size, size_t *kept);

#endif

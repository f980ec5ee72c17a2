/* SPDX-License-Identifier: MIT */
/*
 * An append-only CSV file of whole rows: the interval CSV and the GPU CSV write through it.
 *
 * A new or empty file gets the header; an existing one is appended to only if it begins
 * with the header (and, with more_columns, a header a newer writer extended with columns
 * at the end), else it is refused with -EINVAL and left alone. The rows of one append go
 * out in one write(2), and a short or failed write is cut back off the file, so a reader
 * never sees half a row. Errors are printed once, as "PATH:LINE: WHAT", LINE being the
 * file's line the failed row would have been. Functions return 0 or a negative errno.
 */
#ifndef COLLECTOR_CSV_FILE_H
#define COLLECTOR_CSV_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

struct csv_file;

/* what: the file's kind in messages ("interval CSV"). header: without a newline. */
int csv_file__open(const char *path, const char *header, bool more_columns, const char *what,
		   struct csv_file **out);
/* The file existed with a header before this open (rows go after what it held). */
bool csv_file__existed(const struct csv_file *f);
/* The buffer the next rows are formatted into ('\n'-terminated), empty. */
struct buf *csv_file__rows(struct csv_file *f);
/* Writes the rows the buffer holds (rows of them: a quoted field may hold a newline), all
 * or none. */
int csv_file__append(struct csv_file *f, uint64_t rows);
/* Log rotation: opens the path again (a new file gets the header) and writes the next rows
 * there; on failure the old file stays in use. */
int csv_file__reopen(struct csv_file *f);
/* Rows written through this csv_file, since it was opened. */
uint64_t csv_file__rows_written(const struct csv_file *f);
const char *csv_file__path(const struct csv_file *f);
void csv_file__close(struct csv_file *f);

#endif

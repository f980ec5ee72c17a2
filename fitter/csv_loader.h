/* SPDX-License-Identifier: MIT */
/*
 * Streams interval CSVs (docs/csv-format.md) into a dataset through libcsv.
 *
 * Columns are found by header name; extra columns are ignored, missing required ones are
 * named. Every cell of a documented column (docs/csv-format.md, gpu_energy_uj included)
 * is checked, whether the fitter uses it or not: a malformed number, NaN or infinity, a
 * negative count, a wrong field count, a line break inside a quoted field, bad quoting,
 * an empty file or a file without data rows is an error printed once as
 * "NAME:LINE:COLUMN: WHAT" (COLUMN is the 1-based field number). Empty cells are kept as
 * NaN ("unmeasured"); what to do with them is the caller's decision.
 *
 * A run (for the time-blocked split) starts at each file's first row, whenever the label
 * changes, and whenever the interval number does not increase (a collection appended to
 * the same file).
 */
#ifndef FITTER_CSV_LOADER_H
#define FITTER_CSV_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "csv_schema.h"
#include "dataset.h"

#define CSV_LOADER_LABEL_MAX 255 /* bytes */

struct csv_loader;

/* target: CSV_ACTIVE_PSYS_UJ or CSV_INTERVAL_PSYS_UJ. 0, -EINVAL or -ENOMEM. */
int csv_loader__new(struct dataset *ds, enum csv_column target, struct csv_loader **out);
void csv_loader__free(struct csv_loader *l);
/* The target becomes target + gpu_energy_uj (a required column then; empty: no target). */
void csv_loader__target_add_gpu(struct csv_loader *l);

/* One file as a stream of bytes: name is what messages call it. 0 or a negative errno. */
int csv_loader__begin(struct csv_loader *l, const char *name);
int csv_loader__feed(struct csv_loader *l, const void *data, size_t len);
int csv_loader__end(struct csv_loader *l);

/*
 * Reads the file at path and records its size and SHA-256. The header's line goes through
 * begin/feed; the lines after it are parsed in blocks by worker threads (a fast path for
 * plain lines: no quotes, no CR, every cell good) and committed in file order; a block
 * that is not plain goes through feed like any other bytes, so the result and every
 * message are the same as begin/feed/end would give.
 */
int csv_loader__load_file(struct csv_loader *l, const char *path);
/* The same for bytes in memory, read chunk bytes at a time (0: all at once). */
int csv_loader__load_mem(struct csv_loader *l, const char *name, const void *data, size_t len,
			 size_t chunk);

#endif

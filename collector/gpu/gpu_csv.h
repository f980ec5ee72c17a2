/* SPDX-License-Identifier: MIT */
/*
 * The per-GPU CSV (--gpu-csv, docs/gpu.md): one row per GPU or MIG instance per interval.
 * Rows are whole or absent, as in the interval CSV: one write(2) per interval, cut back
 * off the file if it fails part-way. An existing file with our header is appended to.
 */
#ifndef COLLECTOR_GPU_CSV_H
#define COLLECTOR_GPU_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "gpu_source.h"

/* The header line, without a newline. */
const char *gpu_csv_header(void);
/* Appends one CSV line (with '\n') for s to out. 0 or -ENOMEM. */
int gpu_csv_format_row(uint64_t interval, const struct gpu_sample *s, struct buf *out);

struct gpu_csv;

int gpu_csv__open(const char *path, struct gpu_csv **out);
/* Writes the n rows of one interval at once. */
int gpu_csv__append(struct gpu_csv *w, uint64_t interval, const struct gpu_sample *s, size_t n);
void gpu_csv__close(struct gpu_csv *w);

#endif

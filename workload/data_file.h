/* SPDX-License-Identifier: MIT */
/* The data file /file reads from: created once in --data-dir, never named by a request. */
#ifndef WORKLOAD_DATA_FILE_H
#define WORKLOAD_DATA_FILE_H

#include <stdint.h>

/*
 * Opens DIR/workload.dat read-only, creating DIR and the file (size_bytes of
 * workload_fill_data() content, written to a temporary name and renamed) when missing or
 * of the wrong size. Returns the fd or a negative errno after printing one error line.
 */
int data_file_open(const char *dir, uint64_t size_bytes);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The rows fit_energy reads, kept as one array per signal (struct of arrays) in input
 * order: row i of every array is the i-th data row over all input files. An empty cell
 * (unmeasured) is NaN. Frequencies and labels are interned and rows refer to them by
 * index; each row's runtime per frequency is a run of (frequency, ns) pairs.
 *
 * Callers read the arrays directly; only the loader (csv_loader.c) adds rows, through
 * dataset__row_begin() / dataset__row_commit().
 */
#ifndef FITTER_DATASET_H
#define FITTER_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "model_features.h"

#define DS_SHA256_HEX_LEN 65 /* 64 lower-case hex digits and a NUL */

struct ds_file {
	char *path;
	char sha256[DS_SHA256_HEX_LEN]; /* of the file's bytes (nettle) */
	uint64_t bytes;
	size_t first_row, rows;
	size_t synthetic_rows; /* energy_source synthetic: a model, not a measurement */
};

struct dataset {
	size_t rows;
	double *target; /* uJ; NaN: empty cell */
	double *idle_uj; /* NaN: empty cell or no idle_uj column */
	double *duration_s; /* t_end_ns - t_start_ns */
	double *count[MF_COUNT]; /* per feature (model_features.h); NaN: empty cell or no column */
	uint32_t *label, *run; /* a row's file: files[].first_row and rows */
	uint64_t *pair_start; /* row i's pairs: [pair_start[i], pair_start[i + 1]) */
	uint32_t *pair_freq; /* index into freq_khz */
	double *pair_ns;
	size_t pairs;

	uint32_t *freq_khz;
	size_t num_freqs;
	char **labels;
	size_t num_labels;
	size_t num_runs;
	struct ds_file *files;
	size_t num_files;

	/* Private to dataset.c. */
	size_t row_cap, pair_cap, freq_cap, label_cap, file_cap;
	uint32_t *freq_slots, *label_slots; /* open addressing: index + 1, 0 = free */
	size_t freq_slot_cap, label_slot_cap;
};

void dataset__init(struct dataset *ds);
void dataset__free(struct dataset *ds);

/* Registers an input file; 0 or -ENOMEM. Rows added next belong to it. */
int dataset__add_file(struct dataset *ds, const char *path);
/* The index of a frequency or label, added if new: 0, -ENOMEM or -E2BIG (too many). */
int dataset__intern_freq(struct dataset *ds, uint32_t khz, uint32_t *id);
int dataset__intern_label(struct dataset *ds, const char *s, size_t len, uint32_t *id);

/* Room for this many rows and pairs in all, so that growing costs no copies. */
int dataset__reserve(struct dataset *ds, size_t rows, size_t pairs);
/*
 * Makes room for row ds->rows: the caller then fills its entries and pairs and commits it,
 * or abandons it (nothing to do; the next begin starts over). 0 or -ENOMEM.
 */
int dataset__row_begin(struct dataset *ds);
int dataset__add_pair(struct dataset *ds, uint32_t freq_id, double ns);
void dataset__row_commit(struct dataset *ds);

#endif

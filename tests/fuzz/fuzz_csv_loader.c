// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the interval CSV loader (and the design built on what it loads):
 * any input must either be rejected with an error or load into a dataset whose indices
 * and values are all consistent. The first byte picks the chunk size the input is fed
 * in and the target column. Run with `make fuzz FUZZ_SECONDS=N`.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fitter/csv_loader.h"
#include "../../fitter/design.h"
#include "../../fitter/split.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Load errors go to the stdio stream stderr; sanitizer reports still show on fd 2. */
	FILE *devnull = fopen("/dev/null", "w");

	if (devnull)
		stderr = devnull;
	return 0;
}

static void check(const struct dataset *ds)
{
	if (!ds->rows || ds->num_files != 1 || ds->files[0].rows != ds->rows)
		abort();
	if (ds->pair_start[0] != 0 || ds->pair_start[ds->rows] != ds->pairs)
		abort();
	for (size_t i = 0; i < ds->rows; i++) {
		if (ds->pair_start[i] > ds->pair_start[i + 1])
			abort();
		if (ds->label[i] >= ds->num_labels || ds->run[i] >= ds->num_runs || ds->file[i])
			abort();
		if (!(ds->duration_s[i] > 0) || isinf(ds->target[i]))
			abort();
		for (int c = 0; c < DS_COUNTS; c++)
			if (ds->count[c][i] < 0 || isinf(ds->count[c][i]))
				abort();
	}
	for (size_t k = 0; k < ds->pairs; k++)
		if (ds->pair_freq[k] >= ds->num_freqs || !(ds->pair_ns[k] > 0))
			abort();
	for (size_t l = 0; l < ds->num_labels; l++)
		if (strlen(ds->labels[l]) > CSV_LOADER_LABEL_MAX)
			abort();
}

/* What fit_energy does next, up to the point where numbers get solved. */
static void design(const struct dataset *ds)
{
	struct design_opts o = { .fit_idle = ds->rows % 2, .min_freq_share = 0.01 };
	uint8_t *state = malloc(ds->rows);
	struct design d;
	double x[DESIGN_MAX_FEATURES];
	size_t test;

	if (!state)
		return;
	if (!design_prepare(&d, ds, &o, "target", state) &&
	    !split_rows(ds, state, SPLIT_TIME, 0.2, 1, &test) && test <= d.used &&
	    !design_finish(&d, ds, &o, state)) {
		if (d.p > DESIGN_MAX_FEATURES)
			abort();
		for (size_t i = 0; i < ds->rows; i++) {
			if (state[i] == ROW_SKIPPED)
				continue;
			design_row(&d, ds, i, x);
			for (size_t j = 0; j < d.p; j++)
				if (!isfinite(x[j]) || !(d.feat[j].scale > 0))
					abort();
		}
	}
	design_free(&d);
	free(state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_loader *l = NULL;
	struct dataset ds;
	size_t chunk;
	int err;

	if (size < 1)
		return 0;
	chunk = (data[0] & 0x7f) + 1;
	dataset__init(&ds);
	err = csv_loader__new(&ds, data[0] & 0x80 ? CSV_INTERVAL_PSYS_UJ : CSV_ACTIVE_PSYS_UJ, &l);
	if (!err)
		err = csv_loader__begin(l, "fuzz.csv");
	for (size_t pos = 1; !err && pos < size; pos += chunk)
		err = csv_loader__feed(l, data + pos, size - pos < chunk ? size - pos : chunk);
	if (!err)
		err = csv_loader__end(l);
	if (!err) {
		check(&ds);
		design(&ds);
	}
	csv_loader__free(l);
	dataset__free(&ds);
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the interval CSV loader (and the design built on what it loads):
 * any input must either be rejected with an error or load into a dataset whose indices
 * and values are all consistent. The first byte picks the chunk size the input is fed
 * in and the target column (and whether gpu_energy_uj is added to it). Differential: the
 * fast path (csv_loader__load_mem, blocks of whole lines parsed by threads) must give
 * exactly what the strict libcsv path gives: the same status, the same messages, the
 * same dataset. Run with `make fuzz FUZZ_SECONDS=N`.
 */
#include <math.h>
#include <stdbool.h>
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
		if (ds->label[i] >= ds->num_labels || ds->run[i] >= ds->num_runs)
			abort();
		if (!(ds->duration_s[i] > 0) || isinf(ds->target[i]))
			abort();
		for (int c = 0; c < MF_COUNT; c++)
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

	design_default_features(&o);
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

static bool same_doubles(const double *a, const double *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i]))) ||
		    signbit(a[i]) != signbit(b[i]))
			return false;
	return true;
}

static void same_datasets(const struct dataset *a, const struct dataset *b)
{
	size_t n = a->rows;

	if (a->rows != b->rows || a->pairs != b->pairs || a->num_runs != b->num_runs ||
	    a->num_labels != b->num_labels || a->num_freqs != b->num_freqs ||
	    a->files[0].rows != b->files[0].rows ||
	    a->files[0].synthetic_rows != b->files[0].synthetic_rows)
		abort();
	if (!same_doubles(a->target, b->target, n) || !same_doubles(a->idle_uj, b->idle_uj, n) ||
	    !same_doubles(a->duration_s, b->duration_s, n) ||
	    !same_doubles(a->pair_ns, b->pair_ns, a->pairs))
		abort();
	for (int c = 0; c < MF_COUNT; c++)
		if (!same_doubles(a->count[c], b->count[c], n))
			abort();
	if (memcmp(a->label, b->label, n * sizeof(*a->label)) ||
	    memcmp(a->run, b->run, n * sizeof(*a->run)) ||
	    memcmp(a->pair_start, b->pair_start, (n + 1) * sizeof(*a->pair_start)) ||
	    memcmp(a->pair_freq, b->pair_freq, a->pairs * sizeof(*a->pair_freq)) ||
	    memcmp(a->freq_khz, b->freq_khz, a->num_freqs * sizeof(*a->freq_khz)))
		abort();
	for (size_t l = 0; l < a->num_labels; l++)
		if (strcmp(a->labels[l], b->labels[l]))
			abort();
}

/* Loads data through the strict path (fast: false) or the fast one; messages into *msg. */
static int load(const uint8_t *data, size_t size, bool fast, struct dataset *ds, char **msg)
{
	struct csv_loader *l = NULL;
	size_t chunk = (data[0] & 0x3f) + 1, len;
	FILE *saved = stderr, *m = open_memstream(msg, &len);
	int err;

	if (!m)
		abort();
	stderr = m;
	dataset__init(ds);
	err = csv_loader__new(ds, data[0] & 0x80 ? CSV_INTERVAL_PSYS_UJ : CSV_ACTIVE_PSYS_UJ, &l);
	if (!err && data[0] & 0x40)
		csv_loader__target_add_gpu(l);
	if (!err && fast) {
		err = csv_loader__load_mem(l, "fuzz.csv", data + 1, size - 1, chunk);
	} else if (!err) {
		err = csv_loader__begin(l, "fuzz.csv");
		for (size_t pos = 1; !err && pos < size; pos += chunk)
			err = csv_loader__feed(l, data + pos,
					       size - pos < chunk ? size - pos : chunk);
		if (!err)
			err = csv_loader__end(l);
	}
	csv_loader__free(l);
	fclose(m);
	stderr = saved;
	return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dataset strict, fast;
	char *m1 = NULL, *m2 = NULL;
	int err, err2;

	if (size < 1)
		return 0;
	err = load(data, size, false, &strict, &m1);
	err2 = load(data, size, true, &fast, &m2);
	if (err != err2 || strcmp(m1, m2))
		abort();
	if (!err) {
		same_datasets(&strict, &fast);
		check(&strict);
		design(&strict);
	}
	free(m1);
	free(m2);
	dataset__free(&strict);
	dataset__free(&fast);
	return 0;
}

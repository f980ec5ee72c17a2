/* SPDX-License-Identifier: MIT */
/*
 * What fit_energy writes besides the config: the JSON report (--report-json: options,
 * inputs with their SHA-256, rows used and skipped, features with coefficients and
 * standard errors, dropped and merged features, rank, condition number, metrics overall
 * and per label, the quality gate, what was written) and the predictions CSV
 * (--predictions-csv: row,label,split,measured,predicted for every used row). The JSON
 * format is in docs/fit_energy.md.
 */
#ifndef FITTER_REPORT_H
#define FITTER_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "cv.h"
#include "dataset.h"
#include "design.h"
#include "metrics.h"
#include "model_config.h"
#include "solve.h"

struct fit_report {
	const char *version;
	/* Options. */
	const char *method, *target, *split, *config_in, *output;
	double test_fraction, min_freq_share;
	uint64_t seed;
	uint32_t psys_interval_ms;
	bool force;
	const bool *features; /* MF_COUNT entries: the counts --features selected */
	/* What was read and fitted. */
	const struct dataset *ds;
	const struct design *d;
	const struct fit_result *fit; /* unscaled */
	size_t train_rows, test_rows;
	struct metrics train, test;
	const struct metrics *label_train, *label_test; /* per dataset label */
	const struct cv_summary *cv; /* --cv, else NULL */
	bool clamped; /* then written_train/test evaluate the model as written */
	struct metrics written_train, written_test;
	const struct model_clamp *clamps;
	size_t num_clamps;
	const double *written; /* coefficients as written, or NULL when none could be */
	uint64_t idle_power_uw;
	const char *idle_source;
	/* Verdicts. */
	bool gate_passed;
	const char *gate_set; /* "test" or "training" */
	const char *refusal; /* why the config was not written, or NULL */
	bool config_written;
};

/* 0, or -EIO / -ENOMEM with the error printed. */
int report_write_json(const char *path, const struct fit_report *r);
int report_write_predictions(const char *path, const struct dataset *ds, const struct design *d,
			     const uint8_t *state, const double *coef);

#endif

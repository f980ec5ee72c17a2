/* SPDX-License-Identifier: MIT */
/*
 * Cross-validation (--cv): which held-out fold each used row belongs to, and the figures
 * that compare folds. docs/fit_energy.md has the formulas.
 *
 * time:K  in each run (csv_loader.h), the used rows are cut into K contiguous blocks of
 *         (nearly) equal size, in order; fold b holds out block b of every run, so each
 *         fold is tested on a stretch of time it was not trained on.
 * label   leave one label out: fold l holds out every row of label l (one workload), so
 *         each fold is tested on a workload it never saw. Needs at least two labels.
 *
 * The dynamic range of the target is P99 - P1 of the measured target over the used rows:
 * the span of the energy above the idle floor, which a constant (idle) part of the target
 * cannot flatter. The dynamic-range error of a set of predictions is 100 * MAE / range.
 */
#ifndef FITTER_CV_H
#define FITTER_CV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "design.h"
#include "metrics.h"
#include "solve.h"

#define CV_MAX_FOLDS 1000
#define CV_NO_FOLD UINT32_MAX /* a skipped row */

enum cv_scheme { CV_NONE, CV_TIME, CV_LABEL };

struct cv_spec {
	enum cv_scheme scheme;
	uint32_t k; /* time:K */
};

/* "time:K" (K 2..CV_MAX_FOLDS) or "label": 0, or -EINVAL / -ERANGE. */
int cv_parse(const char *s, struct cv_spec *spec);
/* "time:5", "label" */
void cv_name(const struct cv_spec *spec, char *buf, size_t size);

/*
 * fold[i] for every row (CV_NO_FOLD where state[i] is ROW_SKIPPED); *num_folds is K for
 * time, the number of labels for label. 0, -ENOMEM, or -EINVAL when a fold would be
 * empty (every run has fewer used rows than K; a label whose rows were all skipped) or
 * there are fewer than two labels.
 */
int cv_assign(const struct dataset *ds, const uint8_t *state, const struct cv_spec *spec,
	      uint32_t *fold, size_t *num_folds);

/* P99 - P1 of the target over the rows that are not skipped; 0 if none. -ENOMEM or 0. */
int cv_dynamic_range(const struct dataset *ds, const uint8_t *state, double *range);

/*
 * Coefficient j across folds: whether it has both signs (a coefficient exactly 0 has
 * neither), and whether some fold's coefficient is further from the all-rows one than that
 * fold's own standard error (a NaN error, e.g. held at a bound, never counts).
 */
struct cv_coef {
	double min, max;
	bool sign_change, moves;
};
void cv_coef_stats(const double *fold_coef, const double *fold_se, size_t num_folds, size_t stride,
		   double all_coef, struct cv_coef *out);

/* What fit_energy found, for its text and JSON reports. */
struct cv_fold {
	char held_out[300]; /* the label, or "block B of K" */
	size_t train_rows, test_rows;
	struct metrics m; /* on the held-out rows */
	double dr_error; /* percent */
	struct fit_result fit; /* unscaled */
};

struct cv_summary {
	struct cv_spec spec;
	size_t num_folds;
	struct cv_fold *folds;
	struct metrics overall; /* every used row, predicted by the fold that held it out */
	double overall_dr_error;
	double range; /* the target's dynamic range, uJ */
	struct cv_coef coef[DESIGN_MAX_FEATURES];
	size_t unstable; /* coefficients that change sign or move */
};

#endif

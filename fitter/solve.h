/* SPDX-License-Identifier: MIT */
/*
 * The fitting methods, on the scaled design (columns divided by design.h's scale).
 *
 * nnls:   Lawson-Hanson on the QR-reduced system (nnls.h); standard errors from the
 *         free coefficients' covariance, none for those held at 0.
 * ols:    gsl_multifit_linear_tsvd on the QR-reduced system: the least-squares solution,
 *         minimum norm when collinear; covariance sigma^2 (X^T X)^+.
 * ridge:  min ||y - X c||^2 + lambda^2 ||c||^2 with lambda minimising generalised
 *         cross-validation, GCV(lambda) = n RSS(lambda) / (n - tr H(lambda))^2, on a log
 *         grid refined by golden section; via the SVD of R.
 * robust: gsl_multifit_robust with the bisquare weight, on the full training matrix.
 *
 * solve_diagnose() computes the rank (singular values above s_max * max(n, p) * eps),
 * the condition number (s_max / s_min, infinite when rank < p) and which columns take
 * part in a null direction (collinear).
 * Functions return 0 or a negative errno; GSL failures are printed once.
 */
#ifndef FITTER_SOLVE_H
#define FITTER_SOLVE_H

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <stdbool.h>
#include <stddef.h>

#include "design.h"
#include "lsq.h"

enum fit_method { FIT_NNLS, FIT_OLS, FIT_RIDGE, FIT_ROBUST };

struct fit_result {
	size_t p, n;
	double coef[DESIGN_MAX_FEATURES];
	double se[DESIGN_MAX_FEATURES]; /* NaN: not available */
	bool at_bound[DESIGN_MAX_FEATURES]; /* nnls: held at 0 */
	bool collinear[DESIGN_MAX_FEATURES];
	double singular[DESIGN_MAX_FEATURES]; /* of the scaled design, descending */
	size_t rank;
	double cond;
	double rss; /* training residual sum of squares */
	double lambda, gcv; /* ridge */
	size_t iterations; /* nnls: subproblems solved; robust: reweighting iterations */
	bool converged; /* robust: false when GSL hit its iteration limit */
};

/* By enum fit_method, NULL-terminated (the --method choices). */
extern const char *const fit_method_names[];
const char *fit_method_name(enum fit_method m);

int solve_diagnose(const struct lsq *l, struct fit_result *f);
int solve_nnls(const struct lsq *l, struct fit_result *f);
int solve_ols(const struct lsq *l, struct fit_result *f);
int solve_ridge(const struct lsq *l, struct fit_result *f);
/* X: training rows x p, scaled; y: targets. Needs solve_diagnose() first. */
int solve_robust(const gsl_matrix *X, const gsl_vector *y, struct fit_result *f);

/* A free coefficient whose standard error exceeds its size: the data hardly fix it. */
bool solve_uncertain(const struct fit_result *f, size_t j);

/* Divides coefficients and standard errors by the design's scales. */
void solve_unscale(struct fit_result *f, const struct design *d);

#endif

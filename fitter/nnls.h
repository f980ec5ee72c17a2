/* SPDX-License-Identifier: MIT */
/*
 * Non-negative least squares, min || A x - b || subject to x >= 0, by the active set
 * method of Lawson and Hanson ("Solving Least Squares Problems", 1974, chapter 23).
 * Each least-squares subproblem on the free (passive) columns is solved with GSL's
 * complete orthogonal decomposition, so collinear columns get the minimum-norm solution
 * instead of a division by zero.
 */
#ifndef FITTER_NNLS_H
#define FITTER_NNLS_H

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * A: m x n with m >= n; b: m; x: n (the solution). passive (n, may be NULL) says which
 * coefficients are free (not held at 0). Returns 0, -ENOMEM, -EDOM (GSL failed; message
 * printed) or -ETIMEDOUT (no convergence in 3n + 30 iterations; message printed).
 */
int nnls_solve(const gsl_matrix *A, const gsl_vector *b, gsl_vector *x, bool *passive,
	       size_t *iterations);

#endif

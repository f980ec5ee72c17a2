/* SPDX-License-Identifier: MIT */
/*
 * Least squares reduced by a streamed QR decomposition.
 *
 * Rows of [X | y] are added one at a time; every LSQ_BLOCK rows are folded into the
 * triangular factor of everything so far with GSL's gsl_linalg_QR_UR_decomp. At the end
 *   || y - X c ||^2 = || z - R c ||^2 + rss0
 * for every c, with R (p x p, upper triangular), z = Q^T y (p) and rss0 the residual sum
 * of squares of the least-squares fit. Every solver but robust works on (R, z): p x p
 * instead of n x p, so the n rows are never held in memory, and the QR keeps the
 * condition of X (normal equations would square it).
 */
#ifndef FITTER_LSQ_H
#define FITTER_LSQ_H

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <stddef.h>

#define LSQ_BLOCK 1024

struct lsq;

/* NULL when out of memory. */
struct lsq *lsq__new(size_t p);
void lsq__free(struct lsq *l);

/* x: p values. 0, or -EDOM when GSL fails (message printed). */
int lsq__add(struct lsq *l, const double *x, double y);
int lsq__finish(struct lsq *l);
/*
 * Folds everything added to from (not yet finished) into into, as if its rows had been
 * added to into: QR of the stacked triangles. 0, or -EDOM (message printed).
 */
int lsq__merge(struct lsq *into, struct lsq *from);

size_t lsq__p(const struct lsq *l);
size_t lsq__rows(const struct lsq *l);
/* After lsq__finish(). */
const gsl_matrix *lsq__r(const struct lsq *l);
const gsl_vector *lsq__z(const struct lsq *l);
double lsq__rss0(const struct lsq *l);

#endif

// SPDX-License-Identifier: MIT
#include "nnls.h"

#include <errno.h>
#include <float.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_permutation.h>
#include <math.h>
#include <stdlib.h>

#include "log.h"

/* w = A^T (b - A x) */
static int gradient(const gsl_matrix *A, const gsl_vector *b, const gsl_vector *x, gsl_vector *r,
		    gsl_vector *w)
{
	int status;

	gsl_vector_memcpy(r, b);
	status = gsl_blas_dgemv(CblasNoTrans, -1.0, A, x, 1.0, r);
	if (!status)
		status = gsl_blas_dgemv(CblasTrans, 1.0, A, r, 0.0, w);
	return status;
}

/* s = argmin || A_P s_P - b ||, s_j = 0 off P; minimum norm when A_P is rank deficient. */
static int solve_passive(const gsl_matrix *A, const gsl_vector *b, const bool *passive,
			 gsl_vector *s)
{
	size_t m = A->size1, n = A->size2, k = 0, rank, c = 0;
	gsl_matrix *ap = NULL;
	gsl_vector *tau_q = NULL, *tau_z = NULL, *work = NULL, *sp = NULL, *res = NULL;
	gsl_permutation *perm = NULL;
	int status = GSL_ENOMEM;

	for (size_t j = 0; j < n; j++)
		k += passive[j];
	gsl_vector_set_zero(s);
	if (!k)
		return 0;
	ap = gsl_matrix_alloc(m, k);
	tau_q = gsl_vector_alloc(k);
	tau_z = gsl_vector_alloc(k);
	work = gsl_vector_alloc(k);
	sp = gsl_vector_alloc(k);
	res = gsl_vector_alloc(m);
	perm = gsl_permutation_alloc(k);
	if (!ap || !tau_q || !tau_z || !work || !sp || !res || !perm)
		goto cleanup;
	for (size_t j = 0; j < n; j++) {
		if (!passive[j])
			continue;
		gsl_vector_const_view col = gsl_matrix_const_column(A, j);

		gsl_matrix_set_col(ap, c++, &col.vector);
	}
	status = gsl_linalg_COD_decomp(ap, tau_q, tau_z, perm, &rank, work);
	if (!status)
		status = gsl_linalg_COD_lssolve(ap, tau_q, tau_z, perm, rank, b, sp, res);
	if (status)
		goto cleanup;
	c = 0;
	for (size_t j = 0; j < n; j++)
		if (passive[j])
			gsl_vector_set(s, j, gsl_vector_get(sp, c++));
cleanup:
	if (ap)
		gsl_matrix_free(ap);
	if (tau_q)
		gsl_vector_free(tau_q);
	if (tau_z)
		gsl_vector_free(tau_z);
	if (work)
		gsl_vector_free(work);
	if (sp)
		gsl_vector_free(sp);
	if (res)
		gsl_vector_free(res);
	if (perm)
		gsl_permutation_free(perm);
	return status;
}

int nnls_solve(const gsl_matrix *A, const gsl_vector *b, gsl_vector *x, bool *passive_out,
	       size_t *iterations)
{
	size_t n = A->size2, max_iter = 3 * n + 30, iter = 0;
	gsl_vector *w = gsl_vector_alloc(n), *s = gsl_vector_alloc(n),
		   *r = gsl_vector_alloc(b->size);
	bool *passive = calloc(n ? n : 1, sizeof(bool)),
	     *excluded = calloc(n ? n : 1, sizeof(bool));
	double max_norm = 0, tol;
	int status = 0, err = 0;

	if (!w || !s || !r || !passive || !excluded) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t j = 0; j < n; j++) {
		gsl_vector_const_view col = gsl_matrix_const_column(A, j);

		max_norm = fmax(max_norm, gsl_blas_dnrm2(&col.vector));
	}
	/* A gradient below rounding noise is not a reason to free a coefficient. */
	tol = 10 * DBL_EPSILON * (double)(n + 1) * max_norm * gsl_blas_dnrm2(b);
	gsl_vector_set_zero(x);
	status = gradient(A, b, x, r, w);

	while (!status) {
		size_t t = n;

		for (size_t j = 0; j < n; j++)
			if (!passive[j] && !excluded[j] && gsl_vector_get(w, j) > tol &&
			    (t == n || gsl_vector_get(w, j) > gsl_vector_get(w, t)))
				t = j;
		if (t == n)
			break; /* the Kuhn-Tucker conditions hold */
		passive[t] = true;
		for (bool first = true;; first = false) {
			double alpha = INFINITY;
			size_t q = n;

			if (++iter > max_iter) {
				log_error("nnls: no convergence after %zu iterations", max_iter);
				err = -ETIMEDOUT;
				goto cleanup;
			}
			status = solve_passive(A, b, passive, s);
			if (status)
				break;
			if (first && gsl_vector_get(s, t) <= 0) {
				/* Rounding let in a column that cannot help: keep it out. */
				passive[t] = false;
				excluded[t] = true;
				break;
			}
			for (size_t j = 0; j < n; j++) {
				double xj = gsl_vector_get(x, j), sj = gsl_vector_get(s, j);

				if (passive[j] && sj <= 0 && xj / (xj - sj) < alpha) {
					alpha = xj / (xj - sj);
					q = j;
				}
			}
			if (q == n) {
				gsl_vector_memcpy(x, s);
				break;
			}
			/* Step towards s until the first coefficient reaches 0; free it. */
			for (size_t j = 0; j < n; j++) {
				double xj = gsl_vector_get(x, j);

				if (!passive[j])
					continue;
				xj += alpha * (gsl_vector_get(s, j) - xj);
				if (j == q || xj <= 0) {
					xj = 0;
					passive[j] = false;
				}
				gsl_vector_set(x, j, xj);
			}
		}
		if (status)
			break;
		if (passive[t]) {
			for (size_t j = 0; j < n; j++)
				excluded[j] = false; /* x moved: every column may help again */
		}
		status = gradient(A, b, x, r, w);
	}
	if (status) {
		log_error("nnls: %s", gsl_strerror(status));
		err = status == GSL_ENOMEM ? -ENOMEM : -EDOM;
		goto cleanup;
	}
	if (passive_out)
		for (size_t j = 0; j < n; j++)
			passive_out[j] = passive[j];
	if (iterations)
		*iterations = iter;
cleanup:
	if (w)
		gsl_vector_free(w);
	if (s)
		gsl_vector_free(s);
	if (r)
		gsl_vector_free(r);
	free(passive);
	free(excluded);
	return err;
}

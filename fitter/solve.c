// SPDX-License-Identifier: MIT
#include "solve.h"

#include <errno.h>
#include <float.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multifit.h>
#include <math.h>
#include <string.h>

#include "log.h"
#include "nnls.h"

#define RIDGE_GRID 200
#define RIDGE_DECADES 12 /* lambda from s_max * 1e-12 to s_max */
#define ROBUST_MAX_ITER 200
#define COLLINEAR_WEIGHT 0.1 /* |V_ji| above this in a null direction: column j takes part */

const char *const fit_method_names[] = {
	[FIT_NNLS] = "nnls", [FIT_OLS] = "ols", [FIT_RIDGE] = "ridge", [FIT_ROBUST] = "robust", NULL,
};

const char *fit_method_name(enum fit_method m)
{
	return m <= FIT_ROBUST ? fit_method_names[m] : "?";
}

static int gsl_failed(const char *what, int status)
{
	log_error("%s: %s", what, gsl_strerror(status));
	return status == GSL_ENOMEM ? -ENOMEM : -EDOM;
}

/* The SVD of a (m x k, m >= k): u = U (m x k), v = V, s = singular values, descending. */
struct svd {
	gsl_matrix *u, *v;
	gsl_vector *s;
};

static void svd_free(struct svd *d)
{
	if (d->u)
		gsl_matrix_free(d->u);
	if (d->v)
		gsl_matrix_free(d->v);
	if (d->s)
		gsl_vector_free(d->s);
	memset(d, 0, sizeof(*d));
}

static int svd_of(const gsl_matrix *a, struct svd *d)
{
	size_t k = a->size2;
	gsl_vector *work = gsl_vector_alloc(k);
	int status = GSL_ENOMEM;

	d->u = gsl_matrix_alloc(a->size1, k);
	d->v = gsl_matrix_alloc(k, k);
	d->s = gsl_vector_alloc(k);
	if (work && d->u && d->v && d->s) {
		gsl_matrix_memcpy(d->u, a);
		status = gsl_linalg_SV_decomp(d->u, d->v, d->s, work);
	}
	if (work)
		gsl_vector_free(work);
	if (status) {
		svd_free(d);
		return gsl_failed("singular value decomposition", status);
	}
	return 0;
}

static double rank_tol(const struct fit_result *f, double s_max)
{
	return s_max * (double)(f->n > f->p ? f->n : f->p) * DBL_EPSILON;
}

/*
 * Standard errors from cov = sigma2 * V diag(g(s_i)) V^T over the columns in cols (k of
 * them, in order): g = 1 / s^2 for least squares, s^2 / (s^2 + lambda^2)^2 for ridge.
 */
static void standard_errors(struct fit_result *f, const struct svd *d, const size_t *cols,
			    double sigma2, double lambda)
{
	size_t k = d->v->size1;
	double tol = rank_tol(f, gsl_vector_get(d->s, 0));

	for (size_t a = 0; a < k; a++) {
		double var = 0;

		for (size_t i = 0; i < k; i++) {
			double s = gsl_vector_get(d->s, i), v = gsl_matrix_get(d->v, a, i), g;

			if (lambda > 0)
				g = s * s / ((s * s + lambda * lambda) * (s * s + lambda * lambda));
			else
				g = s > tol ? 1 / (s * s) : 0;
			var += v * v * g;
		}
		f->se[cols[a]] =
			f->collinear[cols[a]] || !isfinite(sigma2) ? NAN : sqrt(sigma2 * var);
	}
}

int solve_diagnose(const struct lsq *l, struct fit_result *f)
{
	struct svd d = { 0 };
	double tol;
	int err;

	memset(f, 0, sizeof(*f));
	f->p = lsq__p(l);
	f->n = lsq__rows(l);
	for (size_t j = 0; j < f->p; j++)
		f->se[j] = NAN;
	f->lambda = NAN;
	f->gcv = NAN;
	f->converged = true;
	err = svd_of(lsq__r(l), &d);
	if (err)
		return err;
	tol = rank_tol(f, gsl_vector_get(d.s, 0));
	for (size_t i = 0; i < f->p; i++) {
		double s = gsl_vector_get(d.s, i);

		f->singular[i] = s;
		if (s > tol) {
			f->rank++;
			continue;
		}
		for (size_t j = 0; j < f->p; j++)
			if (fabs(gsl_matrix_get(d.v, j, i)) > COLLINEAR_WEIGHT)
				f->collinear[j] = true;
	}
	f->cond = f->rank == f->p ? f->singular[0] / f->singular[f->p - 1] : INFINITY;
	svd_free(&d);
	return 0;
}

/* || z - R c ||^2 + rss0 */
static int residual_ss(const struct lsq *l, const double *coef, double *rss)
{
	size_t p = lsq__p(l);
	gsl_vector *r = gsl_vector_alloc(p);
	gsl_vector_const_view c = gsl_vector_const_view_array(coef, p);
	int status;

	if (!r)
		return -ENOMEM;
	gsl_vector_memcpy(r, lsq__z(l));
	status = gsl_blas_dgemv(CblasNoTrans, -1.0, lsq__r(l), &c.vector, 1.0, r);
	if (!status)
		*rss = lsq__rss0(l) + gsl_blas_dnrm2(r) * gsl_blas_dnrm2(r);
	gsl_vector_free(r);
	return status ? gsl_failed("residuals", status) : 0;
}

int solve_ols(const struct lsq *l, struct fit_result *f)
{
	size_t p = f->p, rank = 0, cols[DESIGN_MAX_FEATURES];
	gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(p, p);
	gsl_vector *c = gsl_vector_alloc(p);
	gsl_matrix *cov = gsl_matrix_alloc(p, p);
	struct svd d = { 0 };
	double chisq, tol = (double)(f->n > p ? f->n : p) * DBL_EPSILON;
	int err = -ENOMEM, status;

	if (!w || !c || !cov)
		goto cleanup;
	status = gsl_multifit_linear_tsvd(lsq__r(l), lsq__z(l), tol, c, cov, &chisq, &rank, w);
	if (status) {
		err = gsl_failed("ols (gsl_multifit_linear_tsvd)", status);
		goto cleanup;
	}
	for (size_t j = 0; j < p; j++) {
		f->coef[j] = gsl_vector_get(c, j);
		cols[j] = j;
	}
	err = residual_ss(l, f->coef, &f->rss);
	if (!err)
		err = svd_of(lsq__r(l), &d);
	if (err)
		goto cleanup;
	standard_errors(f, &d, cols, f->n > f->rank ? f->rss / (double)(f->n - f->rank) : NAN, 0);
cleanup:
	svd_free(&d);
	if (w)
		gsl_multifit_linear_free(w);
	if (c)
		gsl_vector_free(c);
	if (cov)
		gsl_matrix_free(cov);
	return err;
}

int solve_nnls(const struct lsq *l, struct fit_result *f)
{
	size_t p = f->p, k = 0, cols[DESIGN_MAX_FEATURES];
	gsl_vector *x = gsl_vector_alloc(p);
	gsl_matrix *rp = NULL;
	bool passive[DESIGN_MAX_FEATURES];
	struct svd d = { 0 };
	int err = -ENOMEM;

	if (!x)
		goto cleanup;
	err = nnls_solve(lsq__r(l), lsq__z(l), x, passive, &f->iterations);
	if (err)
		goto cleanup;
	for (size_t j = 0; j < p; j++) {
		f->coef[j] = gsl_vector_get(x, j);
		f->at_bound[j] = !passive[j];
		if (passive[j])
			cols[k++] = j;
	}
	err = residual_ss(l, f->coef, &f->rss);
	if (err || !k)
		goto cleanup;
	/* Covariance of the free coefficients, as least squares on their columns. */
	rp = gsl_matrix_alloc(p, k);
	if (!rp) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t a = 0; a < k; a++) {
		gsl_vector_const_view col = gsl_matrix_const_column(lsq__r(l), cols[a]);

		gsl_matrix_set_col(rp, a, &col.vector);
	}
	err = svd_of(rp, &d);
	if (err)
		goto cleanup;
	standard_errors(f, &d, cols, f->n > k ? f->rss / (double)(f->n - k) : NAN, 0);
cleanup:
	svd_free(&d);
	if (rp)
		gsl_matrix_free(rp);
	if (x)
		gsl_vector_free(x);
	return err;
}

struct gcv_ctx {
	const double *s, *beta;
	size_t p, n;
	double rss0;
};

/* GCV(lambda) = n RSS(lambda) / (n - tr H)^2, and RSS through *rss. */
static double gcv_at(const struct gcv_ctx *g, double lambda, double *rss, double *trace)
{
	double l2 = lambda * lambda, res = g->rss0, tr = 0;

	for (size_t i = 0; i < g->p; i++) {
		double s2 = g->s[i] * g->s[i], shrink = l2 / (s2 + l2);

		res += shrink * shrink * g->beta[i] * g->beta[i];
		tr += s2 / (s2 + l2);
	}
	if (rss)
		*rss = res;
	if (trace)
		*trace = tr;
	return (double)g->n * res / (((double)g->n - tr) * ((double)g->n - tr));
}

static double ridge_lambda(const struct gcv_ctx *g, double s_max)
{
	double lo_exp = -RIDGE_DECADES, step = (double)RIDGE_DECADES / (RIDGE_GRID - 1);
	double best = INFINITY, a, b;
	size_t best_k = 0;

	for (size_t k = 0; k < RIDGE_GRID; k++) {
		double v = gcv_at(g, s_max * pow(10, lo_exp + step * (double)k), NULL, NULL);

		if (v < best) {
			best = v;
			best_k = k;
		}
	}
	/* Golden section on log10(lambda) between the grid neighbours of the minimum. */
	a = lo_exp + step * (double)(best_k ? best_k - 1 : 0);
	b = lo_exp + step * (double)(best_k + 1 < RIDGE_GRID ? best_k + 1 : best_k);
	for (int it = 0; it < 60 && b - a > 1e-9; it++) {
		double r = (sqrt(5) - 1) / 2, c = b - r * (b - a), d = a + r * (b - a);

		if (gcv_at(g, s_max * pow(10, c), NULL, NULL) <
		    gcv_at(g, s_max * pow(10, d), NULL, NULL))
			b = d;
		else
			a = c;
	}
	return s_max * pow(10, (a + b) / 2);
}

int solve_ridge(const struct lsq *l, struct fit_result *f)
{
	size_t p = f->p, cols[DESIGN_MAX_FEATURES];
	double s[DESIGN_MAX_FEATURES], beta[DESIGN_MAX_FEATURES], rnorm, snorm, rss, trace;
	gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(p, p);
	gsl_vector *c = gsl_vector_alloc(p);
	struct svd d = { 0 };
	struct gcv_ctx g;
	int err = -ENOMEM, status;

	if (!w || !c)
		goto cleanup;
	err = svd_of(lsq__r(l), &d);
	if (err)
		goto cleanup;
	for (size_t i = 0; i < p; i++) {
		gsl_vector_const_view ui = gsl_matrix_const_column(d.u, i);

		s[i] = gsl_vector_get(d.s, i);
		gsl_blas_ddot(&ui.vector, lsq__z(l), &beta[i]);
		cols[i] = i;
	}
	g = (struct gcv_ctx){ .s = s, .beta = beta, .p = p, .n = f->n, .rss0 = lsq__rss0(l) };
	f->lambda = ridge_lambda(&g, s[0]);
	f->gcv = gcv_at(&g, f->lambda, &rss, &trace);

	/* The solution itself from GSL's regularised solver, on the same reduced system. */
	status = gsl_multifit_linear_svd(lsq__r(l), w);
	if (!status)
		status = gsl_multifit_linear_solve(f->lambda, lsq__r(l), lsq__z(l), c, &rnorm,
						   &snorm, w);
	if (status) {
		err = gsl_failed("ridge (gsl_multifit_linear_solve)", status);
		goto cleanup;
	}
	for (size_t j = 0; j < p; j++)
		f->coef[j] = gsl_vector_get(c, j);
	f->rss = lsq__rss0(l) + rnorm * rnorm;
	standard_errors(f, &d, cols, (double)f->n > trace ? rss / ((double)f->n - trace) : NAN,
			f->lambda);
	err = 0;
cleanup:
	svd_free(&d);
	if (w)
		gsl_multifit_linear_free(w);
	if (c)
		gsl_vector_free(c);
	return err;
}

int solve_robust(const gsl_matrix *X, const gsl_vector *y, struct fit_result *f)
{
	size_t p = f->p;
	gsl_multifit_robust_workspace *w =
		gsl_multifit_robust_alloc(gsl_multifit_robust_bisquare, X->size1, p);
	gsl_vector *c = gsl_vector_alloc(p);
	gsl_matrix *cov = gsl_matrix_alloc(p, p);
	gsl_multifit_robust_stats st;
	int err = -ENOMEM, status;

	if (!w || !c || !cov)
		goto cleanup;
	status = gsl_multifit_robust_maxiter(ROBUST_MAX_ITER, w);
	if (!status)
		status = gsl_multifit_robust(X, y, c, cov, w);
	if (status && status != GSL_EMAXITER) {
		err = gsl_failed("robust (gsl_multifit_robust)", status);
		goto cleanup;
	}
	f->converged = status != GSL_EMAXITER;
	st = gsl_multifit_robust_statistics(w);
	f->iterations = st.numit;
	f->rss = st.sse;
	for (size_t j = 0; j < p; j++) {
		double var = gsl_matrix_get(cov, j, j);

		f->coef[j] = gsl_vector_get(c, j);
		f->se[j] = f->collinear[j] || !(var >= 0) ? NAN : sqrt(var);
	}
	err = 0;
cleanup:
	if (w)
		gsl_multifit_robust_free(w);
	if (c)
		gsl_vector_free(c);
	if (cov)
		gsl_matrix_free(cov);
	return err;
}

void solve_unscale(struct fit_result *f, const struct design *d)
{
	for (size_t j = 0; j < f->p; j++) {
		f->coef[j] /= d->feat[j].scale;
		f->se[j] /= d->feat[j].scale;
	}
}

bool solve_uncertain(const struct fit_result *f, size_t j)
{
	return !f->at_bound[j] && isfinite(f->se[j]) && f->se[j] > fabs(f->coef[j]);
}

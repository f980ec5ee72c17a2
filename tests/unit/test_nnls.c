// SPDX-License-Identifier: MIT
#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "nnls.h"

static uint64_t rng = 12345;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) * 0x1p-53 * 2 - 1;
}

static double residual(const gsl_matrix *A, const gsl_vector *b, const double *x)
{
	double ss = 0;

	for (size_t i = 0; i < A->size1; i++) {
		double r = gsl_vector_get(b, i);

		for (size_t j = 0; j < A->size2; j++)
			r -= gsl_matrix_get(A, i, j) * x[j];
		ss += r * r;
	}
	return sqrt(ss);
}

/* Least squares on the columns in mask by normal equations (Gauss, partial pivoting). */
static bool subset_ls(const gsl_matrix *A, const gsl_vector *b, unsigned mask, double *x)
{
	size_t n = A->size2, k = 0, idx[8];
	double m[8][9];

	for (size_t j = 0; j < n; j++) {
		x[j] = 0;
		if (mask & (1u << j))
			idx[k++] = j;
	}
	for (size_t r = 0; r < k; r++) {
		for (size_t c = 0; c <= k; c++) {
			double s = 0;

			for (size_t i = 0; i < A->size1; i++)
				s += gsl_matrix_get(A, i, idx[r]) *
				     (c < k ? gsl_matrix_get(A, i, idx[c]) : gsl_vector_get(b, i));
			m[r][c] = s;
		}
	}
	for (size_t c = 0; c < k; c++) {
		size_t p = c;

		for (size_t r = c + 1; r < k; r++)
			if (fabs(m[r][c]) > fabs(m[p][c]))
				p = r;
		if (fabs(m[p][c]) < 1e-12)
			return false;
		for (size_t q = 0; q <= k; q++) {
			double t = m[c][q];

			m[c][q] = m[p][q];
			m[p][q] = t;
		}
		for (size_t r = 0; r < k; r++) {
			double f;

			if (r == c)
				continue;
			f = m[r][c] / m[c][c];
			for (size_t q = c; q <= k; q++)
				m[r][q] -= f * m[c][q];
		}
	}
	for (size_t c = 0; c < k; c++) {
		x[idx[c]] = m[c][k] / m[c][c];
		if (x[idx[c]] < 0)
			return false;
	}
	return true;
}

/* The non-negative optimum by trying every set of free columns. */
static double brute_force(const gsl_matrix *A, const gsl_vector *b, double *best)
{
	size_t n = A->size2;
	double best_r = INFINITY, x[8];

	for (unsigned mask = 0; mask < (1u << n); mask++) {
		double r;

		if (!subset_ls(A, b, mask, x))
			continue;
		r = residual(A, b, x);
		if (r < best_r) {
			best_r = r;
			memcpy(best, x, n * sizeof(double));
		}
	}
	return best_r;
}

static void check_random(size_t m, size_t n, bool duplicate)
{
	gsl_matrix *A = gsl_matrix_alloc(m, n);
	gsl_vector *b = gsl_vector_alloc(m), *x = gsl_vector_alloc(n);
	double want[8], got[8], r_want, r_got;
	bool passive[8];
	size_t iters;

	for (size_t i = 0; i < m; i++) {
		for (size_t j = 0; j < n; j++)
			gsl_matrix_set(A, i, j, uniform());
		if (duplicate)
			gsl_matrix_set(A, i, 1, gsl_matrix_get(A, i, 0));
		gsl_vector_set(b, i, uniform());
	}
	assert_int_equal(nnls_solve(A, b, x, passive, &iters), 0);
	for (size_t j = 0; j < n; j++) {
		got[j] = gsl_vector_get(x, j);
		assert_true(got[j] >= 0);
		assert_true(passive[j] == (got[j] > 0));
	}
	r_want = brute_force(A, b, want);
	r_got = residual(A, b, got);
	assert_true(fabs(r_got - r_want) <= 1e-10 * (1 + r_want));
	if (!duplicate) /* the optimum is unique: the same point */
		for (size_t j = 0; j < n; j++)
			assert_true(fabs(got[j] - want[j]) <= 1e-8 * (1 + fabs(want[j])));
	gsl_matrix_free(A);
	gsl_vector_free(b);
	gsl_vector_free(x);
}

static void test_matches_brute_force(void **state)
{
	for (int t = 0; t < 300; t++)
		check_random(8 + (size_t)t % 5, 2 + (size_t)t % 5, false);
}

static void test_collinear_columns(void **state)
{
	for (int t = 0; t < 100; t++)
		check_random(9, 4, true);
}

static void test_positive_solution_is_least_squares(void **state)
{
	/* b = A (1, 2, 3) exactly: the unconstrained solution, found as is. */
	double a[] = { 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1 }, bv[] = { 1, 2, 3, 6 };
	gsl_matrix_view A = gsl_matrix_view_array(a, 4, 3);
	gsl_vector_view b = gsl_vector_view_array(bv, 4);
	gsl_vector *x = gsl_vector_alloc(3);

	assert_int_equal(nnls_solve(&A.matrix, &b.vector, x, NULL, NULL), 0);
	for (size_t j = 0; j < 3; j++)
		assert_true(fabs(gsl_vector_get(x, j) - (double)(j + 1)) < 1e-12);
	/* A negative target: everything held at 0. */
	bv[0] = bv[1] = bv[2] = bv[3] = -1;
	assert_int_equal(nnls_solve(&A.matrix, &b.vector, x, NULL, NULL), 0);
	for (size_t j = 0; j < 3; j++)
		assert_true(gsl_vector_get(x, j) == 0);
	gsl_vector_free(x);
}

static void test_clamps_a_negative_coefficient(void **state)
{
	/* Least squares gives (2, -1); with x >= 0 the answer is (x0, 0), x0 = a0.b / a0.a. */
	double a[] = { 1, 1, 1, 2, 1, 3 }, bv[] = { 1, 0, -1 };
	gsl_matrix_view A = gsl_matrix_view_array(a, 3, 2);
	gsl_vector_view b = gsl_vector_view_array(bv, 3);
	gsl_vector *x = gsl_vector_alloc(2);
	bool passive[2];

	assert_int_equal(nnls_solve(&A.matrix, &b.vector, x, passive, NULL), 0);
	assert_true(fabs(gsl_vector_get(x, 0) - 0.0) < 1e-12); /* a0.b = 0 */
	assert_true(gsl_vector_get(x, 1) == 0);
	bv[0] = 3;
	bv[1] = 2;
	bv[2] = 1; /* least squares (4, -1): nnls (2, 0) */
	assert_int_equal(nnls_solve(&A.matrix, &b.vector, x, passive, NULL), 0);
	assert_true(fabs(gsl_vector_get(x, 0) - 2.0) < 1e-12);
	assert_true(gsl_vector_get(x, 1) == 0);
	assert_true(passive[0] && !passive[1]);
	gsl_vector_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_brute_force),
		cmocka_unit_test(test_collinear_columns),
		cmocka_unit_test(test_positive_solution_is_least_squares),
		cmocka_unit_test(test_clamps_a_negative_coefficient),
	};

	gsl_set_error_handler_off();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
